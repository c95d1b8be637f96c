"""`spec-graph bench` pieces: grading, mode parsing, item loading, resume, the runner.

The runner tests use `ScriptedFakeBackend` (a fake, named as such): they check bookkeeping
(what is run, skipped, recorded), not model behaviour; the real run is the tiny-profile smoke
test in tests/integration_tests/cli/test_bench_cli.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from spec_graph import ReasoningConfig, SamplingConfig, SpeculativeReasoner
from spec_graph.bench.grading import grade
from spec_graph.bench.records import ModeSpec, QuestionRecord, append_record, read_records
from spec_graph.bench.runner import BenchItem, RunPlan, load_items, run_concurrency, run_questions
from spec_graph.errors import UserError
from spec_graph.testing import ScriptedFakeBackend


@pytest.mark.parametrize(
    ("prediction", "gold", "expected"),
    [
        ("18", "18", True),
        ("\\$18", "18", True),
        ("18.00", "18", True),
        ("\\frac{36}{2}", "18", True),
        ("18 dollars", "18", True),
        ("The answer is 18.", "18", True),
        ("70,000", "70000", True),
        ("17", "18", False),
        ("18.5", "18", False),
        ("", "18", False),
        (None, "18", False),
    ],
)
def test_grade_with_math_verify(prediction, gold, expected):
    assert grade(prediction, gold) is expected


def test_grade_rejects_an_unparsable_gold_answer():
    with pytest.raises(ValueError, match="gold answer"):
        grade("1", "")


def test_mode_spec_parses_strategy_and_settings():
    mode = ModeSpec.parse("specreason judge_prompt=inline threshold=5")
    assert mode.name == "specreason judge_prompt=inline threshold=5"
    config = mode.config(ReasoningConfig())
    settings = config.strategy_settings
    assert (config.strategy, settings.judge_prompt, settings.threshold) == (
        "specreason",
        "inline",
        5,
    )
    with pytest.warns(DeprecationWarning, match="judge_prompt"):  # the earlier name still works
        old = ModeSpec.parse("specreason judge=inline").config(ReasoningConfig())
    assert old.strategy_settings.judge_prompt == "inline"


def test_mode_spec_takes_strategy_options_typed():
    mode = ModeSpec.parse("scot n=3 max_chain_tokens=256")
    config = mode.config(ReasoningConfig())
    assert (config.strategy, config.options) == ("scot", {"n": 3, "max_chain_tokens": 256})
    assert mode.width() == 3
    # the same settings given in code have the same settings key (typed, not strings)
    in_code = ReasoningConfig(strategy="scot", options={"n": 3, "max_chain_tokens": 256})
    assert config == in_code


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("fastest", "unknown strategy"),
        ("specreason threshold", "KEY=VALUE"),
        ("specreason colour=red", "KEY=VALUE"),
        ("scot k=2", "KEY=VALUE"),
        ("scot n=99", "invalid settings"),
        ("specreason threshold=12", "invalid settings"),
        ("specreason judge=oracle", "invalid settings"),
    ],
)
def test_mode_spec_rejects_bad_modes_up_front(text, message):
    with pytest.raises(UserError, match=message):
        ModeSpec.parse(text)


def _write_items(path: Path, n: int) -> Path:
    lines = [
        json.dumps({"id": f"q{i}", "question": f"What is {i} + 1?", "answer": str(i + 1)})
        for i in range(n)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_load_items_limit_offset_seed(tmp_path):
    path = _write_items(tmp_path / "d.jsonl", 10)
    assert [i.id for i in load_items(path, limit=3, offset=2)] == ["q2", "q3", "q4"]
    shuffled = [i.id for i in load_items(path, seed=1)]
    assert sorted(shuffled) == sorted(f"q{i}" for i in range(10))
    assert shuffled != [f"q{i}" for i in range(10)]
    assert shuffled == [i.id for i in load_items(path, seed=1)]


def test_load_items_errors_name_the_line(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "q"}\n')
    with pytest.raises(UserError, match=r"bad\.jsonl:1"):
        load_items(bad)
    with pytest.raises(UserError, match="not found"):
        load_items(tmp_path / "missing.jsonl")
    with pytest.raises(UserError, match="no questions"):
        load_items(_write_items(tmp_path / "d.jsonl", 2), offset=5)


def _record(id_: str, mode: str = "target-only") -> QuestionRecord:
    return QuestionRecord(id=id_, mode=mode, settings_key="k", gold="1", wall_s=1.0)


def test_read_records_skips_a_torn_line_and_append_repairs_it(tmp_path):
    path = tmp_path / "raw.jsonl"
    append_record(path, _record("a"))
    with path.open("a") as f:
        f.write('{"id": "b", "mo')  # killed mid-write
    assert [r.id for r in read_records(path)] == ["a"]
    append_record(path, _record("c"))
    assert [r.id for r in read_records(path)] == ["a", "c"]


def test_read_records_refuses_a_file_that_is_not_a_benchmark(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello\n")
    with pytest.raises(UserError, match="no benchmark records"):
        read_records(path)


def _fake_reasoner() -> tuple[SpeculativeReasoner, ScriptedFakeBackend, ScriptedFakeBackend]:
    # The fake draft writes one boxed step per question; the fake target writes the same.
    draft = ScriptedFakeBackend("fake-draft", steps=["So \\boxed{2}."] * 20)
    target = ScriptedFakeBackend("fake-target", steps=["So \\boxed{2}."] * 20, scores=[9] * 20)
    return SpeculativeReasoner(draft, target), draft, target


def _plan(reasoner: SpeculativeReasoner, n: int, modes: list[str], **base) -> RunPlan:
    items = [
        BenchItem(id=f"q{i}", question=f"What is {i} + 1?", answer=str(i + 1)) for i in range(n)
    ]
    greedy = SamplingConfig(temperature=0)
    return RunPlan(
        items=items,
        modes=[ModeSpec.parse(m) for m in modes],
        base=ReasoningConfig(draft_sampling=greedy, target_sampling=greedy, **base),
        draft_model=reasoner.draft.model_name,
        target_model=reasoner.target.model_name,
        warmup=False,
    )


async def test_run_questions_interleaves_modes_records_and_grades(tmp_path):
    reasoner, _draft, _target = _fake_reasoner()
    plan = _plan(reasoner, 2, ["target-only", "specreason gate_logprob=none"])
    seen: list[tuple[str, str]] = []
    records = await run_questions(
        reasoner, plan, tmp_path / "raw.jsonl", on_record=lambda r, _: seen.append((r.id, r.mode))
    )
    assert seen == [
        ("q0", "target-only"),
        ("q0", "specreason gate_logprob=none"),
        ("q1", "target-only"),
        ("q1", "specreason gate_logprob=none"),
    ]
    assert [r.correct for r in records] == [False, False, True, True]  # gold 1, 2
    spec = records[1]
    assert spec.totals is not None
    assert spec.totals.judge_calls == 1
    assert spec.steps[0].source == "draft"
    assert spec.steps[0].score == 9
    assert spec.first_step_s is not None
    assert 0 < spec.first_step_s <= spec.wall_s
    assert len(read_records(tmp_path / "raw.jsonl")) == 4


async def test_rerun_resumes_and_changed_settings_rerun(tmp_path):
    raw = tmp_path / "raw.jsonl"
    reasoner, _, _ = _fake_reasoner()
    plan = _plan(reasoner, 2, ["target-only", "draft-only"])
    # A first run that stopped after three of four records.
    first = await run_questions(reasoner, plan.model_copy(update={"items": plan.items[:1]}), raw)
    assert len(first) == 2
    reasoner2, _draft2, _target2 = _fake_reasoner()
    seen: list[str] = []
    again = await run_questions(reasoner2, plan, raw, on_record=lambda r, _: seen.append(r.id))
    assert seen == ["q1", "q1"]  # only the unfinished question ran
    assert len(again) == 4
    # Other settings: nothing is reused, the old records stay in the file.
    changed = _plan(reasoner2, 2, ["target-only", "draft-only"], token_budget=99)
    reasoner3, _, _ = _fake_reasoner()
    rerun = await run_questions(reasoner3, changed, raw)
    assert len(rerun) == 4
    assert len(read_records(raw)) == 8


async def test_a_failing_question_is_recorded_as_an_error_and_the_run_goes_on(tmp_path):
    from spec_graph.errors import BackendError

    class FailingFake(ScriptedFakeBackend):
        """A fake that fails on its first generate call."""

        failed = False

        async def generate(self, request):
            if not self.failed:
                self.failed = True
                raise BackendError("fake failure")
            return await super().generate(request)

    target = FailingFake("fake-target", steps=["So \\boxed{2}."] * 5)
    reasoner = SpeculativeReasoner(target, target)
    plan = _plan(reasoner, 2, ["target-only"])
    records = await run_questions(reasoner, plan, tmp_path / "raw.jsonl")
    assert records[0].error == "fake failure"
    assert not records[0].correct
    assert records[1].error is None
    assert records[1].correct


async def test_run_concurrency_reports_each_level(tmp_path):
    reasoner, _, _ = _fake_reasoner()
    plan = _plan(reasoner, 4, ["draft-only"])
    saved = []
    rows = await run_concurrency(
        reasoner, plan, [1, 2], on_row=lambda row, records: saved.append((row, len(records)))
    )
    assert [(r.concurrency, r.questions) for r in rows] == [(1, 4), (2, 4)]
    assert saved == [(rows[0], 4), (rows[1], 4)]  # each level handed over as it finished
    assert all(r.throughput_qps > 0 and r.p95_s >= r.p50_s for r in rows)
    with pytest.raises(UserError, match="at least 1"):
        await run_concurrency(reasoner, plan, [0])
