"""Embedded profiles: named draft/target pairs of catalogue models."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from spec_graph.registry import Registry

__all__ = ["LOCAL_PROFILES", "LocalProfile", "get_profile"]


class LocalProfile(BaseModel):
    """A draft/target pair of embedded models (names from `LOCAL_MODELS`)."""

    model_config = ConfigDict(frozen=True)

    name: str
    draft: str
    target: str
    description: str


LOCAL_PROFILES: Registry[LocalProfile] = Registry(
    "profile",
    {
        "default": LocalProfile(
            name="default",
            draft="qwen2.5-coder-0.5b-instruct",
            target="qwen2.5-coder-1.5b-instruct",
            description="Qwen2.5-Coder 0.5B drafts, 1.5B judges and corrects (1.6 GB download)",
        ),
        "smol-qwen": LocalProfile(
            name="smol-qwen",
            draft="smollm2-135m-instruct",
            target="qwen2.5-coder-1.5b-instruct",
            description="SmolLM2-135M drafts, Qwen2.5-Coder 1.5B judges and corrects (step-level "
            "speculation needs no shared tokenizer)",
        ),
        "tiny": LocalProfile(
            name="tiny",
            draft="smollm2-135m-instruct",
            target="smollm2-135m-instruct",
            description="SmolLM2-135M in both roles: fast, weak; for tests and demos (98 MB)",
        ),
    },
)


def get_profile(name: str) -> LocalProfile:
    """The profile called ``name``, or a `UserError` listing the known ones."""
    return LOCAL_PROFILES.get(name)
