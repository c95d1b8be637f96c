"""Token-level speculative decoding on the target, side by side with plain decoding.

llama.cpp decides draft-model speculation when a server starts, so one run holds two target
servers of the same model: a plain one, and one with the draft model loaded
(``EmbeddedModels(..., target_speculation=N)``). Every question runs every mode on both,
interleaved (plain, then speculative), through the normal bench runner; the speculative
records are renamed ``"<mode> +sd<N>"`` and everything is summarised against the plain
``target-only``, so each ratio comes from one run. Greedy output must not change with
speculation: the run also counts the questions whose answers differ between the two.

    python benchmarks/token_speculation.py --offset 300 --limit 4 --draft-tokens 8 \
        --mode target-only --mode specreason --mode handoff \
        --out benchmarks/results/frontier-sd

Resumes from OUT/raw_plain.jsonl and OUT/raw_sd.jsonl like ``spec-graph bench``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path

from spec_graph import EmbeddedModels, ReasoningConfig, SamplingConfig, SpeculativeReasoner
from spec_graph.bench.datasets import bundled_dataset, resolve_dataset
from spec_graph.bench.markdown import markdown_table
from spec_graph.bench.records import ModeSpec, QuestionRecord
from spec_graph.bench.report import summarize_run, write_summary
from spec_graph.bench.runner import RunPlan, load_items, run_questions

DATA = bundled_dataset("gsm8k-dev")  # GSM8K test items 0-399, shipped in spec_graph/data/
GREEDY = SamplingConfig(temperature=0.0)


async def run(args: argparse.Namespace) -> list[QuestionRecord]:
    base = ReasoningConfig(
        draft_sampling=GREEDY, target_sampling=GREEDY, token_budget=1024, max_steps=32
    )
    modes = [ModeSpec.parse(m) for m in args.mode]
    items = load_items(args.data, limit=args.limit, offset=args.offset)
    with (
        EmbeddedModels(args.profile, n_parallel=2) as plain,
        EmbeddedModels(
            args.profile, roles=("target",), n_parallel=2, target_speculation=args.draft_tokens
        ) as speculative,
    ):
        reasoners = {
            "plain": SpeculativeReasoner.from_endpoints(plain.draft, plain.target, base),
            "sd": SpeculativeReasoner.from_endpoints(plain.draft, speculative.target, base),
        }
        records: dict[str, list[QuestionRecord]] = {"plain": [], "sd": []}
        try:
            for n, item in enumerate(items, 1):
                for name, reasoner in reasoners.items():
                    plan = RunPlan(
                        items=[item],
                        modes=modes,
                        base=base,
                        draft_model=reasoner.draft.model_name,
                        target_model=reasoner.target.model_name,
                        target_speculation=args.draft_tokens if name == "sd" else None,
                    )
                    got = await run_questions(reasoner, plan, args.out / f"raw_{name}.jsonl")
                    records[name] += got
                print(f"question {n}/{len(items)} done", flush=True)
        finally:
            for reasoner in reasoners.values():
                await reasoner.aclose()
    renamed = [
        r.model_copy(update={"mode": f"{r.mode} +sd{args.draft_tokens}"}) for r in records["sd"]
    ]
    return records["plain"] + renamed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data", type=resolve_dataset, default=DATA, help="a bundled set's name or a JSONL file"
    )
    parser.add_argument("--offset", type=int, default=300)
    parser.add_argument("--limit", type=int, default=4)
    parser.add_argument("--profile", default="default")
    parser.add_argument("--draft-tokens", type=int, default=8)
    parser.add_argument("--mode", action="append", default=None)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/frontier-sd"))
    args = parser.parse_args()
    args.mode = args.mode or ["target-only", "specreason", "handoff"]
    if "target-only" not in args.mode:
        parser.error("--mode target-only is the baseline and must be included")
    args.out.mkdir(parents=True, exist_ok=True)
    records = asyncio.run(run(args))
    summary = summarize_run(records)
    write_summary(summary, args.out / "summary.json")
    suffix = f" +sd{args.draft_tokens}"
    answers = {(r.id, r.mode): r.answer for r in records}
    differing = sorted(
        {
            f"{r.id} {r.mode}"
            for r in records
            if not r.mode.endswith(suffix) and answers.get((r.id, r.mode + suffix)) != r.answer
        }
    )
    identity = {"compared": sum(not r.mode.endswith(suffix) for r in records), "differ": differing}
    (args.out / "identity.json").write_text(json.dumps(identity, indent=2) + "\n")
    header = (
        f"Token-level speculative decoding in the target's llama.cpp server (draft model "
        f"proposes up to {args.draft_tokens} tokens), side by side with plain decoding; "
        f"{len({r.id for r in records})} questions from offset {args.offset}, greedy. Answers "
        f"that differ between plain and speculative runs: {len(differing)} of "
        f"{identity['compared']}.\n\n"
    )
    table = header + markdown_table(summary)
    (args.out / "results.md").write_text(table)
    print(table)


if __name__ == "__main__":
    main()
