"""Token-exact continuation on the wire: token-id prompts and generations with their ids."""

from __future__ import annotations

from typing import Any

from spec_graph.backends.base import GenerateRequest, PrefixStep
from spec_graph.backends.openai.tokens import TokenPrompts, prompt_runs, read_generation

PARAMS = {"max_tokens": 8, "stop": ["\n\n"], "temperature": 0.0, "top_p": 1.0}


def test_runs_use_own_tokens_and_merge_the_rest_as_text():
    steps = [
        PrefixStep(text="a\n\n", token_ids=[1, 2], token_model="m"),
        PrefixStep(text="b\n\n", token_ids=[3], token_model="other"),
        PrefixStep(text="c\n\n"),
        PrefixStep(text="d\n\n", token_ids=[4, 5], token_model="m"),
    ]
    assert prompt_runs(steps, "m") == [[1, 2], "b\n\nc\n\n", [4, 5]]


def test_llamacpp_generation_keeps_the_stop_token_and_names_the_stop():
    data = {
        "content": "3 + 3 = 6",
        "tokens": [35, 446, 216, 38, 198, 198],
        "stop_type": "word",
        "stopping_word": "\n\n",
        "tokens_evaluated": 140,
        "tokens_predicted": 6,
        "timings": {"cache_n": 139},
    }
    generation = read_generation("llamacpp", data, logprobs=False)
    assert generation.token_ids == [35, 446, 216, 38, 198, 198]
    assert generation.stop == "\n\n"
    assert generation.finish_reason == "stop"
    assert (generation.usage.prompt_tokens, generation.usage.cached_tokens) == (140, 139)
    limited = read_generation("llamacpp", {**data, "stop_type": "limit"}, logprobs=False)
    assert limited.stop is None
    assert limited.finish_reason == "length"


def test_vllm_generation_reads_token_ids_and_stop_reason():
    data = {
        "choices": [
            {
                "text": "x",
                "token_ids": [7, 8],
                "finish_reason": "stop",
                "stop_reason": "\n\n",
                "logprobs": {"token_logprobs": [-0.1, -0.2]},
            }
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": 2},
    }
    generation = read_generation("vllm", data, logprobs=True)
    assert generation.token_ids == [7, 8]
    assert generation.stop == "\n\n"
    assert generation.token_logprobs == [-0.1, -0.2]
    old = {"choices": [{"text": "x", "finish_reason": "stop", "stop_reason": None}]}
    assert read_generation("vllm", old, logprobs=False).token_ids is None  # text next time


async def test_llamacpp_prompt_is_template_tokens_then_step_tokens():
    sent: list[tuple[str, dict[str, Any]]] = []

    async def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        sent.append((path, body))
        if path == "/apply-template":
            return {"prompt": "<user>q<assistant>"}
        if path == "/tokenize":
            return {"tokens": [100, 101] if body["add_special"] else [9]}
        return {"content": "y", "tokens": [5, 6], "stop_type": "word", "stopping_word": "\n\n"}

    prompts = TokenPrompts("llamacpp", "m", post)
    request = GenerateRequest(
        messages=[{"role": "user", "content": "q"}],
        prefix="a\n\nb\n\n",
        prefix_steps=[
            PrefixStep(text="a\n\n", token_ids=[1, 2], token_model="m"),
            PrefixStep(text="b\n\n"),
        ],
        max_tokens=8,
    )
    generation = await prompts.generate(request, PARAMS)
    path, body = sent[-1]
    assert path == "/completion"
    assert body["prompt"] == [100, 101, 1, 2, 9]
    assert body["return_tokens"] is True
    assert body["cache_prompt"] is False  # ends in tokenized text: prefilled whole
    assert generation.token_ids == [5, 6]
    await prompts.generate(request, PARAMS)  # the template's tokens are remembered
    assert [p for p, _ in sent].count("/apply-template") == 1


async def test_llamacpp_reuses_its_cache_only_after_its_own_tokens():
    """A prompt ending in the model's own tokens reuses the cache (its last token is then
    evaluated alone, as in one generation); one ending in text is prefilled in one batch."""
    sent: list[dict[str, Any]] = []

    async def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        sent.append(body)
        if path == "/apply-template":
            return {"prompt": "<user>q<assistant>"}
        if path == "/tokenize":
            return {"tokens": [100, 101]}
        return {"content": "y", "tokens": [5], "stop_type": "word", "stopping_word": "\n\n"}

    prompts = TokenPrompts("llamacpp", "m", post)
    messages = [{"role": "user", "content": "q"}]
    own = PrefixStep(text="a\n\n", token_ids=[1, 2], token_model="m")
    reuse = {}
    for name, steps in {
        "template": [],
        "own": [own],
        "text after own": [own, PrefixStep(text="b")],
        "other model's": [PrefixStep(text="a\n\n", token_ids=[1, 2], token_model="x")],
    }.items():
        request = GenerateRequest(messages=messages, prefix_steps=steps, max_tokens=8)
        await prompts.generate(request, PARAMS)
        reuse[name] = sent[-1]["cache_prompt"]
    assert reuse == {
        "template": False,
        "own": True,
        "text after own": False,
        "other model's": False,
    }


async def test_vllm_prompt_uses_its_tokenize_and_completions():
    sent: list[tuple[str, dict[str, Any]]] = []

    async def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        sent.append((path, body))
        if path == "/tokenize":
            return {"tokens": [100] if "messages" in body else [9]}
        return {"choices": [{"text": "y", "token_ids": [5], "stop_reason": "\n\n"}]}

    prompts = TokenPrompts("vllm", "m", post)
    request = GenerateRequest(
        messages=[{"role": "user", "content": "q"}],
        prefix="b\n\n",
        prefix_steps=[PrefixStep(text="b\n\n")],
        max_tokens=8,
    )
    generation = await prompts.generate(request, PARAMS)
    assert sent[0][1]["add_generation_prompt"] is True
    assert sent[1][1] == {"model": "m", "prompt": "b\n\n", "add_special_tokens": False}
    path, body = sent[-1]
    assert (path, body["prompt"], body["return_token_ids"]) == ("/v1/completions", [100, 9], True)
    assert generation.token_ids == [5]
