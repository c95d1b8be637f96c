"""Load: 200 concurrent requests (24 in the default suite) through the chat model against a faulty server.

Random latency, 5% HTTP 5xx and 2% dropped connections: every request must end with a
reply or an explicit error, none lost or duplicated, and the number of runs in flight must
stay under the chat model's ``max_concurrency``. Marked slow (about a minute); run it with
``pytest -m slow tests/integration_tests/test_load.py -s`` to see the figures.
"""

from __future__ import annotations

import asyncio

import pytest
from fault_server import FaultPlan, fault_server
from load_probe import InFlight, measured

from spec_graph import EndpointConfig, ReasoningConfig, SpeculativeReasoningChatModel
from spec_graph.errors import SpecGraphError


@pytest.mark.parametrize(
    ("requests", "bound"),
    [(24, 3), pytest.param(200, 8, marks=pytest.mark.slow, id="200-requests")],
)
async def test_concurrent_requests_through_the_chat_model_all_end_none_lost(requests, bound):
    plan = FaultPlan.random(
        {"http_500": 0.03, "http_503": 0.02, "drop": 0.02}, seed=7, latency_s=(0.0, 0.05)
    )
    with fault_server(plan) as server:
        endpoint = EndpointConfig(
            base_url=server.base_url, model="fault", timeout_s=20, max_retries=2
        )
        model = SpeculativeReasoningChatModel(
            draft=endpoint,
            target=endpoint,
            reasoning=ReasoningConfig(strategy="specreason", max_steps=6),
            max_concurrency=bound,
        )
        runs = InFlight()  # count runs inside the graph, not callers
        reasoner = model._reasoner()
        reasoner.astream = runs.counted(reasoner.astream)  # type: ignore[method-assign]

        async def one(i: int) -> tuple[int, str]:
            try:
                reply = await model.ainvoke(f"Request {i}: what is 6 * 7?")
            except SpecGraphError as e:
                return i, f"error: {e}"
            return i, str(reply.content)

        load = await measured(asyncio.gather(*(one(i) for i in range(requests))))
        outcomes = load.result
        faults = dict(server.counts)
    ids = [i for i, _ in outcomes]
    assert sorted(ids) == list(range(requests)), "a request was lost or answered twice"
    errors = [text for _, text in outcomes if text.startswith("error: ")]
    replies = [text for _, text in outcomes if not text.startswith("error: ")]
    assert all("42" in text for text in replies)
    assert all("\n" not in text for text in errors)
    assert runs.most <= bound
    print(
        f"\nload: {requests} requests in {load.seconds:.1f} s, {len(replies)} replies, "
        f"{len(errors)} explicit errors, lost 0; faults injected {faults}; most in flight "
        f"{runs.most} (bound {bound}); peak RSS {load.peak_mib:.0f} MiB "
        f"(+{load.grown_mib:.0f} MiB)"
    )
