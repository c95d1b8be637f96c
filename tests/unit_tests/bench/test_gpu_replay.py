"""benchmarks/gpu_replay.py: the replay's arithmetic, its labels, and (opt-in) the measurement.

The script is loaded from its path (it is a standalone file, not part of the package). The
replay is pure Python; the measurement needs torch and transformers, which are not test
dependencies, so its test is opt-in (``-m slow``) and skips where they are missing.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = ROOT / "benchmarks" / "gpu_replay.py"
TRACES = ROOT / "benchmarks" / "results" / "gsm8k30-strategies" / "raw.jsonl"


@pytest.fixture(scope="module")
def gr() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gpu_replay", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["gpu_replay"] = module  # dataclasses resolve their module by name
    spec.loader.exec_module(module)
    return module


# Latencies with round numbers: prefill/judge rise 0.1 ms per new token on the target and
# 0.01 ms on the draft, from their 1-token cost.
LATENCIES: dict[str, Any] = {
    "kind": "gpu-latencies",
    "shape": "reference",
    "device": "cuda",
    "device_name": "Test GPU",
    "models": {
        "target": {
            "name": "Qwen2.5-32B",
            "params": 32_000_000_000,
            "decode_ms_per_token": {"1": 20.0},
            "prefill_ms": {"1": 20.0, "101": 30.0},
            "judge_ms": {"1": 21.0, "101": 31.0},
        },
        "draft": {
            "name": "Qwen2.5-1.5B",
            "params": 1_500_000_000,
            "decode_ms_per_token": {"1": 2.0, "2": 2.5},
            "prefill_ms": {"1": 2.0, "101": 3.0},
        },
    },
}


def _totals(**fields: Any) -> dict[str, Any]:
    base = {
        "steps": 0,
        "draft_steps": 0,
        "target_steps": 0,
        "judged_steps": 0,
        "accepted_steps": 0,
        "rejected_steps": 0,
        "acceptance_rate": None,
        "gated_steps": 0,
        "draft_tokens": 0,
        "target_tokens": 0,
        "draft_prompt_tokens": 0,
        "target_prompt_tokens": 0,
        "cached_prompt_tokens": 0,
        "judge_calls": 0,
        "judge_prompt_tokens": 0,
        "judge_cached_tokens": 0,
        "draft_s": 0.0,
        "judge_s": 0.0,
        "correct_s": 0.0,
        "answer_s": 0.0,
        "wall_s": 1.0,
    }
    return {**base, **fields}


def _step(source: str, judged: bool, tokens: int, score: float | None = None) -> dict[str, Any]:
    return {"source": source, "judged": judged, "score": score, "tokens": tokens}


def _record(mode: str, totals: dict[str, Any], steps: list[dict[str, Any]], **extra: Any):
    return {
        "id": extra.pop("id", "q1"),
        "mode": mode,
        "settings_key": "k",
        "gold": "1",
        "answer": "1",
        "correct": extra.pop("correct", True),
        "wall_s": extra.pop("wall_s", 10.0),
        "stop_reason": "boxed",
        "totals": totals,
        "steps": steps,
        "telemetry": extra.pop("telemetry", {}),
        "error": None,
    }


# target-only: 2 target steps, 50 tokens, 300 prompt tokens of which 200 cached.
#   2 calls x prefill(100 new / 2 = 50) = 2 x (20 + 0.1 * 49) = 49.8 ms
#   (50 - 2) tokens decoded x 20 ms      = 960 ms                      -> 1.0098 s
TARGET_ONLY = _record(
    "target-only",
    _totals(target_steps=2, target_tokens=50, target_prompt_tokens=300, cached_prompt_tokens=200),
    [_step("target", False, 30), _step("target", False, 20)],
    wall_s=20.0,
)
# specreason: a kept draft step and a rejected one the target rewrote (2 draft calls).
#   draft prompt 200 (100 cached), judge prompt 400 (200 cached), correction prompt 100
#   (50 cached): lumped cache 150 splits 100/50 in proportion 200:100.
#   draft:  2 x prefill(50) = 2 x (2 + 0.01 * 49) = 4.98 ms; (55 - 2) x 2 ms = 106 ms
#   judge:  2 x judge(100)  = 2 x (21 + 0.1 * 99) = 61.8 ms
#   target: 1 x prefill(50) = 24.9 ms;                (20 - 1) x 20 ms = 380 ms
#   total 577.68 ms
SPECREASON = _record(
    "specreason",
    _totals(
        draft_steps=1,
        target_steps=1,
        judged_steps=2,
        draft_tokens=55,
        target_tokens=20,
        draft_prompt_tokens=200,
        target_prompt_tokens=500,
        cached_prompt_tokens=350,
        judge_calls=2,
        judge_prompt_tokens=400,
        judge_cached_tokens=200,
    ),
    [_step("draft", True, 30, 9.0), _step("target", True, 20, 2.0)],
    correct=False,
    wall_s=40.0,
)


def test_replay_record_matches_the_hand_computed_seconds(gr: ModuleType) -> None:
    lat = gr.Latencies.from_json(LATENCIES)

    base = gr.replay_record(TARGET_ONLY, lat)
    assert base["total_s"] == pytest.approx(1.0098)
    assert base["target_prefill_s"] == pytest.approx(0.0498)
    assert base["target_decode_s"] == pytest.approx(0.960)
    assert base["target_calls"] == 2

    spec = gr.replay_record(SPECREASON, lat)
    assert spec["draft_calls"] == 2
    assert spec["judge_calls"] == 2
    assert spec["target_calls"] == 1
    assert spec["draft_prefill_s"] == pytest.approx(0.00498)
    assert spec["draft_decode_s"] == pytest.approx(0.106)
    assert spec["judge_s"] == pytest.approx(0.0618)
    assert spec["target_prefill_s"] == pytest.approx(0.0249)
    assert spec["target_decode_s"] == pytest.approx(0.380)
    assert spec["total_s"] == pytest.approx(0.57768)

    # A fixed per-call overhead adds (2 + 2 + 1) calls x 1 ms.
    assert gr.replay_record(SPECREASON, lat, per_call_overhead_ms=1.0)["total_s"] == (
        pytest.approx(0.58268)
    )


def test_replay_speedup_and_accuracy_per_mode(gr: ModuleType) -> None:
    lat = gr.Latencies.from_json(LATENCIES)
    orphan = _record("specreason", SPECREASON["totals"], SPECREASON["steps"], id="q2")
    failed = {**_record("target-only", TARGET_ONLY["totals"], [], id="q3"), "error": "boom"}
    result = gr.replay([TARGET_ONLY, SPECREASON, orphan, failed], lat, draft="d", target="t")

    modes = {m["mode"]: m for m in result["modes"]}
    spec = modes["specreason"]
    assert spec["questions"] == 1  # q2 has no baseline record to compare against
    assert spec["replay_mean_s"] == pytest.approx(0.57768)
    assert spec["replay_speedup"] == pytest.approx(1.0098 / 0.57768)
    assert spec["accuracy"] == 0.0  # copied from the record, never recomputed
    assert spec["cpu_mean_wall_s"] == 40.0
    assert spec["cpu_speedup"] == pytest.approx(0.5)
    assert modes["target-only"]["replay_speedup"] == pytest.approx(1.0)
    assert modes["target-only"]["accuracy"] == 1.0
    assert result["excluded_records"] == 1
    assert result["label"] == (
        "replay: GPU kernel latencies measured on Test GPU with randomly initialised "
        "Qwen2.5-32B/1.5B shapes; step and token traces from the CPU benchmark of the small "
        "pair (d/t); not an end-to-end GPU run"
    )


def test_scot_decodes_its_longest_chain_in_one_batched_call(gr: ModuleType) -> None:
    lat = gr.Latencies.from_json(LATENCIES)
    record = _record(
        "scot n=2",
        _totals(draft_steps=1, draft_tokens=22, judge_calls=1),
        [_step("draft", True, 12)],
        telemetry={"drafts": [{"tokens": 10}, {"tokens": 12}], "rethought": False},
    )
    out = gr.replay_record(record, lat)
    assert out["draft_calls"] == 1
    assert out["draft_decode_s"] == pytest.approx(11 * 2.5 / 1000)  # batch 2, longest chain
    assert out["judge_s"] == pytest.approx(0.021)  # no new tokens: a forward's floor


def test_best_of_n_and_handoff_call_counts(gr: ModuleType) -> None:
    lat = gr.Latencies.from_json(LATENCIES)
    best = _record(
        "best-of-n k=2",
        _totals(draft_steps=2, draft_tokens=80, judge_calls=2),
        [_step("draft", True, 20), _step("draft", True, 20)],
    )
    out = gr.replay_record(best, lat)
    assert out["draft_calls"] == 2
    assert out["draft_decode_s"] == pytest.approx((80 / 2 - 2) * 2.5 / 1000)
    handoff = _record(
        "handoff",
        _totals(draft_steps=2, target_steps=2, draft_tokens=30, target_tokens=10),
        [_step("draft", False, 10), _step("target", False, 5)] * 2,
        telemetry={"handoffs": 2, "by_cue": 1, "by_low_confidence": 1},
    )
    out = gr.replay_record(handoff, lat)
    assert out["draft_calls"] == 3  # two kept steps and the discarded cue step
    assert out["target_calls"] == 2


def test_unmodelled_settings_are_flagged_on_their_row(gr: ModuleType) -> None:
    lat = gr.Latencies.from_json(LATENCIES)
    piped = _record("specreason pipeline=true", TARGET_ONLY["totals"], [])
    result = gr.replay([TARGET_ONLY, piped], lat)
    rows = {m["mode"]: m for m in result["modes"]}
    assert rows["target-only"]["caveats"] == []
    assert rows[piped["mode"]]["caveats"] == [
        "pipelined drafting replayed without overlap (errs slow)"
    ]
    assert "pipelined drafting replayed without overlap" in gr.to_markdown(result)
    assert gr.caveats("specreason pipeline=false") == []


def test_interpolation_floor_and_extrapolation(gr: ModuleType) -> None:
    points = {1: 10.0, 11: 11.0, 21: 13.0}
    assert gr.interpolate(points, 0.5) == 10.0
    assert gr.interpolate(points, 6) == pytest.approx(10.5)
    assert gr.interpolate(points, 16) == pytest.approx(12.0)
    assert gr.interpolate(points, 31) == pytest.approx(15.0)  # last segment's slope
    assert gr.linear_fit({0: 1.0, 10: 3.0})["b_ms_per_token"] == pytest.approx(0.2)


def test_replay_of_the_committed_benchmark_is_labelled(gr: ModuleType, tmp_path: Path) -> None:
    latencies = tmp_path / "latencies.json"
    latencies.write_text(json.dumps(LATENCIES))
    out = tmp_path / "replay"
    assert (
        gr.main(
            ["replay", "--latencies", str(latencies), "--traces", str(TRACES), "--out", str(out)]
        )
        == 0
    )

    result = json.loads((out / "replay.json").read_text())
    label = result["label"]
    assert label.startswith("replay: GPU kernel latencies measured on Test GPU")
    assert "(qwen2.5-coder-0.5b-instruct/qwen2.5-coder-1.5b-instruct)" in label
    assert label.endswith("not an end-to-end GPU run")
    assert (out / "replay.md").read_text().startswith(f"# {label}\n")
    modes = {m["mode"]: m for m in result["modes"]}
    assert len(modes) == 8
    assert modes["target-only"]["replay_speedup"] == pytest.approx(1.0)
    for m in modes.values():
        assert m["questions"] >= 22
        assert m["replay_mean_s"] > 0
        assert 0.0 <= m["accuracy"] <= 1.0


@pytest.mark.slow
def test_tiny_measurement_on_cpu_feeds_the_replay(gr: ModuleType, tmp_path: Path) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    out = tmp_path / "all"
    argv = ["all", "--shape", "tiny", "--device", "cpu", "--traces", str(TRACES), "--out", str(out)]
    assert gr.main(argv) == 0

    lat = json.loads((out / "latencies.json").read_text())
    assert lat["shape"] == "tiny"
    assert lat["truncated"] is False
    for role in ("target", "draft"):
        model = lat["models"][role]
        assert model["finite_logits"] is True
        assert set(model["prefill_ms"]) == {"1", "8", "32"}
        assert all(v > 0 for v in model["decode_ms_per_token"].values())
        assert all(v > 0 for v in model["prefill_ms"].values())
    assert set(lat["models"]["draft"]["decode_ms_per_token"]) == {"1", "2", "3"}
    assert set(lat["models"]["target"]["judge_ms"]) == {"1", "8", "32"}
    label = json.loads((out / "replay.json").read_text())["label"]
    assert "tiny test shapes" in label  # a tiny run never reads as the reference shapes
    assert "not an end-to-end GPU run" in label
