"""Server quirks: one `ServerQuirks` per server family, as public data.

As pydantic-ai's ``profiles/``: a new OpenAI-compatible server is a few lines here, not a new
backend.

How to make a server *continue* an unfinished assistant message differs:

- vLLM and SGLang (and most servers built on HF chat templates) take
  ``continue_final_message=True, add_generation_prompt=False`` in the request body and return
  only the new text.
- llama.cpp's server continues a trailing assistant message by itself (server-wide
  ``prefill_assistant``; the per-request flag is ignored) but *repeats the prefix* at the start
  of the returned content, which we strip. It can also apply its chat template for us
  (``POST /apply-template``), so the raw ``/v1/completions`` request shape works too.

``EndpointConfig.server`` names one of `QUIRKS` (or ``auto``: the ``owned_by`` field of
``GET /v1/models`` picks one, see `quirks_for_owner`). Add your own with
``QUIRKS.register("myserver", ServerQuirks(...))``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from spec_graph.backends.base import BackendCapabilities
from spec_graph.registry import Registry

__all__ = [
    "PROFILES",
    "QUIRKS",
    "RequestShape",
    "ServerProfile",
    "ServerQuirks",
    "profile_for_owner",
    "quirks_for_owner",
]

RequestShape = Literal["chat", "completions"]
"""``chat``: messages plus "continue the final assistant message"; ``completions``: the chat
template rendered by the server, then a raw prompt (llama.cpp)."""

_HF_CONTINUE = {"continue_final_message": True, "add_generation_prompt": False}


class ServerQuirks(BaseModel):
    """What one server family needs, and what it can do, behind the OpenAI API."""

    model_config = ConfigDict(frozen=True)

    name: str
    continue_body: dict[str, Any]
    """Extra request body that makes the server continue the final assistant message."""
    echoes_prefix: bool
    """The response content starts with the prefix we sent (strip it)."""
    supports_apply_template: bool
    """The server renders its chat template on request (enables the ``completions`` shape)."""
    parses_tool_calls: bool = True
    """The server returns native ``tool_calls``; if not, the backend constrains/parses them."""
    returns_prompt_logprobs: bool = False
    """The server scores the prompt's own tokens on request (``prompt_logprobs_body``)."""
    prompt_logprobs_body: dict[str, Any] = {}
    """Extra request body that asks for the prompt's token logprobs (vLLM:
    ``prompt_logprobs=0``, the prompt's own tokens only)."""
    token_prompts: Literal["llamacpp", "vllm"] | None = None
    """How the server takes a prompt as token ids and returns each generated token's id
    (`spec_graph.backends.openai.tokens`); None: text prompts only."""
    supports_n: bool = False
    """One request with ``n=`` returns ``n`` sampled choices, each with its own logprobs.

    llama.cpp accepts ``n`` only up to its ``n_parallel`` slots and reports one usage for all
    choices, so there concurrent requests (into the parallel slots) are used instead."""
    preferred_width: int = 2
    """Chains per question by default: more where the server batches them nearly for free."""
    owned_by: tuple[str, ...] = ()
    """Substrings of ``GET /v1/models`` ``owned_by`` that identify this server (``auto``)."""

    def capabilities(self, request_shape: RequestShape = "chat") -> BackendCapabilities:
        """What an OpenAI-compatible backend can do against this server."""
        return BackendCapabilities(
            batched_n=self.supports_n,
            preferred_width=self.preferred_width,
            continues_prefix=True,
            token_logprobs=True,
            top_logprobs=True,
            prompt_logprobs=self.returns_prompt_logprobs and request_shape == "chat",
            native_tool_calls=True,  # natively, or parsed from text (`text_tools`)
        )


ServerProfile = ServerQuirks
"""The old name of `ServerQuirks`."""

QUIRKS: Registry[ServerQuirks] = Registry(
    "server",
    {
        "vllm": ServerQuirks(
            name="vllm",
            continue_body=_HF_CONTINUE,
            echoes_prefix=False,
            supports_apply_template=False,
            returns_prompt_logprobs=True,
            prompt_logprobs_body={"prompt_logprobs": 0},
            token_prompts="vllm",
            supports_n=True,
            preferred_width=5,
            owned_by=("vllm",),
        ),
        "llamacpp": ServerQuirks(
            name="llamacpp",
            continue_body={},
            echoes_prefix=True,
            supports_apply_template=True,
            # The xllamacpp build renders tools but returns calls as text, ignores "required".
            parses_tool_calls=False,
            token_prompts="llamacpp",
            supports_n=False,
            owned_by=("llama",),
        ),
        # SGLang's chat API takes vLLM's continue flag and returns only the new text; it
        # batches n= choices. It has no prompt_logprobs field on /chat/completions (its
        # prompt scores come from /generate or echo=True completions), so the likelihood
        # judge is refused with a clear error rather than given no scores.
        "sglang": ServerQuirks(
            name="sglang",
            continue_body=_HF_CONTINUE,
            echoes_prefix=False,
            supports_apply_template=False,
            returns_prompt_logprobs=False,
            supports_n=True,
            preferred_width=5,
            owned_by=("sglang",),
        ),
        # Unknown servers: the HF-template convention, but check for an echoed prefix anyway.
        "generic": ServerQuirks(
            name="generic",
            continue_body=_HF_CONTINUE,
            echoes_prefix=True,
            supports_apply_template=False,
            supports_n=False,
        ),
    },
)

PROFILES = QUIRKS
"""The old name of `QUIRKS`."""


def quirks_for_owner(owned_by: str) -> ServerQuirks:
    """The quirks whose ``owned_by`` rule matches ``GET /v1/models`` (else ``generic``)."""
    owner = owned_by.lower()
    for quirks in QUIRKS.values():
        if any(rule in owner for rule in quirks.owned_by):
            return quirks
    return QUIRKS["generic"]


profile_for_owner = quirks_for_owner
"""The old name of `quirks_for_owner`."""
