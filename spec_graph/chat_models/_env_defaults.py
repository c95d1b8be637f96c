"""The chat model's constructor defaults from ``SPEC_GRAPH_...`` env vars."""

from __future__ import annotations

import os
from typing import Any

from spec_graph.chat_models._deprecation import warn_at_caller
from spec_graph.config import SpecGraphSettings

__all__ = ["defaults_from_env"]


def defaults_from_env(data: Any) -> Any:
    """Fill what the caller left out from ``SPEC_GRAPH_...`` env vars (`SpecGraphSettings`).

    The old keyword ``profile="tiny"`` (a string) still names the embedded profile, with a
    `DeprecationWarning`; ``profile`` itself is LangChain's `ModelProfile`.
    """
    if not isinstance(data, dict):
        return data
    data = dict(data)
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
