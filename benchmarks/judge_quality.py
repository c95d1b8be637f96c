"""Judge quality: how well each judge formulation separates good draft steps from bad ones.

For each question of a tuning slice of the dev set, the draft writes a whole chain alone
(draft-only, temperature 0). Every step gets two labels:

- ``agree``: the target, given the same prefix, writes its own step (greedy) and ends on the
  same number as the draft's step (or neither step has a number): a step-level label;
- ``final``: the draft chain's final answer is correct (math-verify); a chain that ends wrong
  contains at least one bad step (the label our first judge study used; docs/judges.md).

Then the target judges every step with every formulation in `spec_graph.judges`, on the same
servers, and we report per formulation and label: AUROC of the score, the judge's mean prompt
tokens (new and from the prefix cache) and seconds per call, AUROC gain per second, and
acceptance/precision over thresholds.

    python benchmarks/judge_quality.py --offset 100 --limit 14 \
        --out benchmarks/results/judge_quality.json

The ``likelihood`` judge needs prompt log-probabilities, which llama.cpp's server does not
return; score the *same* saved steps with it on a vLLM server serving the same target model,
merged into the file (the other judges' rows are kept):

    python benchmarks/judge_quality.py --rejudge benchmarks/results/judge_quality.json \
        --judges likelihood --judge-url http://127.0.0.1:8000/v1 --judge-model qwen-1.5b

Never run it on the questions the benchmark reports (the README's run uses offset 0).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import time
from pathlib import Path

from spec_graph import (
    EmbeddedModels,
    EndpointConfig,
    ReasoningConfig,
    SamplingConfig,
    SpeculativeReasoner,
)
from spec_graph.backends import GenerateRequest, ModelBackend, ScoreRequest, backend_for
from spec_graph.bench.grading import grade
from spec_graph.bench.stats import auroc
from spec_graph.judges import JUDGES
from spec_graph.prompts import chain_prefix, problem_messages

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "gsm8k_dev.jsonl"
GREEDY = SamplingConfig(temperature=0.0)


async def main(args: argparse.Namespace) -> None:
    judges = args.judges.split(",") if args.judges else None
    if args.rejudge:
        saved = json.loads(args.rejudge.read_text())
        chains = saved["chains"]
        names = judges or list(JUDGES)
        target = backend_for(
            EndpointConfig(base_url=args.judge_url, model=args.judge_model, timeout_s=600)
        )
        try:
            new_rows = await judge_rows(target, chains, _questions(chains), names)
        finally:
            await target.aclose()
        rows = [r for r in saved["rows"] if r["judge"] not in names] + new_rows
        earlier = dict.fromkeys({r["judge"] for r in rows}, "embedded llama.cpp")
        judged_by = {**earlier, **saved.get("judged_by", {})}
        judged_by = {k: v for k, v in judged_by.items() if k not in names}
        judged_by |= dict.fromkeys(names, f"{args.judge_url} ({args.judge_model})")
    else:
        chains, rows = await _chains_and_rows(args, judges or _llamacpp_judges())
        judged_by = dict.fromkeys({r["judge"] for r in rows}, "embedded llama.cpp")
    summary = summarize(rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"args": _jsonable(vars(args)), "judged_by": judged_by,
                                    "summary": summary, "chains": chains, "rows": rows}, indent=1))  # fmt: skip
    for name, s in summary.items():
        print(name, json.dumps(s))


def _llamacpp_judges() -> list[str]:
    return [name for name, judge in JUDGES.items() if not judge.needs_prompt_logprobs]


async def _chains_and_rows(
    args: argparse.Namespace, judges: list[str]
) -> tuple[list[dict], list[dict]]:
    items = _items(args.offset, args.limit)
    config = ReasoningConfig(
        strategy="draft-only", draft_sampling=GREEDY, target_sampling=GREEDY,
        token_budget=args.token_budget, max_steps=args.max_steps,
    )  # fmt: skip
    rows: list[dict] = []
    chains: list[dict] = []
    with EmbeddedModels(args.profile) as models:
        reasoner = SpeculativeReasoner.from_endpoints(models.draft, models.target, config)
        target = backend_for(models.target)
        for n, item in enumerate(items):
            result = await reasoner.ainvoke(item["question"])
            correct = grade(result.answer, item["answer"])
            messages = problem_messages(item["question"])
            texts = [s.text for s in result.steps]
            agree = []
            for i, step in enumerate(texts):
                own = await target.generate(GenerateRequest(
                    messages=messages, prefix=chain_prefix(texts[:i], "\n\n"), max_tokens=256,
                    stop=["\n\n"], sampling=GREEDY,
                ))  # fmt: skip
                agree.append(_last_number(own.text) == _last_number(step))
            chain = {"id": item["id"], "correct": correct, "steps": texts, "agree": agree}
            chains.append(chain)
            print(
                f"[{n + 1}/{len(items)}] {item['id']}: {len(texts)} steps, correct={correct}, "
                f"target agrees on {sum(agree)}"
            )
            rows += await judge_rows(target, [chain], {item["id"]: item["question"]}, judges)
        await reasoner.aclose()
        await target.aclose()
    return chains, rows


async def judge_rows(
    target: ModelBackend, chains: list[dict], questions: dict[str, str], judges: list[str]
) -> list[dict]:
    """Every step of every chain judged by every named formulation: one row each."""
    rows: list[dict] = []
    for chain in chains:
        messages = problem_messages(questions[chain["id"]])
        texts = chain["steps"]
        for name in judges:
            judge = JUDGES[name]  # type: ignore[index]
            for i, step in enumerate(texts):
                request, prefix = judge.prompt(messages, texts[:i], step, "\n\n")
                token = await target.next_token(ScoreRequest(
                    messages=request, prefix=prefix, top_logprobs=10,
                    prompt_logprobs=judge.needs_prompt_logprobs,
                ))  # fmt: skip
                average = judge.score(token, "average", step)
                greedy = judge.score(token, "greedy", step)
                rows.append({
                    "id": chain["id"], "judge": name, "step": i, "final": chain["correct"],
                    "agree": chain["agree"][i], "average": average.score,
                    "greedy": greedy.score, "top_token": greedy.top_token,
                    "prompt_tokens": token.usage.prompt_tokens,
                    "cached_tokens": token.usage.cached_tokens, "seconds": token.usage.seconds,
                })  # fmt: skip
    return rows


def _items(offset: int, limit: int) -> list[dict]:
    items = [json.loads(line) for line in DATA.read_text().splitlines() if line.strip()]
    return items[offset : offset + limit]


def _questions(chains: list[dict]) -> dict[str, str]:
    """The questions of saved chains, looked up by id in the dev set."""
    by_id = {item["id"]: item["question"] for item in _items(0, 10**9)}
    return {chain["id"]: by_id[chain["id"]] for chain in chains}


def _jsonable(args: dict) -> dict:
    return {k: str(v) if isinstance(v, Path) else v for k, v in args.items()}


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
    parser.add_argument(
        "--judges", help="comma-separated formulations (default: all the server can)"
    )
    parser.add_argument("--rejudge", type=Path, help="score the saved chains of this results file")
    parser.add_argument("--judge-url", help="with --rejudge: the target's OpenAI-compatible URL")
    parser.add_argument("--judge-model", default="target", help="with --rejudge: its model name")
    started = time.perf_counter()
    asyncio.run(main(parser.parse_args()))
    print(f"done in {time.perf_counter() - started:.0f} s")
