"""The reasoning run is the chat model's own work: the caller's callbacks never see inside it.

LangChain hands the config of the runnable that calls a chat model (``prompt | model``, a
LangGraph node) to whatever runs below it through a context variable,
`var_child_runnable_config`, callbacks included: ``astream_events``' handler, LangGraph's
message streamer, a tracer. LangGraph merges the inherited callbacks into those of the inner
reasoning graph whatever that run is given (``callbacks: None`` in its config overrides
nothing), so the graph and its nodes (``spec-graph:specreason``, ``draft``, ``judge``, ...)
showed up among the caller's ``on_chain_*`` events. ChatOpenAI has no graph inside: its
caller sees its ``on_chat_model_*`` events only, and so does this model's now.

Each step of the reply runs with the inherited callbacks taken out of that context variable
(the rest of the config stays: a LangGraph parent still shows the inner steps as a subgraph
with ``subgraphs=True``) and with LangSmith tracing off, so that the inner run does not become
a trace of its own beside the chat model's run (which is traced as it was).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from contextlib import contextmanager
from typing import TypeVar

from langchain_core.runnables import RunnableConfig
from langchain_core.runnables.config import var_child_runnable_config
from langchain_core.tracers.context import tracing_v2_callback_var
from langsmith import tracing_context

__all__ = ["isolated"]

T = TypeVar("T")


async def isolated(items: AsyncIterator[T]) -> AsyncGenerator[T, None]:
    """``items`` as they come, each produced out of sight of the caller's callbacks.

    Set and reset around each step, not once: the context of an async generator is the one
    of whoever advances it, a new one for each step of a sync ``invoke`` (`spec_graph._sync`).
    """
    while True:
        with _out_of_sight():
            try:
                item = await anext(items)
            except StopAsyncIteration:
                return
        yield item


@contextmanager
def _out_of_sight() -> Iterator[None]:
    inherited = var_child_runnable_config.get()
    config: RunnableConfig | None = None
    if inherited is not None:
        config = {**inherited, "callbacks": None}
    token = var_child_runnable_config.set(config)
    tracer = tracing_v2_callback_var.set(None)  # `tracing_v2_enabled()` of langchain-core
    try:
        with tracing_context(enabled=False):  # LANGSMITH_TRACING and langsmith's own
            yield
    finally:
        tracing_v2_callback_var.reset(tracer)
        var_child_runnable_config.reset(token)
