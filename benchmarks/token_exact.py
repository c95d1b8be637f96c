"""Does SpecReason with every step rejected give the target's own output? Count the questions.

With every draft step rejected, the target writes every step, so the chain should be exactly
what ``target-only`` writes (greedy decoding). Each step is a new request, though: unless the
backend continues from the target's own token ids, the assistant prefix is re-tokenized from
text and the chain can drift at the step delimiter. This script runs, per question,
``target-only`` and then ``specreason`` with a judge that really calls the target (the same
requests, the same prefix-cache traffic) and rejects every step (confidence gating off),
and counts the questions whose chains (step texts) and answers differ. ``target-only`` runs
twice, and the second (warm, like the SpecReason run after it) is the one compared; the
first (cold) is compared with it too, which measures what llama.cpp's prompt cache alone
changes.

    python benchmarks/token_exact.py --data gsm8k-dev --offset 300 --limit 50 \
        --profile default --token-budget 256 --out benchmarks/results/token-exact/after.jsonl

Each question is one JSON line in ``--out`` (resumed: questions already there are skipped);
the counts are printed at the end. Every server gets a small untimed warm-up request before
each (question, mode), as in ``spec-graph bench``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spec_graph import EmbeddedModels, ReasoningConfig, SamplingConfig, SpeculativeReasoner
from spec_graph.backends.base import GenerateRequest
from spec_graph.bench.datasets import resolve_dataset
from spec_graph.judging import default_judge

GREEDY = SamplingConfig(temperature=0.0)
RUNS = (
    ("target-only-cold", "target-only"),
    ("target-only", "target-only"),
    ("specreason", "specreason"),
)
"""Per question, in this order: (name, strategy)."""
WARMUP = GenerateRequest(messages=[{"role": "user", "content": "Say OK."}], max_tokens=2)


@dataclass(frozen=True)
class RejectEveryStep:
    """The run's own judge, really called (same requests, same cache traffic), then ignored."""

    name: str = "reject-every-step"

    async def ascore(self, view: Any, ctx: Any) -> Any:
        verdict = await default_judge(ctx.config).ascore(view, ctx)
        return verdict.model_copy(update={"score": None})  # no verdict: rejected


def chain_tokens(result: Any) -> list[int] | None:
    """The chain's token ids, when every step carries them (None on code without them)."""
    ids: list[int] = []
    for step in result.steps:
        tokens = getattr(step, "token_ids", None)
        if tokens is None:
            return None
        ids.extend(tokens)
    return ids


def first_difference(a: list[str], b: list[str]) -> int | None:
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return i
    return None if len(a) == len(b) else min(len(a), len(b))


async def run(args: argparse.Namespace) -> None:
    config = ReasoningConfig(
        strategy="specreason",
        draft_sampling=GREEDY,
        target_sampling=GREEDY,
        token_budget=args.token_budget,
        max_step_tokens=args.max_step_tokens,
        max_steps=args.max_steps,
    )
    path = resolve_dataset(args.data)
    items = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    items = items[args.offset : args.offset + args.limit]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    done = set()
    if out.exists():
        done = {json.loads(line)["id"] for line in out.read_text().splitlines() if line.strip()}
    models = EmbeddedModels(args.profile).start()
    reasoner = SpeculativeReasoner.from_endpoints(
        models.draft, models.target, config, judge=RejectEveryStep()
    )
    backends = [reasoner.draft, reasoner.target]
    try:
        for item in items:
            if item["id"] in done:
                continue
            results = {}
            # target-only twice: its first run prefills the question cold; the second, like
            # the SpecReason run after it, reuses llama.cpp's prompt cache
            for run_name, mode in RUNS:
                for backend in backends:
                    await backend.generate(WARMUP)
                options = {"gate_logprob": None} if mode == "specreason" else {}
                results[run_name] = await reasoner.ainvoke(
                    item["question"], strategy=mode, **options
                )
            cold = results["target-only-cold"]
            a, b = results["target-only"], results["specreason"]
            texts_a, texts_b = [s.text for s in a.steps], [s.text for s in b.steps]
            row = {
                "id": item["id"],
                "same_steps": texts_a == texts_b,
                "same_answer": a.answer == b.answer,
                "first_different_step": first_difference(texts_a, texts_b),
                "steps": [len(texts_a), len(texts_b)],
                "target_written": sum(s.source == "target" for s in b.steps),
                "answers": [a.answer, b.answer],
                "same_tokens": None,
                "cold_same_steps": [s.text for s in cold.steps] == texts_a,
                "cold_same_answer": cold.answer == a.answer,
            }
            ta, tb = chain_tokens(a), chain_tokens(b)
            if ta is not None and tb is not None:
                row["same_tokens"] = ta == tb
            with out.open("a") as f:  # noqa: ASYNC230 (one line per question)
                f.write(json.dumps(row) + "\n")
            print(json.dumps(row), flush=True)
    finally:
        await reasoner.aclose()
        models.close()
    rows = [json.loads(line) for line in out.read_text().splitlines() if line.strip()]
    print(
        f"{len(rows)} questions: all-rejected SpecReason vs warm target-only: chains differ on "
        f"{sum(not r['same_steps'] for r in rows)}, answers on "
        f"{sum(not r['same_answer'] for r in rows)}; target-only cold vs warm (llama.cpp's "
        f"prompt cache alone): chains differ on "
        f"{sum(not r.get('cold_same_steps', True) for r in rows)}, answers on "
        f"{sum(not r.get('cold_same_answer', True) for r in rows)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", default="gsm8k-dev", help="a bundled set's name or a GSM8K-style JSONL path"
    )
    parser.add_argument("--offset", type=int, default=0)
    parser.add_argument("--limit", type=int, default=50)
    parser.add_argument("--profile", default="default", help="embedded profile (default, tiny)")
    parser.add_argument("--token-budget", type=int, default=256)
    parser.add_argument("--max-step-tokens", type=int, default=128)
    parser.add_argument("--max-steps", type=int, default=16)
    parser.add_argument("--out", required=True, help="JSONL, one row per question (resumed)")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
