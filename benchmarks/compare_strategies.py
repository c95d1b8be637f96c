"""Side-by-side wall-clock of strategies on GSM8K items, same servers, same run.

A first measurement for the core issue, not the benchmark harness (that is ``spec-graph bench``,
a later issue). Modes are interleaved per question, and each server gets a small untimed
warm-up request before every timed run (llama.cpp's greedy output depends on cache state).

    python benchmarks/compare_strategies.py --profile default --limit 5 --offset 0 \
        --out benchmarks/results/core_compare_default.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import time
from pathlib import Path

from spec_graph import (
    EmbeddedModels,
    OpenAICompatibleBackend,
    ReasoningConfig,
    SamplingConfig,
    SpeculativeReasoner,
)
from spec_graph.prompts import problem_messages

GREEDY = SamplingConfig(temperature=0.0)


def _number(text: str | None) -> float | None:
    if not text:
        return None
    found = re.findall(r"-?\d[\d,]*\.?\d*", text)
    if not found:
        return None
    try:
        return float(found[-1].replace(",", "").rstrip("."))
    except ValueError:
        return None


async def _warm(reasoner: SpeculativeReasoner) -> None:
    for backend in {
        id(reasoner.draft): reasoner.draft,
        id(reasoner.target): reasoner.target,
    }.values():
        await backend.generate(
            problem_messages("Say hi."), prefix="", max_tokens=2, stop=[], sampling=GREEDY
        )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--profile", default="default")
    parser.add_argument("--data", default="../shared/data/gsm8k_dev.jsonl")
    parser.add_argument("--limit", type=int, default=5)
    parser.add_argument("--offset", type=int, default=0)
    parser.add_argument("--modes", default="target-only,specreason,draft-only")
    parser.add_argument("--threshold", type=float, default=7.0)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    rows = [json.loads(line) for line in Path(args.data).read_text().splitlines() if line.strip()]
    items = rows[args.offset : args.offset + args.limit]
    modes = args.modes.split(",")
    config = ReasoningConfig(
        draft_sampling=GREEDY,
        target_sampling=GREEDY,
        threshold=args.threshold,
        token_budget=2048,
        max_steps=40,
    )
    records = []
    with EmbeddedModels(args.profile) as models:
        reasoner = SpeculativeReasoner(
            OpenAICompatibleBackend(models.draft), OpenAICompatibleBackend(models.target), config
        )
        for item in items:
            for mode in modes:
                await _warm(reasoner)
                started = time.perf_counter()
                result = await reasoner.ainvoke(item["question"], strategy=mode)
                wall = time.perf_counter() - started
                got = _number(result.answer)
                correct = got is not None and abs(got - float(item["answer"])) < 1e-6
                t = result.totals
                records.append(
                    {
                        "id": item["id"],
                        "mode": mode,
                        "answer": result.answer,
                        "gold": item["answer"],
                        "correct": correct,
                        "wall_s": round(wall, 2),
                        "steps": t.steps,
                        "acceptance_rate": t.acceptance_rate,
                        "draft_tokens": t.draft_tokens,
                        "target_tokens": t.target_tokens,
                        "judge_s": round(t.judge_s, 2),
                        "draft_s": round(t.draft_s, 2),
                        "correct_s": round(t.correct_s, 2),
                        "stop": result.stop_reason,
                    }
                )
                print(json.dumps(records[-1]), flush=True)
        await reasoner.aclose()
    summary = {}
    for mode in modes:
        mine = [r for r in records if r["mode"] == mode]
        judged = [r["acceptance_rate"] for r in mine if r["acceptance_rate"] is not None]
        summary[mode] = {
            "questions": len(mine),
            "accuracy": sum(r["correct"] for r in mine) / len(mine),
            "mean_wall_s": statistics.mean(r["wall_s"] for r in mine),
            "mean_acceptance": statistics.mean(judged) if judged else None,
        }
    base = summary.get("target-only", {}).get("mean_wall_s")
    for mode in modes:
        if base:
            summary[mode]["speedup_vs_target_only"] = base / summary[mode]["mean_wall_s"]
    print(json.dumps(summary, indent=2))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"summary": summary, "records": records}, indent=2) + "\n")


if __name__ == "__main__":
    asyncio.run(main())
