"""Server quirks, one profile per server family (as pydantic-ai's ``profiles/``).

How to make a server *continue* an unfinished assistant message differs:

- vLLM (and SGLang, and most servers built on HF chat templates) need
  ``continue_final_message=True, add_generation_prompt=False`` in the request body and return
  only the new text.
- llama.cpp's server continues a trailing assistant message by itself (server-wide
  ``prefill_assistant``; the per-request flag is ignored) but *repeats the prefix* at the start
  of the returned content, which we strip. It can also apply its chat template for us
  (``POST /apply-template``), so the raw ``/v1/completions`` request shape works too.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

__all__ = ["PROFILES", "ServerProfile", "profile_for_owner"]

RequestShape = Literal["chat", "completions"]


class ServerProfile(BaseModel):
    """What one server family needs to continue an assistant message."""

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
    """The server scores the prompt's own tokens on request (vLLM's ``prompt_logprobs``)."""
    supports_n: bool = False
    """One request with ``n=`` returns ``n`` sampled choices, each with its own logprobs.

    llama.cpp accepts ``n`` only up to its ``n_parallel`` slots and reports one usage for all
    choices, so there concurrent requests (into the parallel slots) are used instead."""


PROFILES: dict[str, ServerProfile] = {
    "vllm": ServerProfile(
        name="vllm",
        continue_body={"continue_final_message": True, "add_generation_prompt": False},
        echoes_prefix=False,
        supports_apply_template=False,
        returns_prompt_logprobs=True,
        supports_n=True,
    ),
    "llamacpp": ServerProfile(
        name="llamacpp",
        continue_body={},
        echoes_prefix=True,
        supports_apply_template=True,
        # The xllamacpp build renders tools but returns calls as text and ignores "required".
        parses_tool_calls=False,
        supports_n=False,
    ),
    # Unknown servers: the HF-template convention, but check for an echoed prefix anyway.
    "generic": ServerProfile(
        name="generic",
        continue_body={"continue_final_message": True, "add_generation_prompt": False},
        echoes_prefix=True,
        supports_apply_template=False,
        supports_n=False,
    ),
}


def profile_for_owner(owned_by: str) -> ServerProfile:
    """Pick a profile from the ``owned_by`` field of ``GET /v1/models``."""
    owner = owned_by.lower()
    if "llama" in owner:
        return PROFILES["llamacpp"]
    if "vllm" in owner:
        return PROFILES["vllm"]
    return PROFILES["generic"]
