r"""Token-exact continuation: the prompt as token ids, the generation with its token ids.

A step is a new request. Sent as text, the chain so far is re-tokenized by the server, and
the tokens at a step's end (the delimiter, ``"\n\n"``, may have been generated inside a
longer token such as ``".\n\n"``) need not be the ones the model wrote: the continuation
drifts from what the model would have written in one go. Sent as token ids (the chat
template's tokens, then each step's own tokens), the next step continues exactly where the
model stopped.

- llama.cpp: the template by ``POST /apply-template``, tokenized by ``POST /tokenize`` (with
  special tokens, as its chat endpoint does), generation by the native ``POST /completion``
  with ``return_tokens`` (its ``tokens`` include the one that completed a stop string).
- vLLM: ``POST /tokenize`` with the messages (the chat template with the generation prompt),
  text by ``POST /tokenize`` with a prompt, generation by ``POST /v1/completions`` with a
  token-id prompt and ``return_token_ids`` (its ``token_ids``; ``stop_reason`` names the stop
  string). A vLLM too old to return them gives no ids: the next step falls back to text.

`OpenAICompatibleBackend` sends the requests (its errors, timeouts and client).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Literal

from spec_graph.backends.base import GenerateRequest, Generation, PrefixStep
from spec_graph.backends.openai.placement import SlotPlacement
from spec_graph.errors import BackendError
from spec_graph.usage import Usage

__all__ = [
    "TokenKind",
    "TokenPrompts",
    "generation_body",
    "prompt_runs",
    "read_generation",
    "template_body",
    "tokenize_body",
]

TokenKind = Literal["llamacpp", "vllm"]
Post = Callable[[str, dict[str, Any]], Awaitable[dict[str, Any]]]
"""``await post(path, body)``: POST ``body`` to ``path`` under the server's root, as JSON."""
Placement = Callable[[], Awaitable[SlotPlacement | None]]
"""``await placement()``: the server's `SlotPlacement` (llama.cpp), or None."""

_TEMPLATES_KEPT = 64


class TokenPrompts:
    """Continues a request from token ids on one server (remembering the template's tokens).

    Args:
        kind: the server family's token API (`spec_graph.backends.openai.quirks.ServerQuirks`).
        model: the backend's model name; only steps written in its tokens are sent as ids.
        post: sends one request (the backend's, with its errors and timeouts).
        placement: the server's slot placement (llama.cpp with two slots or more): each step
            request runs in the chain slot holding most of its prompt, never the judges'.
    """

    def __init__(
        self, kind: TokenKind, model: str, post: Post, placement: Placement | None = None
    ) -> None:
        self.kind, self.model, self._post = kind, model, post
        self._placement = placement
        self._templates: dict[str, list[int]] = {}

    async def generate(self, request: GenerateRequest, params: dict[str, Any]) -> Generation:
        """Continue ``request`` from the exact tokens of its steps (no seconds in its usage)."""
        prompt, ends_in_own_tokens = await self._prompt(request)
        path, body = generation_body(
            self.kind,
            self.model,
            prompt,
            params,
            request.logprobs,
            reuse_cache=ends_in_own_tokens,
        )
        placement = await self._placement() if self._placement is not None else None
        slot = placement.take(prompt) if placement is not None else None
        if placement is None or slot is None:
            return read_generation(self.kind, await self._post(path, body), request.logprobs)
        cached: list[int] | None = None
        try:
            generation = read_generation(
                self.kind, await self._post(path, {**body, "id_slot": slot}), request.logprobs
            )
            cached = prompt + (generation.token_ids or [])
            return generation
        finally:
            placement.give_back(slot, cached)

    async def prompt_ids(self, request: GenerateRequest) -> list[int]:
        """The template's tokens, then each step's own tokens (or its text, tokenized)."""
        return (await self._prompt(request))[0]

    async def _prompt(self, request: GenerateRequest) -> tuple[list[int], bool]:
        """The prompt's ids, and whether they end in a step's own tokens (not tokenized text)."""
        ids = list(await self.template_ids(request.messages, request.tools))
        runs = prompt_runs(request.prefix_steps or [], self.model)
        for run in runs:
            ids += run if isinstance(run, list) else await self.tokenize(run, special=False)
        return ids, bool(runs) and isinstance(runs[-1], list)

    async def template_ids(self, messages: Sequence[Any], tools: Any) -> list[int]:
        """The conversation's chat template up to the assistant's turn, as token ids (kept)."""
        key = json.dumps([list(messages), tools], sort_keys=True, default=str)
        if key not in self._templates:
            path, body = template_body(self.kind, self.model, messages, tools)
            data = await self._post(path, body)
            if self.kind == "vllm":
                ids = _token_list(data, path)
            else:
                prompt = data.get("prompt")
                if not isinstance(prompt, str) or not prompt:
                    raise BackendError(f"{path} returned no prompt")
                ids = await self.tokenize(prompt, special=True)
            if len(self._templates) >= _TEMPLATES_KEPT:
                self._templates.pop(next(iter(self._templates)))
            self._templates[key] = ids
        return self._templates[key]

    async def tokenize(self, text: str, *, special: bool) -> list[int]:
        """``text`` as the model's token ids (``special``: a rendered template, not model text)."""
        path, body = tokenize_body(self.kind, self.model, text, special=special)
        return _token_list(await self._post(path, body), path)


def _token_list(data: dict[str, Any], path: str) -> list[int]:
    tokens = data.get("tokens")
    if not isinstance(tokens, list):
        raise BackendError(f"{path} returned no tokens")
    return [int(t["id"]) if isinstance(t, dict) else int(t) for t in tokens]


def prompt_runs(steps: Sequence[PrefixStep], model: str) -> list[str | list[int]]:
    """The prefix as runs: a step's own token ids (``model``'s), or merged text to tokenize."""
    runs: list[str | list[int]] = []
    for step in steps:
        if step.token_ids is not None and step.token_model == model:
            runs.append(list(step.token_ids))
        elif runs and isinstance(runs[-1], str):
            runs[-1] += step.text
        else:
            runs.append(step.text)
    return runs


def template_body(
    kind: TokenKind, model: str, messages: Sequence[Any], tools: Any
) -> tuple[str, dict[str, Any]]:
    """(path, body) that renders the conversation's chat template up to the assistant's turn."""
    body: dict[str, Any] = {"messages": list(messages)}
    if tools:
        body["tools"] = tools
    if kind == "vllm":  # vLLM tokenizes the messages itself
        return "/tokenize", {**body, "model": model, "add_generation_prompt": True}
    return "/apply-template", body


def tokenize_body(
    kind: TokenKind, model: str, text: str, *, special: bool
) -> tuple[str, dict[str, Any]]:
    """(path, body) that tokenizes ``text`` (``special``: a rendered template, not model text)."""
    if kind == "vllm":
        return "/tokenize", {"model": model, "prompt": text, "add_special_tokens": special}
    return "/tokenize", {"content": text, "add_special": special, "parse_special": special}


def generation_body(
    kind: TokenKind,
    model: str,
    prompt: list[int],
    params: dict[str, Any],
    logprobs: bool,
    *,
    reuse_cache: bool = True,
) -> tuple[str, dict[str, Any]]:
    """(path relative to the server root, body) that continues the token-id ``prompt``.

    llama.cpp's logits depend on how a prompt is split into batches: a last token evaluated
    alone (the rest cached by an earlier request, the draft's or the judge's) rounds
    differently from one evaluated inside a batch, and a greedy step can change. A prompt
    that ends in the model's own tokens (a step it wrote) is cached up to its last token by
    the request that wrote them, so that token is always evaluated alone, as in one long
    generation: ``reuse_cache``. A prompt that ends in tokenized text (the template alone, at
    a chain's first step, or a step that ended the model's turn and carries no ids) is
    prefilled whole, in one batch, whatever the cache holds (``reuse_cache=False``): the same
    path whichever requests came before.
    """
    stop = params.get("stop") or []
    body: dict[str, Any] = {
        "prompt": prompt,
        "temperature": params["temperature"],
        "top_p": params["top_p"],
        "stop": stop,
    }
    if params.get("seed") is not None:
        body["seed"] = params["seed"]
    if kind == "vllm":
        body.update(model=model, max_tokens=params["max_tokens"], return_token_ids=True)
        if logprobs:
            body["logprobs"] = 1
        return "/v1/completions", body
    body.update(n_predict=params["max_tokens"], return_tokens=True, cache_prompt=reuse_cache)
    if logprobs:
        body["n_probs"] = 1
    return "/completion", body


def read_generation(kind: TokenKind, data: dict[str, Any], logprobs: bool) -> Generation:
    """A `Generation` (no seconds yet) from a token-id completion response."""
    if kind == "vllm":
        return _read_vllm(data, logprobs)
    stop_type = data.get("stop_type")
    timings = data.get("timings") or {}
    probs = data.get("completion_probabilities")
    tokens = data.get("tokens")
    return Generation(
        text=data.get("content") or "",
        finish_reason="length" if stop_type == "limit" else "stop",
        usage=Usage(
            calls=1,
            prompt_tokens=int(data.get("tokens_evaluated") or 0),
            completion_tokens=int(data.get("tokens_predicted") or 0),
            cached_tokens=int(timings.get("cache_n") or 0),
        ),
        token_logprobs=[float(p["logprob"]) for p in probs or []] if logprobs else None,
        token_ids=[int(t) for t in tokens] if isinstance(tokens, list) else None,
        stop=(data.get("stopping_word") or None) if stop_type == "word" else None,
    )


def _read_vllm(data: dict[str, Any], logprobs: bool) -> Generation:
    choices = data.get("choices") or []
    if not choices:
        return Generation(text="", usage=Usage(calls=1))
    choice = choices[0]
    usage = data.get("usage") or {}
    details = usage.get("prompt_tokens_details") or {}
    stop_reason = choice.get("stop_reason")
    ids = choice.get("token_ids")
    lps = (choice.get("logprobs") or {}).get("token_logprobs")
    return Generation(
        text=choice.get("text") or "",
        finish_reason=choice.get("finish_reason"),
        usage=Usage(
            calls=1,
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            completion_tokens=int(usage.get("completion_tokens") or 0),
            cached_tokens=int(details.get("cached_tokens") or 0),
        ),
        token_logprobs=[float(x) for x in lps] if logprobs and lps is not None else None,
        token_ids=[int(t) for t in ids] if isinstance(ids, list) else None,
        stop=stop_reason if isinstance(stop_reason, str) else None,
    )
