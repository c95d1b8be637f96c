"""The chat model's constructor arguments: env defaults, unknown ones, limits per endpoint.

Defaults come from ``SPEC_GRAPH_...`` env vars (the reasoning's from the tuned settings file,
capped for a chat turn); an unknown argument is refused naming the
field meant; ``timeout``/``max_retries``/``api_key`` (LangChain's standard parameters) apply
to both endpoints.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Collection
from typing import Any

from pydantic import SecretStr

from spec_graph.chat_models._deprecation import warn_at_caller
from spec_graph.config import EndpointConfig, ReasoningConfig, SpecGraphSettings
from spec_graph.errors import UserError

__all__ = ["chat_reasoning_defaults", "defaults_from_env", "with_limits"]

_CHAT_CAPS = {"token_budget": 1024, "max_steps": 16, "max_step_tokens": 256}
"""A chat turn is shorter than a competition proof: cap the chain so a reply comes fast."""


def chat_reasoning_defaults() -> ReasoningConfig:
    """The env / tuned settings file's reasoning, with the chat caps where those say nothing."""
    tuned = SpecGraphSettings().reasoning
    caps = {k: v for k, v in _CHAT_CAPS.items() if k not in tuned.model_fields_set}
    return tuned.with_overrides(**caps) if caps else tuned


def defaults_from_env(data: Any, known: Collection[str]) -> Any:
    """Fill what the caller left out from ``SPEC_GRAPH_...`` env vars (`SpecGraphSettings`).

    An argument that is none of ``known`` (the model's fields and aliases) is a `UserError`
    naming the field meant: ignored, ``base_url=...`` would silently run the embedded models.

    The old keyword ``profile="tiny"`` (a string) still names the embedded profile, with a
    `DeprecationWarning`; ``profile`` itself is LangChain's `ModelProfile`.
    """
    if not isinstance(data, dict):
        return data
    data = dict(data)
    _refuse_unknown(data, known)
    if isinstance(data.get("profile"), str):
        name = data.pop("profile")
        if data.get("embedded_profile", name) != name:
            msg = f"profile={name!r} and embedded_profile={data['embedded_profile']!r} disagree"
            raise ValueError(msg)
        data["embedded_profile"] = name
        warn_at_caller(
            "SpeculativeReasoningChatModel(profile=...) is deprecated: pass "
            f"embedded_profile={name!r}; `profile` is LangChain's ModelProfile",
        )
    settings = SpecGraphSettings()
    for role in ("draft", "target"):
        if data.get(role) is None and (endpoint := settings.endpoint(role)) is not None:
            data[role] = endpoint
    # TODO(config): ask SpecGraphSettings whether the profile was set (e.g. its
    # model_fields_set) once config.py makes it the one configuration root; read here
    # from os.environ only to tell "set" from "defaulted".
    if "embedded_profile" not in data and "SPEC_GRAPH_PROFILE" in os.environ:
        data["embedded_profile"] = settings.profile
    return data


# What users of other chat models write, and where it goes here.
_INSTEAD = {
    "base_url": "target=EndpointConfig(base_url=..., model=...) (and draft=...)",
    "seed": "reasoning=ReasoningConfig(target_sampling=SamplingConfig(seed=...))",
    "model_kwargs": "reasoning=ReasoningConfig(...) for the reasoning, or per-call keywords",
}


def _refuse_unknown(data: dict[str, Any], known: Collection[str]) -> None:
    unknown = [k for k in data if k not in known]
    if not unknown:
        return
    hints = []
    for key in unknown:
        if key in _INSTEAD:
            hints.append(f"{key}: use {_INSTEAD[key]}")
        elif close := difflib.get_close_matches(key, list(known), n=1):
            hints.append(f"{key}: did you mean {close[0]!r}?")
        else:
            hints.append(f"{key}: not a setting of this model")
    raise UserError(
        "SpeculativeReasoningChatModel got unknown arguments (" + "; ".join(hints) + ")"
    )


def with_limits(
    endpoint: EndpointConfig,
    timeout: float | None,
    max_retries: int | None,
    api_key: SecretStr | None,
) -> EndpointConfig:
    """``endpoint`` with the chat model's ``timeout``/``max_retries`` (and key, if it has none)."""
    update: dict[str, Any] = {}
    if timeout is not None:
        update["timeout_s"] = timeout
    if max_retries is not None:
        update["max_retries"] = max_retries
    if api_key is not None and endpoint.api_key is None:
        update["api_key"] = api_key
    return endpoint.model_copy(update=update) if update else endpoint
