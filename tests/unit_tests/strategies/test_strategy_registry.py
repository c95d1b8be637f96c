"""The strategy registry, strategy options, and a strategy defined outside the package.

``draft-twice`` below is a judge-free strategy written the way a user would write one: a
`spec_graph.Strategy` subclass built from the shared nodes, registered from this file, with no
edit to the library. It must run through `SpeculativeReasoner`, the chat model and ``bench``.
The fakes (`ScriptedFakeBackend`) replay scripted steps; they test wiring, not models.
"""

from __future__ import annotations

import pytest
from langgraph.runtime import Runtime
from langgraph.types import Command
from pydantic import Field, ValidationError

from spec_graph import (
    ReasoningConfig,
    SpecContext,
    SpecState,
    SpeculativeReasoner,
    Strategy,
    StrategySettings,
    UserError,
    build_graph,
    get_strategy,
    nodes,
    register_strategy,
    strategy_names,
)
from spec_graph.bench.records import ModeSpec, read_records
from spec_graph.bench.runner import BenchItem, RunPlan, run_questions
from spec_graph.state import Candidate
from spec_graph.testing import ScriptedFakeBackend
from spec_graph.usage import Usage

BUILT_IN = ["specreason", "target-only", "draft-only", "scot", "handoff", "best-of-n"]


# -- a strategy of our own, registered from outside the package ------------------------------


class DraftTwiceSettings(StrategySettings):
    """How many times the draft writes each step."""

    tries: int = Field(default=2, ge=2, le=4)


async def draft_twice(state: SpecState, runtime: Runtime[SpecContext]) -> Command[str]:
    """The draft writes the step ``tries`` times; kept when all agree, else the target writes."""
    ctx = runtime.context
    request = nodes.step_request(state, ctx, "draft")
    generations = await ctx.draft.generate_many(request, ctx.options.tries)
    texts = [g.text.strip() for g in generations]
    usage = sum((g.usage for g in generations), Usage())
    candidate = Candidate(text=texts[0], draft=usage)
    if texts[0] and len(set(texts)) == 1:
        step = nodes.draft_step(state, candidate, agreed=True)
        step = step.model_copy(update={"kept_tokens": generations[0].tokens})
        return nodes.keep(state, step, ctx)
    return Command(update={"candidate": candidate}, goto="correct")


class DraftTwice(Strategy):
    """Self-consistency per step, no judge: agreement keeps the draft's step."""

    name = "draft-twice"
    summary = "the draft writes each step twice; the target writes it when they disagree"
    Settings = DraftTwiceSettings
    entries = ("draft",)

    def nodes(self):
        return {
            "draft": (draft_twice, ("draft", "correct", "answer")),
            "correct": (nodes.correct, ("draft", "answer")),
            "answer": (nodes.answer, ()),
        }

    def first_node(self, state, ctx):
        return "draft"

    def next_node(self, state, ctx):
        return "draft"

    def telemetry(self, state):
        steps = state.get("steps", [])
        return {"agreed": sum(bool(s.note.get("agreed")) for s in steps)}


DRAFT_TWICE = DraftTwice()


@pytest.fixture(autouse=True, scope="module")
def _registered():
    """Register ``draft-twice`` the way a user would, for this module's tests only.

    Dropping it afterwards (`unregister_strategy`) keeps other test modules (and their error
    messages listing the known names) unaffected.
    """
    from spec_graph.strategies import unregister_strategy

    assert register_strategy(DRAFT_TWICE) is DRAFT_TWICE
    yield
    unregister_strategy(DRAFT_TWICE.name)
    unregister_strategy("registry-test-twin")


def fakes(draft_steps, target_steps=(), *, replies=()):
    draft = ScriptedFakeBackend("fake-draft", steps=draft_steps)
    target = ScriptedFakeBackend("fake-target", steps=target_steps, replies=replies, answers=["7"])
    return draft, target


# -- the registry -----------------------------------------------------------------------------


def test_the_built_ins_come_first_and_ours_is_listed():
    names = strategy_names()
    assert names[: len(BUILT_IN)] == BUILT_IN
    assert "draft-twice" in names
    assert get_strategy("draft-twice") is DRAFT_TWICE


def test_an_unknown_strategy_is_a_user_error_listing_the_known_ones():
    with pytest.raises(UserError, match="unknown strategy 'fastest'") as caught:
        get_strategy("fastest")
    for name in BUILT_IN:
        assert name in str(caught.value)
    with pytest.raises(ValidationError, match=r"unknown strategy 'fastest'.*specreason"):
        ReasoningConfig(strategy="fastest")
    with pytest.raises(UserError, match="unknown strategy 'fastest'"):
        ReasoningConfig().with_overrides(strategy="fastest")


async def test_an_unknown_strategy_per_call_is_a_user_error():
    reasoner = SpeculativeReasoner(*fakes([]))
    with pytest.raises(UserError, match="unknown strategy"):
        await reasoner.ainvoke("q", strategy="fastest")


@pytest.mark.parametrize(
    ("strategy", "options", "key"),
    [
        ("scot", {"colour": "red"}, "colour"),
        ("scot", {"n": 0}, "n"),
        ("scot", {"n": 9}, "n"),
        ("scot", {"max_chain_tokens": 0}, "max_chain_tokens"),
        ("best-of-n", {"k": "many"}, "k"),
        ("handoff", {"span_tokens": -1}, "span_tokens"),
        ("specreason", {"gate_logprob": 1.0}, "gate_logprob"),
        ("target-only", {"n": 3}, "n"),  # the baselines take no options
        ("draft-twice", {"tries": 1}, "tries"),
    ],
)
def test_a_bad_option_is_an_error_naming_the_key(strategy, options, key):
    # one line naming the offending key, then the keys the strategy knows
    names_it = rf"invalid options for strategy '{strategy}' \({key}: [^;]+; known: "
    with pytest.raises(UserError, match=names_it):
        get_strategy(strategy).options(ReasoningConfig().model_copy(update={"options": options}))
    with pytest.raises(UserError, match=names_it):
        ReasoningConfig().with_overrides(strategy=strategy, options=options)
    with pytest.raises(ValidationError, match=names_it):
        ReasoningConfig(strategy=strategy, options=options)


def test_register_strategy_refuses_a_taken_name_unless_replacing():
    class Impostor(DraftTwice):
        name = "specreason"

    with pytest.raises(UserError, match="'specreason' is already registered"):
        register_strategy(Impostor())
    assert get_strategy("specreason") is not None
    assert type(get_strategy("specreason")).__name__ == "SpecReason"

    class Twin(DraftTwice):
        name = "registry-test-twin"

    first = register_strategy(Twin())
    assert register_strategy(first) is first  # registering the same object again is fine
    with pytest.raises(UserError, match="already registered"):
        register_strategy(Twin())
    second = register_strategy(Twin(), replace=True)
    assert get_strategy("registry-test-twin") is second


def test_register_strategy_refuses_what_is_not_a_named_strategy():
    with pytest.raises(UserError, match="Strategy instance"):
        register_strategy(DraftTwice)  # the class, not an instance
    with pytest.raises(UserError, match="Strategy instance"):
        register_strategy("draft-twice")

    class Nameless(Strategy):
        pass

    with pytest.raises(UserError, match="no name"):
        register_strategy(Nameless())


def test_with_overrides_sends_unknown_keys_to_the_strategy_options():
    config = ReasoningConfig().with_overrides(strategy="scot", n=3)
    assert config.strategy == "scot"
    assert config.options == {"n": 3}
    assert get_strategy("scot").options(config).n == 3
    again = config.with_overrides(max_chain_tokens=99)
    assert again.options == {"n": 3, "max_chain_tokens": 99}  # same strategy: options merge
    with pytest.raises(UserError, match="threshold"):  # SpecReason's setting, not SCoT's
        config.with_overrides(threshold=5)
    other = again.with_overrides(strategy="best-of-n", k=4)
    assert other.options == {"k": 4}  # another strategy: its own defaults
    merged = config.with_overrides(options={"temperature": 0.2}, n=2)
    assert merged.options == {"n": 2, "temperature": 0.2}
    with pytest.raises(UserError, match="nn"):
        ReasoningConfig().with_overrides(strategy="scot", nn=3)


def test_a_strategy_of_our_own_has_its_own_graph():
    graph = DRAFT_TWICE.graph()
    assert graph.name == "spec-graph:draft-twice"
    expected = {"__start__", "draft", "correct", "tools", "answer", "__end__"}  # tools: calls
    assert set(graph.get_graph().nodes) == expected
    assert build_graph("draft-twice").get_graph().nodes.keys() == graph.get_graph().nodes.keys()
    with pytest.raises(UserError, match="no node 'judge'"):
        build_graph("draft-twice", judge=nodes.judge)


# -- our strategy through the reasoner, the chat model and bench ------------------------------


async def test_our_strategy_runs_through_the_reasoner():
    draft, target = fakes(["same", "same", "left", "right", "so \\boxed{3}", "so \\boxed{3}"])
    target.steps.extend(["fixed"])
    config = ReasoningConfig(strategy="draft-twice")
    result = await SpeculativeReasoner(draft, target, config).ainvoke("q")
    assert result.strategy == "draft-twice"
    assert [(s.source, s.text) for s in result.steps] == [
        ("draft", "same"),
        ("target", "fixed"),
        ("draft", "so \\boxed{3}"),
    ]
    assert result.steps[1].rejected_draft == "left"
    assert result.telemetry == {"agreed": 2}
    assert result.totals.judge_calls == 0
    assert target.count("next_token") == 0
    assert draft.count("generate") == 6
    assert result.steps[0].tokens == 1  # one copy counts against the budget
    assert result.answer == "3"


async def test_our_strategy_and_its_options_can_be_chosen_per_call():
    draft, target = fakes(["a \\boxed{1}"] * 3)
    reasoner = SpeculativeReasoner(draft, target)  # default: specreason
    result = await reasoner.ainvoke("q", strategy="draft-twice", tries=3)
    assert result.strategy == "draft-twice"
    assert draft.count("generate") == 3
    assert result.telemetry == {"agreed": 1}
    with pytest.raises(UserError, match="tries"):
        await reasoner.ainvoke("q", strategy="draft-twice", tries=9)


async def test_our_strategy_ends_within_max_steps_and_the_budget():
    never = [f"s{i // 2} w" for i in range(200)]  # every pair agrees, nothing is boxed
    draft, target = fakes(never)
    config = ReasoningConfig(strategy="draft-twice", max_steps=4)
    result = await SpeculativeReasoner(draft, target, config).ainvoke("q")
    assert len(result.steps) == 4
    assert result.stop_reason == "max_steps"
    assert result.answer == "7"


def test_our_strategy_runs_through_the_chat_model():
    # NOTE: needs spec_graph/chat_model.py's side of the refactor (another change in flight).
    from spec_graph import SpeculativeReasoningChatModel

    draft, target = fakes(["Think.", "Think.", "", ""], ["", ""], replies=["It is 4."])
    reasoner = SpeculativeReasoner(
        draft,
        target,
        ReasoningConfig(strategy="draft-twice"),
        graph=DRAFT_TWICE.build(answer=nodes.finish),  # the chat model writes the reply
    )
    model = SpeculativeReasoningChatModel(reasoner=reasoner)
    msg = model.invoke("What is 2+2?")
    assert msg.content == "It is 4."
    assert msg.additional_kwargs["reasoning_content"] == "Think.\n\n"
    assert msg.response_metadata["strategy"] == "draft-twice"
    assert msg.response_metadata["judge_calls"] == 0
    assert target.count("next_token") == 0
    assert target.count("stream_reply") == 1


def test_our_strategy_can_be_chosen_per_call_on_the_chat_model():
    # NOTE: needs spec_graph/chat_model.py's side of the refactor (another change in flight).
    from spec_graph import SpeculativeReasoningChatModel

    draft, target = fakes(["So \\boxed{4}"] * 5, replies=["4.", "4."])
    model = SpeculativeReasoningChatModel(reasoner=SpeculativeReasoner(draft, target))
    msg = model.invoke("2+2?", strategy="draft-twice", options={"tries": 2})
    assert msg.response_metadata["strategy"] == "draft-twice"
    assert msg.additional_kwargs["reasoning_content"] == "So \\boxed{4}\n\n"
    assert draft.count("generate") == 2
    # the strategy's own setting as a plain keyword, like any reasoning setting
    msg = model.invoke("2+2?", strategy="draft-twice", tries=3)
    assert msg.response_metadata["strategy"] == "draft-twice"
    assert draft.count("generate") == 2 + 3
    assert target.count("next_token") == 0


def test_bench_parses_a_mode_of_our_strategy():
    mode = ModeSpec.parse("draft-twice tries=3 max_steps=5")
    assert (mode.name, mode.strategy) == ("draft-twice tries=3 max_steps=5", "draft-twice")
    config = mode.config(ReasoningConfig())
    assert (config.strategy, config.max_steps) == ("draft-twice", 5)
    assert get_strategy("draft-twice").options(config) == DraftTwiceSettings(tries=3)
    with pytest.raises(UserError, match="tries"):
        ModeSpec.parse("draft-twice tries=9")
    with pytest.raises(UserError, match="KEY=VALUE"):
        ModeSpec.parse("draft-twice n=2")  # SCoT's option, not ours


async def test_our_strategy_runs_through_bench(tmp_path):
    draft = ScriptedFakeBackend("fake-draft", steps=["So \\boxed{2}."] * 20)
    target = ScriptedFakeBackend("fake-target", steps=["So \\boxed{2}."] * 20, scores=[9] * 20)
    reasoner = SpeculativeReasoner(draft, target)
    items = [BenchItem(id=f"q{i}", question=f"What is {i} + 1?", answer=str(i + 1)) for i in (0, 1)]
    plan = RunPlan(
        items=items,
        modes=[ModeSpec.parse("draft-twice"), ModeSpec.parse("specreason gate_logprob=none")],
        base=ReasoningConfig(),
        draft_model=draft.model_name,
        target_model=target.model_name,
        warmup=False,
    )
    raw = tmp_path / "raw.jsonl"
    records = await run_questions(reasoner, plan, raw)
    assert [(r.id, r.mode) for r in records] == [
        ("q0", "draft-twice"),
        ("q0", "specreason gate_logprob=none"),
        ("q1", "draft-twice"),
        ("q1", "specreason gate_logprob=none"),
    ]
    assert [r.correct for r in records] == [False, False, True, True]  # gold 1, then 2
    ours = records[0]
    assert ours.error is None
    assert ours.totals is not None
    assert ours.totals.judge_calls == 0
    assert ours.totals.draft_tokens == 4  # two agreeing copies of one step
    assert [s.source for s in ours.steps] == ["draft"]
    assert records[1].totals.judge_calls == 1
    assert len(read_records(raw)) == 4
    assert plan.key(plan.modes[0]) != plan.key(plan.modes[1])
