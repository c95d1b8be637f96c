"""`StepLevelStrategy`: one node table and warm-up routing for draft -> check -> correct.

Also: the shared nodes read a strategy's settings only through their own settings models
(`spec_graph.nodes.settings`), never by attribute name, and the strategies' state schemas
live with them.
"""

from __future__ import annotations

import ast
import importlib
import sys
from pathlib import Path
from typing import get_type_hints

import pytest

from spec_graph import ReasoningConfig, SpeculativeReasoner, nodes
from spec_graph.nodes.settings import GatedSettings, PipelinedSettings
from spec_graph.strategies import (
    BestOfN,
    SpecReason,
    StepLevelStrategy,
    StrategySettings,
    get_strategy,
    register_strategy,
    unregister_strategy,
)
from spec_graph.testing import ScriptedFakeBackend

AFTER = ("draft", "correct", "answer")


def test_specreason_and_best_of_n_share_the_step_level_table():
    spec = {n: dests for n, (_, dests) in SpecReason().nodes().items()}
    assert spec == {
        "draft": ("judge", *AFTER),
        "judge": AFTER,
        "correct": AFTER,
        "answer": (),
    }
    assert SpecReason().nodes()["judge"][0] is nodes.judge
    best = {n: dests for n, (_, dests) in BestOfN().nodes().items()}
    assert best == {
        "draft": ("select", "correct"),
        "select": AFTER,
        "correct": AFTER,
        "answer": (),
    }
    assert BestOfN().nodes()["draft"][0] is nodes.draft_candidates
    for strategy in (SpecReason(), BestOfN()):
        assert isinstance(strategy, StepLevelStrategy)
        assert strategy.entries == ("draft", "correct")


async def _trusting_check(state, runtime):
    candidate = state["candidate"]
    return await nodes.decide(
        state, runtime, candidate.model_copy(update={"score": 9.0, "judged": True})
    )


class Trusting(StepLevelStrategy):
    name = "step-level-test-trusting"
    summary = "every draft step is accepted by a free check"
    check_node = staticmethod(_trusting_check)


class LooseSettings(StrategySettings):
    """Settings whose names match the shared nodes' knobs, without opting in to them."""

    gate_logprob: float | None = 0.0
    temperature: float = 1.9
    pipeline: bool = True
    threshold: float = 0.0


class Loose(StepLevelStrategy):
    name = "step-level-test-loose"
    summary = "names like SpecReason's settings, which the nodes must not read"
    Settings = LooseSettings


@pytest.fixture(scope="module", autouse=True)
def _registered():
    register_strategy(Trusting())
    register_strategy(Loose())
    yield
    unregister_strategy(Trusting.name)
    unregister_strategy(Loose.name)


async def test_a_new_step_level_strategy_is_one_check_node():
    draft = ScriptedFakeBackend("fake-draft", steps=["a", "b \\boxed{2}"])
    target = ScriptedFakeBackend("fake-target")
    result = await SpeculativeReasoner(
        draft, target, ReasoningConfig(strategy=Trusting.name)
    ).ainvoke("q")
    assert [s.source for s in result.steps] == ["draft", "draft"]
    assert target.count("next_token") == 0
    assert result.strategy == Trusting.name


async def test_the_warm_up_is_written_by_the_target():
    draft = ScriptedFakeBackend("fake-draft", steps=["b \\boxed{2}"])
    target = ScriptedFakeBackend("fake-target", steps=["a"])
    config = ReasoningConfig(strategy=Trusting.name, warmup_steps=1)
    result = await SpeculativeReasoner(draft, target, config).ainvoke("q")
    assert [s.source for s in result.steps] == ["target", "draft"]


async def test_nodes_never_read_settings_by_attribute_name():
    assert not isinstance(LooseSettings(), GatedSettings | PipelinedSettings)
    # every token certain: a gate of 0.0 would keep it unjudged, if the node read the name
    draft = ScriptedFakeBackend("fake-draft", steps=["x"], step_logprobs=[[0.0]])
    target = ScriptedFakeBackend("fake-target", scores=[5], steps=["y \\boxed{1}"], answers=["1"])
    result = await SpeculativeReasoner(draft, target, ReasoningConfig(strategy=Loose.name)).ainvoke(
        "q"
    )
    (step,) = result.steps
    assert step.judged
    assert "gated" not in step.note
    assert step.source == "target"  # 5 < the default threshold 8 (not Loose's "threshold" 0)
    assert draft.count("generate") == 1  # nothing pipelined either
    sampled = [c.request.sampling.temperature for c in draft.calls if c.kind == "generate"]
    assert sampled == [0.0]  # the run's draft sampling, not Loose's "temperature"


def test_the_strategies_own_their_state_schemas():
    from spec_graph.strategies.best_of_n import BestOfNState, CandidatesState
    from spec_graph.strategies.scot import ChainsState, DraftChain, SCoTState

    assert get_type_hints(ChainsState).items() <= get_type_hints(SCoTState).items()
    assert get_type_hints(CandidatesState).items() <= get_type_hints(BestOfNState).items()
    assert "drafts" in get_type_hints(SCoTState)
    assert "candidates" in get_type_hints(BestOfNState)
    assert DraftChain.model_fields.keys() >= {"text", "usage"}
    assert get_strategy("scot").State is SCoTState


def test_nodes_import_nothing_from_the_strategies():
    package = Path(nodes.__file__).parent
    for path in package.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert not node.module.startswith("spec_graph.strategies"), path.name


def test_strategies_have_no_speed_bound_of_their_own():
    assert not hasattr(SpecReason(), "bound")


@pytest.mark.parametrize(
    ("old", "new", "name"),
    [
        ("spec_graph.strategies._base", "spec_graph.strategies.base", "Strategy"),
        ("spec_graph.nodes._context", "spec_graph.nodes.context", "SpecContext"),
    ],
)
def test_the_contract_modules_have_public_names(old, new, name):
    sys.modules.pop(old, None)
    with pytest.warns(DeprecationWarning, match=new.replace(".", r"\.")):
        module = importlib.import_module(old)
    assert getattr(module, name) is getattr(importlib.import_module(new), name)
