"""Judge quality: how well each judge formulation separates good draft steps from bad ones.

For each question of a tuning slice of the dev set, the draft writes a whole chain alone
(draft-only, temperature 0). Every step gets two labels:

- ``agree``: the target, given the same prefix, writes its own step (greedy) and ends on the
  same number as the draft's step (or neither step has a number): a step-level label;
- ``final``: the draft chain's final answer is correct (math-verify); a chain that ends wrong
  contains at least one bad step (the label DESIGN.md §8 used).

Then the target judges every step with every formulation in `spec_graph.judges`, on the same
servers, and we report per formulation and label: AUROC of the score, the judge's mean prompt
tokens (new and from the prefix cache) and seconds per call, AUROC gain per second, and
acceptance/precision over thresholds.

    python benchmarks/judge_quality.py --offset 100 --limit 14 \
        --out benchmarks/results/judge_quality.json

Never run it on the questions the benchmark reports (the README's run uses offset 0).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import time
from pathlib import Path

from spec_graph import EmbeddedModels, ReasoningConfig, SamplingConfig, SpeculativeReasoner
from spec_graph.backends import OpenAICompatibleBackend
from spec_graph.bench.grading import grade
from spec_graph.bench.stats import auroc
from spec_graph.judges import JUDGES
from spec_graph.prompts import chain_prefix, problem_messages

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "gsm8k_dev.jsonl"
GREEDY = SamplingConfig(temperature=0.0)


async def main(args: argparse.Namespace) -> None:
    items = [json.loads(line) for line in DATA.read_text().splitlines() if line.strip()]
    items = items[args.offset : args.offset + args.limit]
    config = ReasoningConfig(
        strategy="draft-only", draft_sampling=GREEDY, target_sampling=GREEDY,
        token_budget=args.token_budget, max_steps=args.max_steps,
    )  # fmt: skip
    rows: list[dict] = []
    chains: list[dict] = []
    with EmbeddedModels(args.profile) as models:
        reasoner = SpeculativeReasoner.from_endpoints(models.draft, models.target, config)
        target = OpenAICompatibleBackend(models.target)
        for n, item in enumerate(items):
            result = await reasoner.ainvoke(item["question"])
            correct = grade(result.answer, item["answer"])
            messages = problem_messages(item["question"])
            texts = [s.text for s in result.steps]
            agree = []
            for i, step in enumerate(texts):
                own = await target.generate(
                    messages, prefix=chain_prefix(texts[:i], "\n\n"), max_tokens=256,
                    stop=["\n\n"], sampling=GREEDY,
                )  # fmt: skip
                agree.append(_last_number(own.text) == _last_number(step))
            chains.append({"id": item["id"], "correct": correct, "steps": texts, "agree": agree})
            print(
                f"[{n + 1}/{len(items)}] {item['id']}: {len(texts)} steps, correct={correct}, "
                f"target agrees on {sum(agree)}"
            )
            for name, judge in JUDGES.items():
                for i, step in enumerate(texts):
                    request, prefix = judge.request(messages, texts[:i], step, "\n\n")
                    token = await target.next_token(request, prefix=prefix, top_logprobs=10)
                    rows.append({
                        "id": item["id"], "judge": name, "step": i, "final": correct,
                        "agree": agree[i],
                        "average": judge.score(token.top_logprobs, "average").score,
                        "greedy": judge.score(token.top_logprobs, "greedy").score,
                        "top_token": judge.score(token.top_logprobs, "greedy").top_token,
                        "prompt_tokens": token.prompt_tokens,
                        "cached_tokens": token.cached_tokens, "seconds": token.elapsed_s,
                    })  # fmt: skip
        await reasoner.aclose()
        await target.aclose()
    summary = summarize(rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"args": vars(args) | {"out": str(args.out)},
                                    "summary": summary, "chains": chains, "rows": rows}, indent=1))  # fmt: skip
    for name, s in summary.items():
        print(name, json.dumps(s))


def summarize(rows: list[dict]) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for name in JUDGES:
        mine = [r for r in rows if r["judge"] == name]
        if not mine:
            continue
        avg = [r["average"] if r["average"] is not None else -1.0 for r in mine]
        greedy = [r["greedy"] if r["greedy"] is not None else -1.0 for r in mine]
        seconds = sum(r["seconds"] for r in mine) / len(mine)
        entry: dict = {
            "steps": len(mine), "mean_judge_s": seconds,
            "mean_prompt_tokens": sum(r["prompt_tokens"] for r in mine) / len(mine),
            "mean_cached_tokens": sum(r["cached_tokens"] for r in mine) / len(mine),
            "no_verdict": sum(r["average"] is None for r in mine),
        }  # fmt: skip
        for label in ("agree", "final"):
            labels = [r[label] for r in mine]
            auc = auroc(avg, labels)
            curve = []
            for threshold in range(10):
                kept = [r for r, s in zip(mine, avg, strict=True) if s >= threshold]
                good = [r for r in kept if r[label]]
                curve.append({
                    "threshold": threshold, "acceptance": len(kept) / len(mine),
                    "precision": len(good) / len(kept) if kept else None,
                })  # fmt: skip
            entry[label] = {
                "positives": sum(labels), "auroc_average": auc,
                "auroc_greedy": auroc(greedy, labels),
                "auroc_gain_per_s": (auc - 0.5) / seconds if auc is not None else None,
                "threshold_curve": curve,
            }  # fmt: skip
        out[name] = entry
    return out


def _last_number(text: str) -> str | None:
    numbers = re.findall(r"-?\d[\d,]*(?:\.\d+)?", text)
    if not numbers:
        return None
    number = numbers[-1].replace(",", "")
    return number.rstrip("0").rstrip(".") if "." in number else number


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="default")
    parser.add_argument("--offset", type=int, default=100)
    parser.add_argument("--limit", type=int, default=14)
    parser.add_argument("--token-budget", type=int, default=768)
    parser.add_argument("--max-steps", type=int, default=14)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/judge_quality.json"))
    started = time.perf_counter()
    asyncio.run(main(parser.parse_args()))
    print(f"done in {time.perf_counter() - started:.0f} s")
