"""Framework overhead: the LangGraph graph vs a bare loop, both on the same instant fake backend.

`ScriptedFakeBackend` (a fake, no model) answers at once, so all time measured is Python: the
graph's node scheduling, state updates and telemetry vs a plain ``for`` loop doing the same
draft -> judge -> keep calls with the same prompts and scoring. Reports microseconds per step
and the difference (docs/architecture.md; target < 1 ms per step), plus LangGraph's own floor: a graph
of two empty nodes looping with `Command` (what any two-superstep step costs on this machine),
so machine speed and our share of the overhead can be told apart. All three are interleaved.

    python benchmarks/overhead.py --steps 50 --runs 40 --out benchmarks/results/overhead.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from pathlib import Path

from langgraph.graph import START, StateGraph
from langgraph.types import Command

from spec_graph import ReasoningConfig, SpeculativeReasoner
from spec_graph.backends import GenerateRequest, ScoreRequest
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
        generation = await draft.generate(GenerateRequest(
            messages=messages, prefix=prefix, max_tokens=config.max_step_tokens,
            stop=[config.step_delimiter], sampling=config.draft_sampling,
        ))  # fmt: skip
        request, reply = judge.prompt(messages, kept, generation.text, config.step_delimiter)
        token = await target.next_token(
            ScoreRequest(messages=request, prefix=reply, top_logprobs=10)
        )
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


def _floor_graph(steps: int):
    """Two empty nodes looping ``steps`` times with `Command`: LangGraph's floor per step."""

    async def first(state: dict) -> Command:
        return Command(goto="second")

    async def second(state: dict) -> Command:
        done = len(state.get("steps", [])) + 1 >= steps
        return Command(update={"steps": [None]}, goto="__end__" if done else "first")

    from spec_graph.state import SpecState

    builder = StateGraph(SpecState)
    builder.add_node("first", first, destinations=("second",))
    builder.add_node("second", second, destinations=("first", "__end__"))
    builder.add_edge(START, "first")
    return builder.compile()


async def floor_run(graph, steps: int) -> float:
    started = time.perf_counter()
    await graph.ainvoke({"question": "q"}, {"recursion_limit": 4 * steps})
    return time.perf_counter() - started


async def main(args: argparse.Namespace) -> dict:
    config = ReasoningConfig(max_steps=args.steps + 1, token_budget=100_000)
    floor = _floor_graph(args.steps)
    for _ in range(3):  # warm up imports, graph compilation, caches
        await graph_run(args.steps, config)
        await bare_loop(args.steps, config)
        await floor_run(floor, args.steps)
    graph_s, bare_s, floor_s = [], [], []
    for _ in range(args.runs):  # interleaved, so drift hits all three
        graph_s.append(await graph_run(args.steps, config))
        bare_s.append(await bare_loop(args.steps, config))
        floor_s.append(await floor_run(floor, args.steps))
    graph_us = statistics.median(graph_s) / args.steps * 1e6
    bare_us = statistics.median(bare_s) / args.steps * 1e6
    floor_us = statistics.median(floor_s) / args.steps * 1e6
    return {
        "steps_per_run": args.steps,
        "runs": args.runs,
        "graph_us_per_step": graph_us,
        "bare_loop_us_per_step": bare_us,
        "overhead_us_per_step": graph_us - bare_us,
        "langgraph_floor_us_per_step": floor_us,
        "ours_above_floor_us_per_step": graph_us - bare_us - floor_us,
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
