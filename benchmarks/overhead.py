"""Framework overhead: the LangGraph graph vs a bare loop, both on the same instant fake backend.

`ScriptedFakeBackend` (a fake, no model) answers at once, so all time measured is Python: the
graph's node scheduling, state updates and telemetry vs a plain ``for`` loop doing the same
draft -> judge -> keep calls with the same prompts and scoring. Reports microseconds per step
and the difference (docs/architecture.md; target < 1 ms per step), plus LangGraph's own floor: a graph
of two empty nodes looping with `Command` (what any two-superstep step costs on this machine),
so machine speed and our share of the overhead can be told apart. All three are interleaved.

Composition (issue "hooks, channels, tools"): the same graph with (a) two no-op hooks per step
(a function before ``draft``, one after ``judge``), (b) three retrieved documents in the
context channel (BM25 at ``start``: every prompt then carries them), (c) a calculator call in
every step (each kept step is followed by a ``tool`` step: one more superstep, the parse and
the calculator). Reported per *draft* step, beside the plain graph, interleaved with it.

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

from spec_graph import ReasoningConfig, Retrieve, SpeculativeReasoner, build_graph
from spec_graph.backends import GenerateRequest, ScoreRequest
from spec_graph.judging.formulations import JUDGES
from spec_graph.prompts import chain_prefix, problem_messages
from spec_graph.retrieval import BM25Retriever
from spec_graph.testing import ScriptedFakeBackend
from spec_graph.tools import calculator


def _fakes(steps: int) -> tuple[ScriptedFakeBackend, ScriptedFakeBackend]:
    texts = [f"step {i} adds {i} apples" for i in range(steps - 1)] + ["so \\boxed{1}"]
    return (
        ScriptedFakeBackend("fake-draft", steps=texts),
        ScriptedFakeBackend("fake-target", scores=[9] * steps),
    )


async def bare_loop(steps: int, config: ReasoningConfig) -> float:
    """The same calls as the graph's specreason path, in a plain loop; seconds."""
    draft, target = _fakes(steps)
    settings = config.strategy_settings  # SpecReason's: judge_prompt, score_method, threshold
    judge = JUDGES[settings.judge_prompt]
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
        verdict = judge.score(token, settings.score_method, generation.text)
        assert verdict.score is not None
        assert verdict.score >= settings.threshold
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


def _noop(state: dict) -> None:
    return None


DOCS = ["1 + 0 is 1.", "What is zero? Nothing.", "Adding 0 is adding nothing."]
COMPOSED = {
    "hooks": lambda: build_graph("specreason", before={"draft": _noop}, after={"judge": _noop}),
    "context": lambda: build_graph(
        "specreason",
        before={"start": Retrieve(retriever=BM25Retriever.from_texts(DOCS, k=3))},
    ),
    "tools": lambda: build_graph("specreason"),
}
CALL = '<tool_call>\n{"name": "calculator", "arguments": {"expression": "%d + 1"}}'


async def composed_run(steps: int, config: ReasoningConfig, kind: str, graph) -> float:
    """One run with composition ``kind`` (see the module docstring); seconds."""
    draft, target = _fakes(steps)
    tools = []
    if kind == "tools":
        texts = [CALL % i for i in range(steps - 1)] + ["so \\boxed{1}"]
        draft = ScriptedFakeBackend("fake-draft", steps=texts)
        tools = [calculator]
    reasoner = SpeculativeReasoner(draft, target, config, graph=graph, tools=tools)
    started = time.perf_counter()
    result = await reasoner.ainvoke("What is 1 + 0?")
    elapsed = time.perf_counter() - started
    drafted = sum(s.source == "draft" for s in result.steps)
    assert drafted == steps, (kind, result.stop_reason, drafted)
    if kind == "context":
        assert len(result.context) == 3
    if kind == "tools":
        assert result.totals.tool_calls == steps - 1
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
    # the bare loop judges every step, so the graph must too: no confidence gating
    config = ReasoningConfig(
        strategy="specreason",
        options={"gate_logprob": None},
        max_steps=2 * args.steps + 1,
        token_budget=100_000,
    )
    floor = _floor_graph(args.steps)
    graphs = {kind: make() for kind, make in COMPOSED.items()}
    composed_s: dict[str, list[float]] = {kind: [] for kind in COMPOSED}
    for _ in range(3):  # warm up imports, graph compilation, caches
        await graph_run(args.steps, config)
        await bare_loop(args.steps, config)
        await floor_run(floor, args.steps)
        for kind, graph in graphs.items():
            await composed_run(args.steps, config, kind, graph)
    graph_s, bare_s, floor_s = [], [], []
    for _ in range(args.runs):  # interleaved, so drift hits all of them
        graph_s.append(await graph_run(args.steps, config))
        bare_s.append(await bare_loop(args.steps, config))
        floor_s.append(await floor_run(floor, args.steps))
        for kind, graph in graphs.items():
            composed_s[kind].append(await composed_run(args.steps, config, kind, graph))
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
        "composition_us_per_draft_step": {
            kind: statistics.median(s) / args.steps * 1e6 for kind, s in composed_s.items()
        },
        "composition_extra_us_per_draft_step": {
            kind: statistics.median(s) / args.steps * 1e6 - graph_us
            for kind, s in composed_s.items()
        },
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
