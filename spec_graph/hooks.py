"""Hooks: your own work before, after or around any node of a strategy's graph.

A hook is anything that can look at the run's state and say what to add to it:

- a plain function or coroutine function of ``(state)`` or ``(state, runtime)`` returning a
  state update (a ``dict``), ``None`` (nothing to add), a string, a message or documents (each
  becomes a `ContextItem` in the ``context`` channel);
- any LangChain ``Runnable`` (invoked with the state, its output read the same way);
- a LangChain ``BaseRetriever`` (invoked with the question, documents become context; see
  `Retrieve` for the query, the roles that see them and when to retrieve);
- a LangChain chat model (invoked with the run's conversation; its reply becomes a context note,
  e.g. a planner's outline that draft, judge and target all read).

Updates go through the state's reducers exactly as a node's would (``steps`` and ``context``
are appended to), and the node after a ``before`` hook sees the hook's update. Routing stays
the node's: an ``after`` hook adds to the state but cannot change where the chain goes (use
``around`` for that). With hooks the compiled graph is still a plain LangGraph graph
(streamable, checkpointable, drawable); a ``start`` hook is a node of its own (``start``).

``around`` hooks wrap a node: ``async def around(state, runtime, call)`` runs ``await
call(state)`` (the node, or the next ``around`` hook) and returns its result (a `Command`),
for timing, retries, caching or overriding a decision.
"""

from __future__ import annotations

import dataclasses
import inspect
import typing
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from langchain_core.documents import Document
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import Runnable
from langgraph.runtime import Runtime
from langgraph.types import Command
from pydantic import BaseModel, ConfigDict

from spec_graph.errors import UserError
from spec_graph.nodes import SpecContext, conversation
from spec_graph.prompts import chain_prefix
from spec_graph.state import ContextItem, NodeRole

__all__ = ["Hook", "Retrieve", "as_hook", "hooked", "merge_update", "with_model"]

Hook = Callable[..., Any] | Runnable[Any, Any] | BaseRetriever | BaseChatModel
"""Anything `as_hook` accepts."""
HookFn = Callable[[Any, Runtime[SpecContext]], Awaitable[dict[str, Any]]]
NodeFn = Callable[..., Awaitable[Any]]
Around = Callable[[Any, Runtime[SpecContext], Callable[[Any], Awaitable[Any]]], Awaitable[Any]]


class Retrieve(BaseModel):
    """Feed a retriever's documents to the run as context.

    Args:
        retriever: any LangChain ``BaseRetriever``.
        roles: who sees the documents (None: draft, judge, target and answer alike).
        query: ``"question"`` (once per run: later calls find the documents already there) or
            ``"chain"`` (the question and the last kept step, e.g. ``before={"draft": ...}``
            for step-level retrieval; documents already in the context are not added twice).
        source: the label shown with each document when it has no ``source`` metadata.
    """

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    retriever: BaseRetriever
    roles: tuple[NodeRole, ...] | None = None
    query: typing.Literal["question", "chain"] = "question"
    source: str = "retrieved"

    async def __call__(self, state: Any, runtime: Runtime[SpecContext]) -> dict[str, Any]:
        """Retrieve for this point of the run; documents already in the context are skipped."""
        known = {c.text for c in state.get("context", ())}
        if self.query == "question" and any(
            c.source.startswith(self.source) for c in state.get("context", ())
        ):
            return {}
        text = _question(state)
        steps = state.get("steps", [])
        if self.query == "chain" and steps:
            text = f"{text}\n{steps[-1].text}"
        docs = await self.retriever.ainvoke(text)
        items = [_document_item(d, self.source, self.roles) for d in docs]
        return {"context": [i for i in items if i.text not in known]}


def _question(state: Any) -> str:
    if state.get("question"):
        return str(state["question"])
    users = [m["content"] for m in state.get("messages", ()) if m["role"] == "user"]
    return users[-1] if users else ""


def _document_item(doc: Document, source: str, roles: tuple[NodeRole, ...] | None) -> ContextItem:
    label = str(doc.metadata.get("source") or doc.id or source)
    if not label.startswith(source):
        label = f"{source}: {label}"
    return ContextItem(text=doc.page_content, source=label, roles=roles)


def _items(output: Any, source: str) -> list[ContextItem]:
    """Context items from a hook's non-dict output (text, a message, documents)."""
    if isinstance(output, ContextItem):
        return [output]
    if isinstance(output, str):
        return [ContextItem(text=output, source=source)] if output.strip() else []
    if isinstance(output, BaseMessage):
        return _items(output.text, source)
    if isinstance(output, Document):
        return [_document_item(output, source, None)]
    if isinstance(output, Sequence) and all(
        isinstance(o, ContextItem | Document | str) for o in output
    ):
        return [item for o in output for item in _items(o, source)]
    msg = (
        f"hook {source!r} returned {type(output).__name__}; a hook returns a state update "
        "(dict), None, text, a message or documents"
    )
    raise UserError(msg)


def _update(output: Any, source: str) -> dict[str, Any]:
    if output is None:
        return {}
    if isinstance(output, Mapping):
        return dict(output)
    return {"context": _items(output, source)}


def _name(hook: Any) -> str:
    return str(getattr(hook, "name", None) or getattr(hook, "__name__", type(hook).__name__))


def _wants_runtime(fn: Callable[..., Any]) -> bool:
    """Whether a plain function takes ``(state, runtime)`` rather than ``(state)``."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return False
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 2 or any(p.kind == p.VAR_POSITIONAL for p in params)


async def call_node(fn: Any, state: Any, runtime: Runtime[SpecContext]) -> Any:
    """Run ``fn`` as LangGraph runs a node: a Runnable, or a sync/async (state[, runtime])."""
    if isinstance(fn, Runnable):
        return await fn.ainvoke(state)
    result = fn(state, runtime) if _wants_runtime(fn) else fn(state)
    return await result if inspect.isawaitable(result) else result


def as_hook(hook: Hook) -> HookFn:
    """Normalise any supported hook to ``async (state, runtime) -> state update``."""
    if isinstance(hook, Retrieve):
        return hook
    if isinstance(hook, BaseRetriever):
        return Retrieve(retriever=hook)
    name = _name(hook)
    if isinstance(hook, BaseChatModel):
        model = hook

        async def ask_model(state: Any, runtime: Runtime[SpecContext]) -> dict[str, Any]:
            messages: list[Any] = conversation(state, runtime.context)
            chain = chain_prefix([s.text for s in state.get("steps", [])], "\n\n").strip()
            if chain:
                messages = [*messages, {"role": "assistant", "content": chain}]
            reply = await model.ainvoke(messages)
            return _update(reply, name)

        return ask_model
    if not callable(hook) and not isinstance(hook, Runnable):
        msg = f"a hook must be a function, a Runnable, a retriever or a chat model, not {name}"
        raise UserError(msg)

    async def run_hook(state: Any, runtime: Runtime[SpecContext]) -> dict[str, Any]:
        return _update(await call_node(hook, state, runtime), name)

    return run_hook


def _reducers(state_schema: type[Any]) -> dict[str, Callable[[Any, Any], Any]]:
    """The state's channel reducers (``Annotated[list, operator.add]`` and the like)."""
    hints = typing.get_type_hints(state_schema, include_extras=True)
    found = {}
    for key, hint in hints.items():
        metadata = getattr(hint, "__metadata__", ())
        if metadata and callable(metadata[-1]):
            found[key] = metadata[-1]
    return found


def merge_update(
    base: Mapping[str, Any], update: Mapping[str, Any], reducers: Mapping[str, Callable[..., Any]]
) -> dict[str, Any]:
    """``base`` with ``update`` applied as LangGraph applies it (reducers where the state has one).

    Used both to show a node the state after a hook and to add two updates into one.
    """
    merged = dict(base)
    for key, value in update.items():
        reducer = reducers.get(key)
        merged[key] = reducer(merged[key], value) if reducer and key in merged else value
    return merged


def _split(result: Any) -> tuple[dict[str, Any], Any]:
    """A node's result as (update, goto); goto is None for a plain update."""
    if isinstance(result, Command):
        return dict(result.update or {}), result.goto
    return dict(result or {}), None


def hooked(
    node: Any,
    state_schema: type[Any],
    *,
    before: Sequence[Hook] = (),
    after: Sequence[Hook] = (),
    around: Sequence[Around] = (),
) -> NodeFn:
    """``node`` with its hooks: ``before`` ones, then ``around`` ones wrapping it, then ``after``."""
    reducers = _reducers(state_schema)
    befores = [as_hook(h) for h in before]
    afters = [as_hook(h) for h in after]

    async def run(state: Any, runtime: Runtime[SpecContext]) -> Any:
        added: dict[str, Any] = {}
        for hook in befores:
            update = await hook(state, runtime)
            state = merge_update(state, update, reducers)
            added = merge_update(added, update, reducers)

        async def innermost(s: Any) -> Any:
            return await call_node(node, s, runtime)

        call: Callable[[Any], Awaitable[Any]] = innermost
        for wrap in reversed(around):
            call = _wrapped(wrap, call, runtime)
        update, goto = _split(await call(state))
        added = merge_update(added, update, reducers)
        after_state = merge_update(state, update, reducers)
        for hook in afters:
            extra = await hook(after_state, runtime)
            after_state = merge_update(after_state, extra, reducers)
            added = merge_update(added, extra, reducers)
        return added if goto is None else Command(update=added, goto=goto)

    run.__name__ = getattr(node, "__name__", "node")
    return run


def _wrapped(
    wrap: Around, inner: Callable[[Any], Awaitable[Any]], runtime: Runtime[SpecContext]
) -> Callable[[Any], Awaitable[Any]]:
    async def call(state: Any) -> Any:
        return await wrap(state, runtime, inner)

    return call


_MODEL_ROLES = {"draft": "draft", "correct": "target", "span": "target", "answer": "target"}
"""Nodes a chat model may stand in for, and the role whose backend it replaces there."""


def with_model(node: NodeFn, name: str, model: BaseChatModel) -> NodeFn:
    """The default ``node`` run with ``model`` as its writer (`LangChainBackend`).

    ``build_graph(draft=ChatOpenAI(...))``: the draft node, routing and all, with the chat
    model writing the steps; only that node's model changes (the judge still asks the target).
    """
    from spec_graph.backends.langchain import LangChainBackend

    role = _MODEL_ROLES.get(name)
    if role is None:
        msg = (
            f"a chat model cannot be the {name!r} node: it can write steps (draft, correct, "
            "span) or the answer; to judge with a chat model use spec_graph.LLMJudge(model)"
        )
        raise UserError(msg)
    backend = LangChainBackend(model)

    async def run(state: Any, runtime: Runtime[SpecContext]) -> Any:
        ctx = dataclasses.replace(runtime.context, **{role: backend})  # type: ignore[arg-type]
        return await call_node(node, state, runtime.override(context=ctx))

    run.__name__ = f"{name}_with_{backend.model_name}"
    return run
