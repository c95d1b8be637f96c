"""vLLM with ``--reasoning-parser``: the judge's one token lands in ``reasoning``, not ``content``.

With a reasoning parser on (``--reasoning-parser deepseek_r1`` for QwQ and the R1 distills),
vLLM moves text generated inside the think block out of ``message.content`` (then ``null``
or ``""``) into ``message.reasoning`` (``reasoning_content`` in older releases). A step judge
that read its verdict from ``content`` would see nothing and fall back to a default score
on every step. spec-graph's judges read the verdict from the token logprobs
(``choices[0].logprobs.content[0].top_logprobs``), which vLLM fills whatever field the text
lands in, so the score must come through unchanged. The draft's steps are read the same
way: a step that the parser moved wholly into ``reasoning`` is still the step's text.

Offline: canned vLLM-shaped chat completions served through ``httpx.MockTransport`` into the
real `OpenAICompatibleBackend` (the approach of ``test_sglang.py``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

import httpx
import openai
import pytest

from spec_graph import ReasoningConfig
from spec_graph.backends import GenerateRequest, OpenAICompatibleBackend, ScoreRequest, backend_for
from spec_graph.config import EndpointConfig
from spec_graph.judging import TargetJudge
from spec_graph.judging.view import StepView
from spec_graph.nodes import SpecContext
from spec_graph.testing import ScriptedFakeBackend

URL = "http://vllm.test/v1"
MODEL = "qwq-32b"
MESSAGES = [{"role": "user", "content": "What is 3 * 4 + 5?"}]
VIEW = StepView(
    messages=MESSAGES, steps=("3 * 4 = 12.",), candidate="12 + 5 = 17.", delimiter="\n\n"
)
Handler = Callable[[httpx.Request], httpx.Response]

MODELS = {
    "object": "list",
    "data": [
        {
            "id": MODEL,
            "object": "model",
            "created": 1764633600,
            "owned_by": "vllm",
            "root": "Qwen/QwQ-32B",
            "max_model_len": 32768,
        }
    ],
}

# Where the parser put the text: (message fields) for each vLLM behaviour seen in the wild.
PARSED = {
    "reasoning, content null": {"content": None, "reasoning": "{text}"},
    "reasoning, content empty": {"content": "", "reasoning": "{text}"},
    "reasoning_content (older vLLM)": {"content": None, "reasoning_content": "{text}"},
    "both names": {"content": None, "reasoning": "{text}", "reasoning_content": "{text}"},
}


def _token(token: str, logprob: float, tops: tuple[tuple[str, float], ...] = ()) -> dict:
    return {
        "token": token,
        "bytes": list(token.encode()),
        "logprob": logprob,
        "top_logprobs": [{"token": t, "bytes": list(t.encode()), "logprob": lp} for t, lp in tops],
    }


def _vllm_chat(fields: dict[str, Any], text: str, logprobs: list[dict] | None) -> dict:
    """A vLLM chat completion whose message text went where ``fields`` says."""
    message: dict[str, Any] = {"role": "assistant", "tool_calls": [], "refusal": None}
    message.update({k: v.format(text=text) if isinstance(v, str) else v for k, v in fields.items()})
    return {
        "id": "chatcmpl-b2f4c1d0e9a84f6c",
        "object": "chat.completion",
        "created": 1764633601,
        "model": MODEL,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None if logprobs is None else {"content": logprobs},
                "finish_reason": "length" if logprobs and len(logprobs) == 1 else "stop",
                "stop_reason": None,
            }
        ],
        "usage": {
            "prompt_tokens": 412,
            "total_tokens": 412 + (len(logprobs) if logprobs else 9),
            "completion_tokens": len(logprobs) if logprobs else 9,
            "prompt_tokens_details": {"cached_tokens": 384},
        },
        "prompt_logprobs": None,
        "kv_transfer_params": None,
    }


def _backend(handler: Handler) -> tuple[OpenAICompatibleBackend, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/v1/models":
            return httpx.Response(200, json=MODELS)
        return handler(request)

    client = openai.AsyncOpenAI(
        base_url=URL,
        api_key="test",
        max_retries=0,
        http_client=httpx.AsyncClient(transport=httpx.MockTransport(record)),
    )
    endpoint = EndpointConfig(base_url=URL, model=MODEL, server="auto", max_retries=0)
    backend = backend_for(endpoint, client=client)
    assert isinstance(backend, OpenAICompatibleBackend)
    return backend, seen


def _chat_bodies(seen: list[httpx.Request]) -> list[dict]:
    return [json.loads(r.content) for r in seen if r.url.path == "/v1/chat/completions"]


# A confident "Yes" for the yes/no judges, a confident "7" for SpecReason's digit judge.
YES_TOPS = (("Yes", -0.105), ("No", -2.303), (" Yes", -4.6))
DIGIT_TOPS = (("7", -0.2), ("8", -1.9), ("6", -3.2))


@pytest.mark.parametrize("where", sorted(PARSED))
async def test_next_token_reads_the_logprobs_when_the_token_landed_in_reasoning(where):
    payload = _vllm_chat(PARSED[where], "Yes", [_token("Yes", -0.105, YES_TOPS)])
    backend, seen = _backend(lambda _: httpx.Response(200, json=payload))
    result = await backend.next_token(ScoreRequest(messages=MESSAGES, prefix="Answer:"))
    assert result.top_logprobs == list(YES_TOPS)
    assert result.usage.prompt_tokens == 412
    assert result.usage.cached_tokens == 384
    (body,) = _chat_bodies(seen)
    assert body["max_tokens"] == 1
    assert body["logprobs"] is True
    assert body["top_logprobs"] == 10


@pytest.mark.parametrize("where", sorted(PARSED))
@pytest.mark.parametrize(
    ("formulation", "tops", "expected"),
    [
        ("yesno", YES_TOPS, 9.0 * 0.9 / (0.9 + 0.1)),  # exp(-0.105) ~ 0.9, exp(-2.303) ~ 0.1
        ("specreason", DIGIT_TOPS, None),  # expected digit: computed below from the tops
    ],
)
async def test_the_target_judge_scores_from_logprobs_not_from_content(
    where, formulation, tops, expected
):
    top_token = tops[0][0]
    payload = _vllm_chat(PARSED[where], top_token, [_token(top_token, tops[0][1], tops)])
    backend, seen = _backend(lambda _: httpx.Response(200, json=payload))
    config = ReasoningConfig(
        strategy="specreason",
        options={"judge_prompt": formulation, "score_method": "average"},
    )
    ctx = SpecContext(draft=ScriptedFakeBackend("fake-draft"), target=backend, config=config)

    verdict = await TargetJudge(formulation).ascore(VIEW, ctx)

    if expected is None:  # the renormalised expected digit over 6, 7, 8
        probs = {int(t): math.exp(lp) for t, lp in tops}
        expected = sum(d * p for d, p in probs.items()) / sum(probs.values())
    assert verdict.score is not None, "no verdict: the judge did not read the logprobs"
    assert verdict.score == pytest.approx(expected, abs=0.01)
    assert verdict.score != pytest.approx(4.5)  # not a silent "don't know" midpoint
    assert verdict.detail["top_token"] == top_token
    assert verdict.detail["digit_mass"] > 0.5
    assert verdict.usage.calls == 1
    assert verdict.usage.cached_tokens == 384
    assert len(_chat_bodies(seen)) == 1


async def test_a_judge_reply_without_logprobs_is_an_error_not_a_default_score():
    payload = _vllm_chat(PARSED["reasoning, content null"], "Yes", None)
    backend, _ = _backend(lambda _: httpx.Response(200, json=payload))
    with pytest.raises(Exception, match="returned no logprobs"):
        await backend.next_token(ScoreRequest(messages=MESSAGES, prefix="Answer:"))


@pytest.mark.parametrize("where", sorted(PARSED))
async def test_a_draft_step_the_parser_moved_into_reasoning_is_still_the_step(where):
    step = " 12 + 5 = 17."
    payload = _vllm_chat(PARSED[where], step, None)
    backend, seen = _backend(lambda _: httpx.Response(200, json=payload))
    request = GenerateRequest(messages=MESSAGES, prefix="3 * 4 = 12.\n\n", max_tokens=64)
    generation = await backend.generate(request)
    assert generation.text == step
    (body,) = _chat_bodies(seen)
    assert body["continue_final_message"] is True


async def test_content_wins_when_the_server_fills_it():
    fields = {"content": " 12 + 5 = 17.", "reasoning": None}
    payload = _vllm_chat(fields, "", None)
    backend, _ = _backend(lambda _: httpx.Response(200, json=payload))
    generation = await backend.generate(
        GenerateRequest(messages=MESSAGES, prefix="3 * 4 = 12.\n\n", max_tokens=64)
    )
    assert generation.text == " 12 + 5 = 17."
