"""`spec-graph bench` end to end on the real tiny model: 2 questions, every output, resume."""

from __future__ import annotations

import json
from pathlib import Path

from spec_graph.bench.records import read_records
from spec_graph.cli import run

DATA = Path(__file__).resolve().parents[2] / "data" / "gsm8k_sample.jsonl"


def test_bench_smoke_two_questions_then_resume(tiny, tmp_path, capsys):
    out = tmp_path / "bench"
    argv = [
        "bench", "--data", str(DATA), "--limit", "2", "--out", str(out),
        "--draft-url", tiny.draft.base_url, "--draft-model", tiny.draft.model,
        "--target-url", tiny.target.base_url, "--target-model", tiny.target.model,
        "--token-budget", "160", "--max-steps", "4",
    ]  # fmt: skip
    assert run(argv) == 0
    records = read_records(out / "raw.jsonl")
    assert sorted((r.id, r.mode) for r in records) == sorted(
        (q, m)
        for q in ("gsm8k-test-0", "gsm8k-test-1")
        for m in ("target-only", "draft-only", "specreason")
    )
    assert all(r.error is None and r.totals is not None and r.wall_s > 0 for r in records)
    spec = [r for r in records if r.mode == "specreason"]
    assert sum(r.totals.judge_calls for r in spec) > 0
    summary = json.loads((out / "summary.json").read_text())
    modes = {m["mode"]: m for m in summary["modes"]}
    assert set(modes) == {"target-only", "draft-only", "specreason"}
    assert modes["target-only"]["speedup"] == 1.0
    assert modes["specreason"]["speedup"] > 0
    assert summary["projections"], "the GPU projection is part of the summary"
    table = (out / "results.md").read_text()
    assert "| specreason |" in table
    assert "| specreason |" in capsys.readouterr().out
    for name in ("accuracy_vs_latency.png", "node_time.png", "judge_scores.png"):
        assert (out / name).stat().st_size > 1000, name

    # A rerun with the same settings finds every (question, mode) done and runs nothing.
    size = (out / "raw.jsonl").stat().st_size
    assert run(argv) == 0
    assert (out / "raw.jsonl").stat().st_size == size
