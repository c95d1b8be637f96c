"""The chat model on scripted *fake* backends, shared by this folder's tests."""

from __future__ import annotations

from spec_graph import (
    ReasoningConfig,
    SpeculativeReasoner,
    SpeculativeReasoningChatModel,
    build_graph,
    nodes,
)
from spec_graph.testing import ScriptedFakeBackend

SPECREASON = ReasoningConfig(strategy="specreason", options={"gate_logprob": None})  # judge all
"""These tests script SpecReason's judge calls, whatever the package's default strategy is."""


def fake_model(
    *,
    steps=("Think one.", "Think two.", ""),
    scores=(9, 2),
    target_steps=("Fixed two.", ""),
    replies=("The answer is 4.",),
    **kw,
):
    """A chat model over fakes: (model, draft, target); two steps kept, then ``replies``."""
    draft = ScriptedFakeBackend("fake-draft", steps=steps)
    target = ScriptedFakeBackend("fake-target", steps=target_steps, scores=scores, replies=replies)
    reasoner = SpeculativeReasoner(
        draft, target, SPECREASON, graph=build_graph(answer=nodes.finish)
    )
    return SpeculativeReasoningChatModel(reasoner=reasoner, **kw), draft, target
