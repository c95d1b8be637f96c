"""Judge quality from benchmark records: AUROC with 95% intervals per judge formulation.

Every judged step in a ``spec-graph bench`` raw file has the judge's 0-9 score and, as its
label, whether its question ended correct (a chain that ends wrong holds at least one bad
step; a weak, question-level label). This pools the judged steps of every SpecReason mode
in the given runs by judge formulation (the mode's ``judge``, default ``yesno``), and for
confidence-gated modes also scores the *combined* decision: a step the gate kept without a
judge call counts as a 9 (kept), so the AUROC says how well gate-then-judge separates the
steps of right and wrong chains. Intervals resample questions, not steps.

    python benchmarks/judge_auroc.py benchmarks/results/frontier-tune/raw.jsonl \
        benchmarks/results/frontier-report/raw.jsonl --out benchmarks/results/judge_auroc.json

It reads records only; nothing is run.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from spec_graph.bench.records import ModeSpec, QuestionRecord, read_records
from spec_graph.bench.report import UNSCORED
from spec_graph.bench.stats import auroc, auroc_interval
from spec_graph.config import ReasoningConfig
from spec_graph.errors import UserError

KEPT = 9.0
"""Score given to a step the confidence gate kept without asking the judge."""


def _group(record: QuestionRecord) -> tuple[str, bool] | None:
    """(judge formulation, gated) of a SpecReason mode; None for other strategies."""
    try:
        spec = ModeSpec.parse(record.mode)
    except UserError:  # a strategy registered only by the run that wrote the record
        return None
    if spec.strategy != "specreason":
        return None
    config = spec.config(ReasoningConfig())
    return config.strategy_settings.judge_prompt, config.options.get("gate_logprob") is not None


def rows(records: list[QuestionRecord]) -> list[dict[str, object]]:
    """One row per (judge, gated) group: steps, questions, AUROC and its interval."""
    pooled: dict[tuple[str, bool], tuple[list[float], list[bool], list[str]]] = {}
    for r in records:
        group = _group(r)
        if group is None or r.error is not None:
            continue
        scores, labels, ids = pooled.setdefault(group, ([], [], []))
        for step in r.steps:
            gated = group[1] and step.source == "draft" and not step.judged
            if not (step.judged or gated):
                continue
            scores.append(KEPT if gated else (UNSCORED if step.score is None else step.score))
            labels.append(r.correct)
            ids.append(r.id)  # a question (over all its modes) is one resampling unit
    out: list[dict[str, object]] = []
    for (judge, gated), (scores, labels, ids) in sorted(pooled.items()):
        interval = auroc_interval(scores, labels, ids)
        out.append(
            {
                "judge": judge,
                "scored": "gate, then judge" if gated else "judge",
                "steps": len(scores),
                "steps_of_correct_chains": sum(labels),
                "questions": len(set(ids)),
                "auroc": auroc(scores, labels),
                "auroc_95": interval,
            }
        )
    return out


def markdown(table: list[dict[str, object]]) -> str:
    """The rows as a GitHub table."""
    lines = [
        "| judge | scored | steps (of correct chains) | questions | AUROC | 95% interval |",
        "|---|---|---|---|---|---|",
    ]
    for row in table:
        value = row["auroc"]
        interval = row["auroc_95"]
        lines.append(
            f"| {row['judge']} | {row['scored']} | {row['steps']} "
            f"({row['steps_of_correct_chains']}) | {row['questions']} | "
            + (f"{value:.3f}" if isinstance(value, float) else "-")
            + " | "
            + (f"[{interval[0]:.3f}, {interval[1]:.3f}]" if interval else "-")  # type: ignore[index]
            + " |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("raw", type=Path, nargs="+", help="bench raw.jsonl files")
    parser.add_argument("--out", type=Path, default=None, help="write the rows as JSON here")
    args = parser.parse_args()
    records = [r for path in args.raw for r in read_records(path)]
    table = rows(records)
    print(markdown(table), end="")
    if args.out:
        data = {"sources": [str(p) for p in args.raw], "label": "question correct", "rows": table}
        args.out.write_text(json.dumps(data, indent=2) + "\n")


if __name__ == "__main__":
    main()
