"""Every run against a faulty server ends with a result or one clear error, in bounded time.

The server is `fault_server` (loopback, bounded): one fault on the first request, then
normal answers. Transient faults (5xx, 429, a dropped connection) are retried and the run
finishes; a server that is not an OpenAI-compatible one is one `SpecGraphError`.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from fault_server import FaultPlan, fault_server

from spec_graph import (
    EndpointConfig,
    ReasoningConfig,
    SpeculativeReasoner,
    SpeculativeReasoningChatModel,
    backend_for,
)
from spec_graph.backends import ReplyRequest
from spec_graph.errors import ServerUnavailableError, SpecGraphError
from spec_graph.state import ReasoningResult

CONFIG = ReasoningConfig(strategy="specreason", max_steps=6, options={"gate_logprob": None})


def _reasoner(base_url: str, *, timeout_s: float = 2.0) -> SpeculativeReasoner:
    endpoint = EndpointConfig(
        base_url=base_url, model="fault", timeout_s=timeout_s, connect_timeout_s=2, max_retries=1
    )
    return SpeculativeReasoner.from_endpoints(endpoint, endpoint, CONFIG)


async def _outcome(reasoner: SpeculativeReasoner, bound_s: float) -> ReasoningResult | Exception:
    try:
        return await asyncio.wait_for(reasoner.ainvoke("What is 6 * 7?"), bound_s)
    except SpecGraphError as e:
        return e
    finally:
        await reasoner.aclose()


@pytest.mark.parametrize("fault", ["http_500", "http_503", "http_429", "drop", "delay"])
async def test_a_transient_fault_is_retried_and_the_run_finishes(fault):
    with fault_server(FaultPlan([fault])) as server:
        outcome = await _outcome(_reasoner(server.base_url, timeout_s=10), bound_s=60)
        assert isinstance(outcome, ReasoningResult), outcome
        assert outcome.answer == "42"
        assert server.counts[fault] == 1
    texts = [s.text for s in outcome.steps]
    assert len(texts) == len(set(texts)), f"a step was recorded twice: {texts}"


@pytest.mark.parametrize(
    "fault", ["garbage", "html", "empty_choices", "null_choices", "no_logprobs", "no_verdict"]
)
async def test_a_broken_reply_is_one_clear_error_or_a_finished_run(fault):
    # Retrying a malformed reply once is allowed; either way the run must end cleanly: a
    # result (the retry got a good answer), or a SpecGraphError whose message is one line
    # naming what was wrong, never a traceback from inside the client.
    with fault_server(FaultPlan([fault, fault])) as server:
        started = time.monotonic()
        outcome = await _outcome(_reasoner(server.base_url), bound_s=60)
        assert time.monotonic() - started < 30
    if isinstance(outcome, ReasoningResult):
        texts = [s.text for s in outcome.steps]
        assert len(texts) == len(set(texts)), f"a step was recorded twice: {texts}"
    else:
        message = str(outcome)
        assert "\n" not in message
        assert "Traceback" not in message


@pytest.mark.parametrize("fault", ["trickle", "delay"])
async def test_timeout_s_is_a_deadline_for_each_call(fault):
    # Defect (issue 16, item 4): timeout_s was a per-read timeout with a retry on top, so a
    # server sending one byte every 0.5 s was never timed out, and a hung one cost twice
    # the timeout. Now a call that runs past timeout_s fails, once, saying what it waited for.
    with fault_server(FaultPlan([fault] * 4)) as server:
        started = time.monotonic()
        outcome = await _outcome(_reasoner(server.base_url, timeout_s=1.5), bound_s=60)
        waited = time.monotonic() - started
    assert isinstance(outcome, SpecGraphError), outcome
    assert waited < 1.5 * 2, f"waited {waited:.1f} s for a 1.5 s deadline"
    message = str(outcome)
    assert "1.5" in message
    assert "POST /chat/completions" in message


async def test_a_stream_cut_before_done_is_an_error_not_a_complete_reply():
    # Defect (issue 16, item 8): a stream that stopped without [DONE] came back as a
    # complete reply ('Hel', finish_reason=None).
    with fault_server(FaultPlan(["no_done"])) as server:
        endpoint = EndpointConfig(base_url=server.base_url, model="fault", timeout_s=5)
        backend = backend_for(endpoint)
        request = ReplyRequest(messages=[{"role": "user", "content": "Hi"}])
        with pytest.raises(ServerUnavailableError, match="ended before the server finished"):
            async for _ in backend.stream_reply(request):
                pass
        chunks = [c async for c in backend.stream_reply(request)]  # the next one is whole
        await backend.aclose()
    assert "".join(c.text for c in chunks) == "The answer is 42."
    assert chunks[-1].usage is not None


def test_the_reasoner_and_the_chat_model_work_from_one_event_loop_after_another():
    # Defect (issue 16, item 6): a second asyncio.run (or one after a sync invoke) raised
    # "event loop is closed": the HTTP pool stayed bound to the first loop.
    with fault_server() as server:
        endpoint = EndpointConfig(base_url=server.base_url, model="fault", timeout_s=5)
        reasoner = SpeculativeReasoner.from_endpoints(endpoint, endpoint, CONFIG)
        assert reasoner.invoke("What is 6 * 7?").answer == "42"
        assert asyncio.run(reasoner.ainvoke("What is 6 * 7?")).answer == "42"
        assert asyncio.run(reasoner.ainvoke("What is 6 * 7?")).answer == "42"
        model = SpeculativeReasoningChatModel(draft=endpoint, target=endpoint, reasoning=CONFIG)
        assert "42" in str(model.invoke("What is 6 * 7?").content)
        assert "42" in str(asyncio.run(model.ainvoke("What is 6 * 7?")).content)
        assert "42" in str(asyncio.run(model.ainvoke("What is 6 * 7?")).content)
