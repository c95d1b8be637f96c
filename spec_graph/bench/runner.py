"""Running a benchmark: every mode on every question, interleaved, resumable.

For each question the modes run one after another on the same servers (so machine noise hits
all modes alike); before each (question, mode) every server gets a small untimed warm-up
request, because llama.cpp's greedy output depends on its prompt-cache state (measured: docs/architecture.md).
Each finished (question, mode) is appended to the raw JSONL at once; a rerun with the same
settings skips what is there.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from spec_graph.backends.base import GenerateRequest, ModelBackend
from spec_graph.bench.grading import grade
from spec_graph.bench.records import (
    ModeSpec,
    QuestionRecord,
    StepRecord,
    append_record,
    read_records,
    settings_key,
)
from spec_graph.bench.stats import percentile
from spec_graph.config import ReasoningConfig, SamplingConfig
from spec_graph.errors import SpecGraphError, UserError
from spec_graph.reasoner import SpeculativeReasoner
from spec_graph.state import ReasoningResult
from spec_graph.strategies import get_strategy

__all__ = [
    "BenchItem",
    "ConcurrencyRow",
    "RunPlan",
    "load_items",
    "run_concurrency",
    "run_questions",
]

_WARMUP_REQUEST = GenerateRequest(
    messages=[{"role": "user", "content": "Say OK."}],
    max_tokens=2,
    sampling=SamplingConfig(temperature=0),
)


class BenchItem(BaseModel):
    """One question of a benchmark set (JSONL with ``question`` and ``answer``)."""

    model_config = ConfigDict(frozen=True)

    id: str
    question: str
    answer: str


def load_items(
    path: Path, *, limit: int | None = None, offset: int = 0, seed: int | None = None
) -> list[BenchItem]:
    """Items ``offset .. offset+limit`` of the file (after a seeded shuffle if ``seed``)."""
    if not path.is_file():
        raise UserError(f"dataset not found: {path}")
    items: list[BenchItem] = []
    for n, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            items.append(
                BenchItem(
                    id=str(raw.get("id", f"line-{n}")),
                    question=raw["question"],
                    answer=str(raw["answer"]),
                )
            )
        except (ValueError, KeyError, TypeError) as e:
            raise UserError(
                f"{path}:{n}: need a JSON object with question and answer ({e})"
            ) from None
    if seed is not None:
        random.Random(seed).shuffle(items)
    chosen = items[offset : None if limit is None else offset + limit]
    if not chosen:
        raise UserError(f"no questions in {path} at offset {offset}")
    return chosen


class RunPlan(BaseModel):
    """What a run does; its key decides which raw records a rerun may reuse."""

    items: list[BenchItem]
    modes: list[ModeSpec]
    base: ReasoningConfig
    draft_model: str
    target_model: str
    target_speculation: int | None = None
    """Draft tokens per verification when the target server runs token-level speculative
    decoding (``--target-speculation``); None: plain decoding."""
    warmup: bool = True

    def key(self, mode: ModeSpec) -> str:
        """Records of this mode are reusable when models and effective settings match.

        The strategy's options enter with their defaults filled in, so changing a default
        (hand-off's trigger) never lets old records pass for the new setting. A target
        server with token-level speculative decoding is another setup, with another key.
        """
        resolved = mode.config(self.base)
        config = resolved.model_dump(mode="json")
        config["options"] = (
            get_strategy(resolved.strategy).options(resolved).model_dump(mode="json")
        )
        setup: dict[str, Any] = {"draft": self.draft_model, "target": self.target_model}
        if self.target_speculation:
            setup["target_speculation"] = self.target_speculation
        return settings_key({**setup, "config": config})


ProgressFn = Callable[[QuestionRecord, list[QuestionRecord]], None]


async def _warm(backends: Sequence[ModelBackend]) -> None:
    for backend in backends:
        await backend.generate(_WARMUP_REQUEST)


async def _one(
    reasoner: SpeculativeReasoner, item: BenchItem, mode: ModeSpec, plan: RunPlan
) -> QuestionRecord:
    config = mode.config(plan.base)
    started = time.perf_counter()
    first_step_s: float | None = None
    result: ReasoningResult | None = None
    try:
        async for event in reasoner.astream(item.question, **config.model_dump()):
            if isinstance(event, ReasoningResult):
                result = event
            elif first_step_s is None:
                first_step_s = time.perf_counter() - started
    except SpecGraphError as e:
        return QuestionRecord(
            id=item.id, mode=mode.name, settings_key=plan.key(mode), gold=item.answer,
            wall_s=time.perf_counter() - started, error=str(e),
        )  # fmt: skip
    wall_s = time.perf_counter() - started
    assert result is not None
    return QuestionRecord(
        id=item.id,
        mode=mode.name,
        settings_key=plan.key(mode),
        gold=item.answer,
        answer=result.answer,
        correct=grade(result.answer, item.answer),
        wall_s=wall_s,
        first_step_s=first_step_s,
        stop_reason=result.stop_reason,
        totals=result.totals,
        steps=[
            StepRecord(
                source=s.source,
                judged=s.judged,
                score=s.score,
                tokens=s.tokens,
                judge_calls=s.judge.calls,
            )
            for s in result.steps
        ],
        telemetry=result.telemetry,
    )


async def run_questions(
    reasoner: SpeculativeReasoner,
    plan: RunPlan,
    raw_path: Path,
    *,
    on_record: ProgressFn | None = None,
) -> list[QuestionRecord]:
    """Run every (question, mode) of ``plan`` not yet in ``raw_path``; return all records.

    Modes are interleaved per question. Records already in the file with another settings key
    (changed settings or models) are kept in the file but not reused or returned.
    """
    keys = {mode.name: plan.key(mode) for mode in plan.modes}
    wanted_ids = {item.id for item in plan.items}
    done: dict[tuple[str, str], QuestionRecord] = {
        (r.id, r.mode): r
        for r in read_records(raw_path)
        if r.id in wanted_ids and keys.get(r.mode) == r.settings_key
    }
    records: list[QuestionRecord] = list(done.values())
    backends = list(dict.fromkeys([reasoner.draft, reasoner.target]))
    for item in plan.items:
        for mode in plan.modes:
            if (item.id, mode.name) in done:
                continue
            if plan.warmup:
                await _warm(backends)
            record = await _one(reasoner, item, mode, plan)
            append_record(raw_path, record)
            records.append(record)
            if on_record is not None:
                on_record(record, records)
    return records


class ConcurrencyRow(BaseModel):
    """Throughput and latency of one mode with ``concurrency`` questions in flight at once."""

    mode: str
    concurrency: int
    questions: int
    correct: int
    elapsed_s: float
    throughput_qps: float
    p50_s: float
    p95_s: float


async def run_concurrency(
    reasoner: SpeculativeReasoner,
    plan: RunPlan,
    levels: Sequence[int],
    *,
    on_record: ProgressFn | None = None,
    on_row: Callable[[ConcurrencyRow, list[QuestionRecord]], None] | None = None,
) -> list[ConcurrencyRow]:
    """Each mode at each concurrency level over all items, against the same servers.

    Questions are started ``level`` at a time (a semaphore), so the servers see up to
    ``level`` concurrent chains; throughput is questions per second of the whole batch.
    ``on_row`` gets each level's row and records as soon as the level finishes (so a long
    run that is stopped keeps what it measured).
    """
    rows: list[ConcurrencyRow] = []
    for mode in plan.modes:
        for level in levels:
            if level < 1:
                raise UserError(f"concurrency must be at least 1, got {level}")
            started = time.perf_counter()
            records = await _batch(reasoner, plan, mode, level, on_record)
            elapsed = time.perf_counter() - started
            latencies = [r.wall_s for r in records]
            row = ConcurrencyRow(
                mode=mode.name,
                concurrency=level,
                questions=len(records),
                correct=sum(r.correct for r in records),
                elapsed_s=elapsed,
                throughput_qps=len(records) / elapsed,
                p50_s=percentile(latencies, 50),
                p95_s=percentile(latencies, 95),
            )
            rows.append(row)
            if on_row is not None:
                on_row(row, records)
    return rows


async def _batch(
    reasoner: SpeculativeReasoner,
    plan: RunPlan,
    mode: ModeSpec,
    level: int,
    on_record: ProgressFn | None,
) -> list[QuestionRecord]:
    gate = asyncio.Semaphore(level)
    done: list[QuestionRecord] = []

    async def bounded(item: BenchItem) -> QuestionRecord:
        async with gate:
            record = await _one(reasoner, item, mode, plan)
        done.append(record)
        if on_record is not None:
            on_record(record, done)
        return record

    return list(await asyncio.gather(*(bounded(item) for item in plan.items)))
