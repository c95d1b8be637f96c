"""``spec-graph serve --profile tiny`` as a real process, answering real clients.

The tiny profile (SmolLM2-135M in both roles) is weak: what is checked is the wire (the
reasoning streamed in both fields, usage, telemetry, a clean stop on SIGTERM), not answers.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from serve_process import serve_process, stream_reply

SMALL = {"max_steps": 2, "max_step_tokens": 32, "token_budget": 96}
QUESTION = [{"role": "user", "content": "What is 7 * 6?"}]


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """The server's base URL; stopped with SIGTERM after the module, which must exit cleanly."""
    with serve_process("--profile", "tiny") as url:
        yield url


def test_openai_client_streams_reasoning_then_the_reply(server):
    assert httpx.get(server.removesuffix("/v1") + "/ready", timeout=30).status_code == 200
    seen = stream_reply(server, QUESTION, max_tokens=24, temperature=0, extra_body=SMALL)
    assert seen.reasoning, "no reasoning was streamed"
    assert "".join(seen.text).strip(), "no reply"
    assert seen.first_reasoning_s <= seen.first_text_s
    telemetry, usage = seen.telemetry, seen.usage
    assert telemetry["draft_model"]
    assert telemetry["strategy"] == "specreason"
    assert 1 <= telemetry["steps"] <= 2
    assert usage.completion_tokens_details.reasoning_tokens > 0
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    print(f"first reasoning {seen.first_reasoning_s:.2f} s, first text {seen.first_text_s:.2f} s")


def test_chat_openai_gets_the_reply_and_usage(server):
    langchain_openai = pytest.importorskip(
        "langchain_openai", reason="langchain-openai is not installed (the test extra has it)"
    )
    model = langchain_openai.ChatOpenAI(
        model="spec-graph/target-only",
        base_url=server,
        api_key="unused",
        max_retries=0,
        max_tokens=24,
        temperature=0,
        extra_body=SMALL,
        timeout=300,
    )
    message = model.invoke("What is 7 * 6?")
    assert message.text.strip()
    assert message.usage_metadata["output_token_details"]["reasoning"] > 0
    assert message.response_metadata["model_name"] == "spec-graph/target-only"
