"""Load through ``spec-graph serve``'s app: concurrent clients, a faulty model server (issue 16).

The app runs under uvicorn in this process (``spec_graph.serve.runner.running``) over the
fault server (random latency, 5% HTTP 5xx, 2% dropped connections). Every request must end
with a reply or an explicit OpenAI-shaped error (5xx when the model server failed), none
lost or answered twice, and the runs in flight must stay within ``max_concurrency``; past it
the app answers 429 with ``Retry-After``, and the clients wait and ask again, as the
``openai`` SDK does. 200 clients are opt-in: ``pytest -m slow
tests/integration_tests/serve/test_serve_load.py -s`` prints the figures.
"""

from __future__ import annotations

import asyncio
import random
import sys
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the fault server beside us
from fault_server import FaultPlan, fault_server
from load_probe import InFlight, measured

from spec_graph import EndpointConfig, ReasoningConfig, SpeculativeReasoner
from spec_graph.serve import ServeSettings, create_app
from spec_graph.serve.runner import running

RETRIES_429 = 100
"""A refused client waits Retry-After (with jitter) and asks again, at most this many times."""


@pytest.mark.parametrize(
    ("clients", "bound"),
    [(24, 3), pytest.param(200, 8, marks=pytest.mark.slow, id="200-clients")],
)
async def test_concurrent_clients_all_end_with_a_reply_or_an_explicit_error(clients, bound):
    plan = FaultPlan.random(
        {"http_500": 0.03, "http_503": 0.02, "drop": 0.02}, seed=11, latency_s=(0.0, 0.05)
    )
    with fault_server(plan) as model_server:
        endpoint = EndpointConfig(
            base_url=model_server.base_url, model="fault", timeout_s=20, max_retries=2
        )
        reasoner = SpeculativeReasoner.from_endpoints(
            endpoint, endpoint, ReasoningConfig(strategy="specreason", max_steps=6)
        )
        refusals = 0
        jitter = random.Random(3)
        runs = InFlight()  # runs inside the app, not requests at the door
        reasoner.astream = runs.counted(reasoner.astream)  # type: ignore[method-assign]
        app = create_app(reasoner, ServeSettings(max_concurrency=bound))
        with running(app) as url:
            limits = httpx.Limits(max_connections=clients)
            async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:

                async def one(i: int) -> tuple[int, int, dict]:
                    body = {
                        "model": "spec-graph/specreason",
                        "messages": [{"role": "user", "content": f"Request {i}: 6 * 7?"}],
                        "max_tokens": 16,
                    }
                    for _attempt in range(RETRIES_429):  # as the openai SDK does on a 429
                        response = await client.post("/chat/completions", json=body)
                        if response.status_code != 429:
                            break
                        nonlocal refusals
                        refusals += 1
                        wait = float(response.headers["retry-after"])
                        await asyncio.sleep(wait * (0.25 + jitter.random()))
                    return i, response.status_code, response.json()

                load = await measured(asyncio.gather(*(one(i) for i in range(clients))))
                outcomes = load.result
        faults = dict(model_server.counts)
    assert sorted(i for i, _, _ in outcomes) == list(range(clients)), "lost or answered twice"
    replies = [body for _, status, body in outcomes if status == 200]
    refused = [body for _, status, body in outcomes if status == 429]  # out of retries
    failed = [(status, body) for _, status, body in outcomes if status not in (200, 429)]
    assert replies, "no request got through"
    assert all(body["choices"][0]["message"]["content"] for body in replies)
    for body in refused + [body for _, body in failed]:
        assert set(body["error"]) >= {"message", "type", "code"}  # OpenAI's error shape
        assert "\n" not in body["error"]["message"]
    assert all(status >= 500 for status, _ in failed), failed
    assert runs.most <= bound
    print(
        f"\nserve load: {clients} clients in {load.seconds:.1f} s: {len(replies)} replies, "
        f"{len(refused)} refused for good, {len(failed)} model-server errors, lost 0 "
        f"({refusals} 429s on the way, each retried after Retry-After); faults "
        f"injected {faults}; most runs in flight {runs.most} (bound {bound}); peak RSS "
        f"{load.peak_mib:.0f} MiB (+{load.grown_mib:.0f} MiB)"
    )
