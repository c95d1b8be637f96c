"""The OpenAI-compatible backend against a real llama.cpp server (tiny model)."""

from __future__ import annotations

import pytest

from spec_graph import BackendError, SamplingConfig, ServerUnavailableError
from spec_graph.backends import (
    GenerateRequest,
    OpenAICompatibleBackend,
    ScoreRequest,
    backend_for,
)
from spec_graph.config import EndpointConfig
from spec_graph.judging.digits import score_from_logprobs
from spec_graph.judging.formulations import JUDGES
from spec_graph.prompts import problem_messages

GREEDY = SamplingConfig(temperature=0.0)
QUESTION = "Tom has 3 apples and buys 5 more. How many apples does he have?"


@pytest.fixture(params=["chat", "completions"])
def backend(request, tiny):
    return OpenAICompatibleBackend(tiny.target, request_shape=request.param)


async def test_server_is_detected_as_llamacpp_and_bound_to_loopback(tiny):
    backend = OpenAICompatibleBackend(tiny.target.model_copy(update={"server": "auto"}))
    profile = await backend.server_profile()
    assert profile.name == "llamacpp"
    assert tiny.target.base_url.startswith("http://127.0.0.1:")


async def test_a_step_stops_at_the_blank_line(backend):
    messages = problem_messages(QUESTION)
    gen = await backend.generate(
        GenerateRequest(
            messages=messages,
            prefix="Let's count the apples.\n\n",
            max_tokens=96,
            stop=["\n\n"],
            sampling=GREEDY,
        )
    )
    assert gen.text.strip(), "the model wrote nothing"
    assert "\n\n" not in gen.text
    assert not gen.text.startswith("Let's count the apples."), "the echoed prefix must be stripped"
    assert gen.finish_reason in {"stop", "length"}
    assert gen.usage.completion_tokens > 0
    assert gen.usage.prompt_tokens > 0
    assert gen.usage.calls == 1
    assert gen.usage.seconds > 0
    assert gen.token_logprobs is None  # not asked for


async def test_chat_and_completions_shapes_agree(tiny):
    messages = problem_messages(QUESTION)
    prefix = "Tom starts with 3 apples.\n\n"
    texts = []
    for shape in ("chat", "completions"):
        backend = OpenAICompatibleBackend(tiny.target, request_shape=shape)
        gen = await backend.generate(
            GenerateRequest(
                messages=messages, prefix=prefix, max_tokens=40, stop=["\n\n"], sampling=GREEDY
            )
        )
        texts.append(gen.text)
    assert texts[0] == texts[1]


async def test_judge_reads_a_score_from_real_logprobs(backend):
    messages, reply = JUDGES["specreason"].prompt(
        problem_messages(QUESTION),
        ["Tom starts with 3 apples."],
        "He buys 5 more, so 3 + 5 = 8.",
        "\n\n",
    )
    token = await backend.next_token(ScoreRequest(messages=messages, prefix=reply, top_logprobs=10))
    assert len(token.top_logprobs) == 10
    assert all(lp <= 0.0 for _, lp in token.top_logprobs)
    verdict = score_from_logprobs(token.top_logprobs, "average")
    assert verdict.score is not None, f"no digit among {token.top_logprobs}"
    assert 0.0 <= verdict.score <= 9.0
    assert sum(verdict.digit_probs.values()) == pytest.approx(1.0)


@pytest.mark.parametrize("name", ["yesno", "inline", "reviewer"])
async def test_yes_no_judges_get_a_verdict_from_real_logprobs(tiny, name):
    judge = JUDGES[name]
    messages, prefix = judge.prompt(
        problem_messages(QUESTION),
        ["Tom starts with 3 apples."],
        "He buys 5 more, so 3 + 5 = 8.",
        "\n\n",
    )
    token = await backend_for(tiny.target).next_token(
        ScoreRequest(messages=messages, prefix=prefix, top_logprobs=10)
    )
    verdict = judge.score(token, "average", "He buys 5 more, so 3 + 5 = 8.")
    assert verdict.score is not None, f"neither yes nor no among {token.top_logprobs}"
    assert 0.0 <= verdict.score <= 9.0
    assert set(verdict.digit_probs) == {"yes", "no"}


async def test_the_likelihood_judge_on_llamacpp_is_a_clear_error(tiny):
    messages, prefix = JUDGES["likelihood"].prompt(
        problem_messages(QUESTION), [], "Tom starts with 3 apples.", "\n\n"
    )
    backend = OpenAICompatibleBackend(tiny.target)
    with pytest.raises(BackendError, match=r"llamacpp.*prompt log-probabilities.*vLLM"):
        await backend.next_token(
            ScoreRequest(messages=messages, prefix=prefix, top_logprobs=5, prompt_logprobs=True)
        )


async def test_judge_prefill_is_served_from_the_prefix_cache(tiny):
    """The judge of step k+1 re-uses the prefill of the judge of step k (prefix cache)."""
    backend = OpenAICompatibleBackend(tiny.target)
    judge = JUDGES["yesno"]
    messages = problem_messages(QUESTION)
    steps = ["Tom starts with 3 apples.", "He buys 5 more apples at the shop."]
    first, prefix = judge.prompt(messages, steps[:1], steps[1], "\n\n")
    one = await backend.next_token(ScoreRequest(messages=first, prefix=prefix, top_logprobs=5))
    second, prefix = judge.prompt(messages, steps, "So 3 + 5 = 8.", "\n\n")
    two = await backend.next_token(ScoreRequest(messages=second, prefix=prefix, top_logprobs=5))
    assert two.usage.prompt_tokens > one.usage.prompt_tokens
    # Everything up to the end of step 2 was prefilled by the first call; only the closing
    # turn wrapper and instruction (~60 tokens) differ.
    assert two.usage.cached_tokens >= one.usage.prompt_tokens - 80


async def test_repeated_prefix_is_served_from_cache(tiny):
    backend = OpenAICompatibleBackend(tiny.target)
    messages = problem_messages(QUESTION)
    prefix = "Tom starts with 3 apples. He buys 5 more.\n\n"
    await backend.generate(
        GenerateRequest(
            messages=messages, prefix=prefix, max_tokens=8, stop=["\n\n"], sampling=GREEDY
        )
    )
    again = await backend.next_token(ScoreRequest(messages=messages, prefix=prefix, top_logprobs=5))
    assert again.usage.cached_tokens > 0
    assert again.usage.cached_tokens <= again.usage.prompt_tokens


async def test_unreachable_server_fails_fast_naming_the_url():
    import time

    endpoint = EndpointConfig(
        base_url="http://127.0.0.1:9/v1", model="m", max_retries=0, connect_timeout_s=2
    )
    backend = OpenAICompatibleBackend(endpoint)
    started = time.monotonic()
    with pytest.raises(ServerUnavailableError, match=r"http://127\.0\.0\.1:9/v1"):
        await backend.generate(
            GenerateRequest(messages=problem_messages("q"), max_tokens=4, sampling=GREEDY)
        )
    assert time.monotonic() - started < 10


async def test_token_logprobs_come_with_the_generation_in_both_shapes(backend):
    prefix = "Tom starts with 3 apples.\n\n"  # echoed by llama.cpp: text and logprobs agree
    gen = await backend.generate(
        GenerateRequest(
            messages=problem_messages(QUESTION),
            prefix=prefix,
            max_tokens=24,
            stop=["\n\n"],
            sampling=GREEDY,
            logprobs=True,
        )
    )
    assert gen.text.strip()
    assert not gen.text.startswith("Tom starts")
    assert gen.token_logprobs is not None
    assert len(gen.token_logprobs) == gen.usage.completion_tokens
    assert all(lp <= 0.0 for lp in gen.token_logprobs)
    assert max(gen.token_logprobs) > -0.5  # greedy: most tokens are the model's likeliest


async def test_generate_many_on_llamacpp_uses_concurrent_requests(tiny):
    backend = backend_for(tiny.target)
    assert not (await backend.server_profile()).supports_n  # n= is bounded by n_parallel
    request = GenerateRequest(
        messages=problem_messages(QUESTION),
        prefix="Let's think.\n\n",
        max_tokens=16,
        stop=["\n\n"],
        sampling=SamplingConfig(temperature=0.6, seed=7),
        logprobs=True,
    )
    try:
        drafts = await backend.generate_many(request, 3)  # seeds 7, 8, 9
    finally:
        await backend.aclose()
    assert len(drafts) == 3
    for gen in drafts:
        assert gen.text.strip()
        assert gen.usage.calls == 1
        assert gen.usage.prompt_tokens > 0  # each was its own request
        assert gen.token_logprobs is not None
        assert len(gen.token_logprobs) == gen.usage.completion_tokens
    # (not reproducible text by text: batched decoding in parallel slots changes the numerics)
