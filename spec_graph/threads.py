"""Durable threads: a reasoning run kept in a checkpoint store, resumable after a crash.

A thread is one conversation (one ``thread_id``). With a checkpointer, LangGraph saves the
run's state after every node, so:

- **a new question on a thread starts a new run**: the kept steps, the answer and the stop
  reason of the last run are cleared (`run_input`), and the conversation keeps the earlier
  questions and answers, so a follow-up ("and doubled?") reads in context;
- **an interrupted run resumes** from its last completed node: asking the same question again
  on a thread whose run did not finish (a crash, a SIGKILL, a deadline), or ``resume=True``,
  continues it; the steps kept before the crash are kept as they are, none written twice.

`sqlite_checkpointer` opens the store the CLI uses (``langgraph-checkpoint-sqlite``), with a
serializer that knows spec-graph's state types (`serializer`): LangGraph warns about, and will
block, types it was not told about.
"""

from __future__ import annotations

import asyncio
import os
import types
import typing
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import platformdirs
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer
from langgraph.types import Overwrite
from pydantic import BaseModel

from spec_graph.errors import UserError
from spec_graph.prompts import ChatMessage, problem_messages
from spec_graph.strategies import get_strategy, strategy_names

__all__ = [
    "default_store",
    "run_input",
    "serializer",
    "sqlite_checkpointer",
    "state_types",
    "thread_input",
]

_PER_RUN_LISTS = ("steps", "context")
"""Append channels of one run: a new question on a thread starts them afresh."""
_PER_RUN_VALUES: dict[str, Any] = {
    "candidate": None,
    "answer": None,
    "stop_reason": None,
    "telemetry": {},
}


def default_store() -> Path:
    """Where ``spec-graph ask --thread`` keeps its threads.

    Env ``SPEC_GRAPH_THREADS_DB``, else ``threads.sqlite`` in the user's state folder
    (``~/.local/state/spec-graph`` on Linux).
    """
    given = os.environ.get("SPEC_GRAPH_THREADS_DB")
    if given:
        return Path(given).expanduser()
    return Path(platformdirs.user_state_dir("spec-graph")) / "threads.sqlite"


def state_types(schema: Any) -> set[type[BaseModel]]:
    """Every pydantic model a state schema (a TypedDict) can hold, nested ones included."""
    found: set[type[BaseModel]] = set()
    pending: list[Any] = list(typing.get_type_hints(schema, include_extras=True).values())
    while pending:
        tp = pending.pop()
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            if tp not in found:
                found.add(tp)
                pending.extend(f.annotation for f in tp.model_fields.values())
            continue
        pending.extend(a for a in typing.get_args(tp) if not isinstance(a, (str, int, float)))
        if isinstance(tp, types.UnionType):
            pending.extend(tp.__args__)
    return found


def serializer(*schemas: Any) -> JsonPlusSerializer:
    """A checkpoint serializer that deserializes the schemas' types (and nothing unknown).

    With no schema: the state types of every registered strategy.
    """
    if not schemas:
        schemas = tuple(get_strategy(name).State for name in strategy_names())
    allowed = sorted(
        {(t.__module__, t.__qualname__) for schema in schemas for t in state_types(schema)}
    )
    return JsonPlusSerializer(allowed_msgpack_modules=allowed)


@asynccontextmanager
async def sqlite_checkpointer(path: str | Path) -> AsyncIterator[Any]:
    """An ``AsyncSqliteSaver`` on ``path`` (created with its folder), spec-graph's types known."""
    try:
        import aiosqlite
        from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
    except ImportError as e:  # pragma: no cover - a core dependency
        raise UserError("durable threads need langgraph-checkpoint-sqlite") from e
    path = await asyncio.to_thread(_prepared, Path(path))
    async with aiosqlite.connect(str(path)) as conn:
        yield AsyncSqliteSaver(conn, serde=serializer())


async def thread_input(
    graph: Any,
    run_config: dict[str, Any],
    fresh: dict[str, Any],
    *,
    resume: bool,
    system_prompt: str | None,
) -> tuple[dict[str, Any] | None, str, list[Any]]:
    """The input of a run on the thread ``run_config`` names, its question, and its kept steps.

    Reads the thread's saved state from ``graph``'s checkpointer (`run_input` decides). The
    steps are those a resumed run kept before it stopped (none for a new run): shown first,
    so whoever resumes sees the whole chain.
    """
    thread_id = str(run_config["configurable"]["thread_id"])
    if graph.checkpointer is None:
        raise UserError(
            "thread_id needs a checkpointer: SpeculativeReasoner(..., checkpointer=...) "
            "(spec_graph.threads.sqlite_checkpointer) or build_graph(checkpointer=...)"
        )
    saved = await graph.aget_state(run_config)
    values = dict(saved.values)
    graph_input = run_input(
        values,
        bool(saved.next),
        fresh,
        resume=resume,
        thread_id=thread_id,
        system_prompt=system_prompt,
    )
    question = str((fresh or values).get("question", ""))
    kept = list(values.get("steps", [])) if graph_input is None else []
    return graph_input, question, kept


def _prepared(path: Path) -> Path:
    path = path.expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def run_input(
    saved: dict[str, Any],
    unfinished: bool,
    fresh: dict[str, Any],
    *,
    resume: bool,
    thread_id: str,
    system_prompt: str | None = None,
) -> dict[str, Any] | None:
    """The graph input for a run on a thread whose saved state is ``saved``.

    None resumes the unfinished run from its last checkpoint. Otherwise a new run: ``fresh``
    (the input a thread-less run would get) with the last run's per-run channels cleared; a
    new question gets the conversation so far in front of it (a caller that sends
    ``messages``, like a chat model, sends the whole conversation itself).

    Args:
        saved: the thread's saved values ({} for a new thread).
        unfinished: whether the saved run stopped before its end (LangGraph has nodes left).
        fresh: the new run's own input (``question`` and ``messages``).
        resume: the caller asks to resume (an error when there is nothing to resume).
        thread_id: for messages.
        system_prompt: the run's (`ReasoningConfig.system_prompt`), as the nodes use it.
    """
    before, new_turn = _conversation(saved, system_prompt), _conversation(fresh, system_prompt)
    same_question = bool(saved) and before == new_turn
    if unfinished and (resume or same_question):
        return None
    if resume:
        msg = f"thread {thread_id!r} has no unfinished run to resume" + (
            " (its last run finished)" if saved else " (no run was ever saved on it)"
        )
        raise UserError(msg)
    if not saved:
        return fresh
    new: dict[str, Any] = {
        **fresh,
        **{name: Overwrite([]) for name in _PER_RUN_LISTS},
        **_PER_RUN_VALUES,
    }
    if not fresh.get("messages"):  # a question: the thread's conversation goes on
        new["messages"] = _continued(before, saved.get("answer"), new_turn)
    return new


def _conversation(values: dict[str, Any], system_prompt: str | None) -> list[ChatMessage]:
    """The messages a run's nodes continue (`spec_graph.nodes.conversation` builds the same)."""
    messages = values.get("messages")
    if messages:
        return list(messages)
    question = values.get("question", "")
    return problem_messages(question, system_prompt) if question else []


def _continued(
    before: list[ChatMessage], answer: str | None, new: list[ChatMessage]
) -> list[ChatMessage]:
    """The thread's conversation, its last answer, then the new turn."""
    reply: Sequence[ChatMessage] = (
        [{"role": "assistant", "content": f"\\boxed{{{answer}}}"}] if answer else []
    )
    shared = 0  # the system message(s) both runs open with are not repeated
    while shared < min(len(before), len(new)) and new[shared]["role"] == "system":
        if new[shared] != before[shared]:
            break
        shared += 1
    return [*before, *reply, *new[shared:]]
