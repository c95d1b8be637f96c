"""Helpers of the serve tests: a real uvicorn server in a thread, scripted *fake* models."""

from __future__ import annotations

from dataclasses import dataclass

from spec_graph import ReasoningConfig
from spec_graph.serve.runner import running
from spec_graph.testing import ScriptedFakeBackend

__all__ = ["QUESTION", "SPECREASON", "Served", "fake_models", "running"]

SPECREASON = ReasoningConfig(strategy="specreason", options={"gate_logprob": None})
QUESTION = [{"role": "user", "content": "What is 2+2?"}]


@dataclass
class Served:
    """A running server over fake models."""

    url: str
    """The base URL (``http://127.0.0.1:PORT/v1``)."""
    draft: ScriptedFakeBackend
    target: ScriptedFakeBackend

    @property
    def root(self) -> str:
        return self.url.removesuffix("/v1")

    def calls(self) -> int:
        return len(self.draft.calls) + len(self.target.calls)


def fake_models(
    *, steps: int = 2, replies=("The answer is 4.",), delay_s: float = 0.0
) -> tuple[ScriptedFakeBackend, ScriptedFakeBackend]:
    """A fake draft writing ``steps`` steps (all kept by the fake target's judge)."""
    draft = ScriptedFakeBackend(
        "fake-draft", steps=[f"Step {i}." for i in range(steps)] + [""], delay_s=delay_s
    )
    target = ScriptedFakeBackend(
        "fake-target", scores=[9] * steps, replies=replies, delay_s=delay_s
    )
    return draft, target
