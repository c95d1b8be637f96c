"""Judge quality: how well each judge formulation separates good draft steps from bad ones.

For each question of a tuning slice of the dev set, the draft writes a whole chain alone
(draft-only, temperature 0). Every step gets two labels:

- ``agree``: the target, given the same prefix, writes its own step (greedy) and ends on the
  same number as the draft's step (or neither step has a number): a step-level label;
- ``final``: the draft chain's final answer is correct (math-verify); a chain that ends wrong
  contains at least one bad step (the label our first judge study used; docs/judges.md).

Then the target judges every step with every formulation in `spec_graph.judging.formulations`, on the same
servers, and we report per formulation and label: AUROC of the score with a 95% interval
(resampling questions), the judge's mean prompt tokens (new and from the prefix cache) and
seconds per call, AUROC gain per second, and acceptance/precision over thresholds.

Combinations are scored offline from the same rows, at no model cost: ``gate+J`` (confidence
gating in front of judge J: a step whose every draft token had log-probability >= -0.5 is
kept, score 9; the draft's logprobs are recorded while it writes the chain), ``arithmetic``
(the calculator re-checks the step's ``a op b = c`` claims: 0 if one is wrong, else 9) and
``arithmetic+J`` (what ``check_arithmetic`` does: 0 if the calculator faults the step, else
J's score).

The run is resumable: the file is rewritten after every question, and a rerun with the same
``--out`` skips the questions already in it.

    python benchmarks/judge_quality.py --offset 100 --limit 14 \
        --out benchmarks/results/judge_quality.json
    python benchmarks/judge_quality.py --offset 114 --limit 45 --judges yesno,specreason,inline \
        --out benchmarks/results/judge_quality300.json

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
)
from spec_graph.backends import GenerateRequest, ModelBackend, ScoreRequest, backend_for
from spec_graph.bench.datasets import bundled_dataset
from spec_graph.bench.grading import grade
from spec_graph.bench.stats import auroc, auroc_interval
from spec_graph.judging import ArithmeticJudge
from spec_graph.judging.formulations import JUDGES
from spec_graph.nodes import extract_boxed
from spec_graph.prompts import chain_prefix, problem_messages

DATA = bundled_dataset("gsm8k-dev")  # GSM8K test items 0-399, shipped in spec_graph/data/
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
    summary = _write(args, judged_by, chains, rows)
    for name, s in summary.items():
        print(name, json.dumps({k: v for k, v in s.items() if k in ("steps", "agree", "final")}))


def _write(args: argparse.Namespace, judged_by: dict, chains: list[dict], rows: list[dict]) -> dict:
    """Summarise and (re)write the results file; returns the summary."""
    summary = summarize(rows, chains)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"args": _jsonable(vars(args)), "judged_by": judged_by,
                                    "summary": summary, "chains": chains, "rows": rows}, indent=1))  # fmt: skip
    return summary


def _saved(path: Path) -> tuple[list[dict], list[dict]]:
    """Chains and rows of an earlier, interrupted run of the same file (resume)."""
    if not path.is_file():
        return [], []
    saved = json.loads(path.read_text())
    return saved.get("chains", []), saved.get("rows", [])


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
    chains, rows = _saved(args.out)
    done = {c["id"] for c in chains}
    judged_by = dict.fromkeys(judges, "embedded llama.cpp")
    with EmbeddedModels(args.profile) as models:
        draft = backend_for(models.draft)
        target = backend_for(models.target)
        for n, item in enumerate(items):
            if item["id"] in done:
                continue
            texts, min_logprobs = await _draft_chain(draft, item["question"], config)
            correct = grade(_boxed_or_last(texts), item["answer"])
            messages = problem_messages(item["question"])
            agree = []
            for i, step in enumerate(texts):
                own = await target.generate(GenerateRequest(
                    messages=messages, prefix=chain_prefix(texts[:i], "\n\n"), max_tokens=256,
                    stop=["\n\n"], sampling=GREEDY,
                ))  # fmt: skip
                agree.append(_last_number(own.text) == _last_number(step))
            chain = {
                "id": item["id"], "correct": correct, "steps": texts, "agree": agree,
                "min_logprob": min_logprobs,
            }  # fmt: skip
            rows += await judge_rows(target, [chain], {item["id"]: item["question"]}, judges)
            chains.append(chain)
            _write(args, judged_by, chains, rows)  # after every question: resumable
            steps = sum(len(c["steps"]) for c in chains)
            print(
                f"[{n + 1}/{len(items)}] {item['id']}: {len(texts)} steps, correct={correct}, "
                f"target agrees on {sum(agree)}; {steps} steps so far"
            )
        await draft.aclose()
        await target.aclose()
    return chains, rows


async def _draft_chain(
    draft: ModelBackend, question: str, config: ReasoningConfig
) -> tuple[list[str], list[float | None]]:
    """The draft's greedy chain, step by step, with each step's least token log-probability."""
    messages = problem_messages(question)
    texts: list[str] = []
    lows: list[float | None] = []
    used = 0
    while len(texts) < config.max_steps and used < config.token_budget:
        generation = await draft.generate(GenerateRequest(
            messages=messages, prefix=chain_prefix(texts, "\n\n"),
            max_tokens=min(config.max_step_tokens, config.token_budget - used),
            stop=["\n\n"], sampling=GREEDY, logprobs=True,
        ))  # fmt: skip
        text = generation.text.strip()
        if not text:
            break
        texts.append(text)
        lows.append(min(generation.token_logprobs) if generation.token_logprobs else None)
        used += generation.tokens
        if "\\boxed{" in text:
            break
    return texts, lows


def _boxed_or_last(texts: list[str]) -> str | None:
    """The chain's answer as the draft-only run would grade it: the last boxed value."""
    for text in reversed(texts):
        boxed = extract_boxed(text)
        if boxed is not None:
            return boxed
    return _last_number(texts[-1]) if texts else None


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


GATE = -0.5
"""The default ``gate_logprob``: a step whose least draft token logprob is >= this is kept."""


def _combined(rows: list[dict], chains: list[dict]) -> list[dict]:
    """Rows of the offline combinations (gate+J, arithmetic, arithmetic+J), per judged step."""
    by_step = {(c["id"], i): (c, text) for c in chains for i, text in enumerate(c["steps"])}
    checked: dict[tuple[str, int], float | None] = {}
    for key, (_chain, text) in by_step.items():
        checked[key] = _arithmetic(text)
    out: list[dict] = []
    for r in rows:
        key = (r["id"], r["step"])
        if key not in by_step:
            continue
        chain, _ = by_step[key]
        lows = chain.get("min_logprob")
        if lows is not None and lows[r["step"]] is not None:
            gated = lows[r["step"]] >= GATE
            out.append({**r, "judge": f"gate+{r['judge']}",
                        "average": 9.0 if gated else r["average"], "seconds": 0.0 if gated else r["seconds"]})  # fmt: skip
        arith = checked[key]
        if arith == 0.0:  # the calculator faulted the step: rejected, no judge call
            out.append({**r, "judge": f"arithmetic+{r['judge']}", "average": 0.0, "seconds": 0.0})
        else:
            out.append({**r, "judge": f"arithmetic+{r['judge']}"})
    firsts = {(r["id"], r["step"]): r for r in rows}
    for key, r in firsts.items():
        arith = checked.get(key)
        out.append({**r, "judge": "arithmetic", "average": 9.0 if arith != 0.0 else 0.0,
                    "greedy": None, "seconds": 0.0, "prompt_tokens": 0, "cached_tokens": 0})  # fmt: skip
    return out


def _arithmetic(text: str) -> float | None:
    """The calculator's verdict on a step: 0 (a wrong claim), 9 (all right), None (none)."""
    verdict = ArithmeticJudge().check(text)
    return None if verdict.abstain else verdict.score


def summarize(rows: list[dict], chains: list[dict] | None = None) -> dict[str, dict]:
    """Per formulation (and offline combination): steps, cost, AUROC [95% CI] per label."""
    every = rows + (_combined(rows, chains) if chains else [])
    out: dict[str, dict] = {}
    for name in dict.fromkeys(r["judge"] for r in every):
        mine = [r for r in every if r["judge"] == name]
        avg = [r["average"] if r["average"] is not None else -1.0 for r in mine]
        greedy = [r["greedy"] if r.get("greedy") is not None else -1.0 for r in mine]
        seconds = sum(r["seconds"] for r in mine) / len(mine)
        entry: dict = {
            "steps": len(mine), "questions": len({r["id"] for r in mine}),
            "mean_judge_s": seconds,
            "mean_prompt_tokens": sum(r["prompt_tokens"] for r in mine) / len(mine),
            "mean_cached_tokens": sum(r["cached_tokens"] for r in mine) / len(mine),
            "no_verdict": sum(r["average"] is None for r in mine),
        }  # fmt: skip
        groups = [r["id"] for r in mine]
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
                "auroc_interval": auroc_interval(avg, labels, groups),
                "auroc_greedy": auroc(greedy, labels),
                "auroc_gain_per_s": (auc - 0.5) / seconds if auc is not None and seconds else None,
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
