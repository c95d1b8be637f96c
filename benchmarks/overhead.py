"""Framework overhead: the LangGraph graph vs a bare loop, both on the same instant fake backend.

`ScriptedFakeBackend` (a fake, no model) answers at once, so all time measured is Python: the
graph's node scheduling, state updates and telemetry vs a plain ``for`` loop doing the same
draft -> judge -> accept calls with the same prompts and scoring. Reports microseconds per step
and the difference (DESIGN.md §6; target < 1 ms per step).

    python benchmarks/overhead.py --steps 50 --runs 40 --out benchmarks/results/overhead.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from pathlib import Path

from spec_graph import ReasoningConfig, SpeculativeReasoner
from spec_graph.judges import JUDGES
from spec_graph.prompts import chain_prefix, problem_messages
from spec_graph.testing import ScriptedFakeBackend


def _fakes(steps: int) -> tuple[ScriptedFakeBackend, ScriptedFakeBackend]:
    texts = [f"step {i} adds {i} apples" for i in range(steps - 1)] + ["so \\boxed{1}"]
    return (
        ScriptedFakeBackend("fake-draft", steps=texts),
        ScriptedFakeBackend("fake-target", scores=[9] * steps),
    )


async def bare_loop(steps: int, config: ReasoningConfig) -> float:
    """The same calls as the graph's specreason path, in a plain loop; seconds."""
    draft, target = _fakes(steps)
    judge = JUDGES[config.judge]
    messages = problem_messages("What is 1 + 0?")
    kept: list[str] = []
    started = time.perf_counter()
    for _ in range(steps):
        prefix = chain_prefix(kept, config.step_delimiter)
        generation = await draft.generate(
            messages, prefix=prefix, max_tokens=config.max_step_tokens,
            stop=[config.step_delimiter], sampling=config.draft_sampling,
        )  # fmt: skip
        request, reply = judge.request(messages, kept, generation.text, config.step_delimiter)
        token = await target.next_token(request, prefix=reply, top_logprobs=10)
        verdict = judge.score(token, config.score_method, generation.text)
        assert verdict.score is not None
        assert verdict.score >= config.threshold
        kept.append(generation.text.strip())
        if "\\boxed{" in generation.text:
            break
    return time.perf_counter() - started


async def graph_run(steps: int, config: ReasoningConfig) -> float:
    """One run of the compiled graph (specreason) on the fakes; seconds."""
    draft, target = _fakes(steps)
    reasoner = SpeculativeReasoner(draft, target, config)
    started = time.perf_counter()
    result = await reasoner.ainvoke("What is 1 + 0?")
    elapsed = time.perf_counter() - started
    assert len(result.steps) == steps, result.stop_reason
    return elapsed


async def main(args: argparse.Namespace) -> dict:
    config = ReasoningConfig(max_steps=args.steps + 1, token_budget=100_000)
    for _ in range(3):  # warm up imports, graph compilation, caches
        await graph_run(args.steps, config)
        await bare_loop(args.steps, config)
    graph_s, bare_s = [], []
    for _ in range(args.runs):  # interleaved, so drift hits both
        graph_s.append(await graph_run(args.steps, config))
        bare_s.append(await bare_loop(args.steps, config))
    graph_us = statistics.median(graph_s) / args.steps * 1e6
    bare_us = statistics.median(bare_s) / args.steps * 1e6
    return {
        "steps_per_run": args.steps,
        "runs": args.runs,
        "graph_us_per_step": graph_us,
        "bare_loop_us_per_step": bare_us,
        "overhead_us_per_step": graph_us - bare_us,
        "target_us_per_step": 1000.0,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/overhead.json"))
    args = parser.parse_args()
    report = asyncio.run(main(args))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
