"""``configurable.thread_id`` for the chat model: which durable thread a call runs on.

LangChain hands a chat model's ``_astream`` its messages, not the call's config, so the
public entry points (``invoke``, ``ainvoke``, ``stream``, ``astream``; ``batch`` goes through
them) note the thread in a context variable for the call, and ``_astream`` reads it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.runnables import RunnableConfig

__all__ = ["ThreadedCalls", "current_thread"]

_THREAD: ContextVar[str | None] = ContextVar("spec_graph_thread_id", default=None)


def current_thread() -> str | None:
    """The thread id of the call being made in this context (None: none given)."""
    return _THREAD.get()


@contextmanager
def _on_thread(config: RunnableConfig | None) -> Iterator[None]:
    thread_id = ((config or {}).get("configurable") or {}).get("thread_id")
    token = _THREAD.set(None if thread_id is None else str(thread_id))
    try:
        yield
    finally:
        with suppress(ValueError):  # a generator closed from another context
            _THREAD.reset(token)


class ThreadedCalls(BaseChatModel):
    """The chat model's entry points, each noting its call's thread (`current_thread`)."""

    def _saves_threads(self) -> bool:
        """Whether this model saves threads (it has a checkpointer of its own).

        Without one, a thread id is not ours: inside an agent it names the agent's thread,
        which the agent's checkpointer saves.
        """
        reasoner = getattr(self, "reasoner", None)
        given = (
            reasoner.checkpointer if reasoner is not None else getattr(self, "checkpointer", None)
        )
        return given is not None

    def invoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> AIMessage:
        with _on_thread(config):
            return super().invoke(input, config, **kwargs)

    async def ainvoke(
        self,
        input: Any,
        config: RunnableConfig | None = None,
        **kwargs: Any,
    ) -> AIMessage:
        with _on_thread(config):
            return await super().ainvoke(input, config, **kwargs)

    def stream(
        self,
        input: Any,
        config: RunnableConfig | None = None,
        **kwargs: Any,
    ) -> Iterator[AIMessageChunk]:
        with _on_thread(config):
            yield from super().stream(input, config, **kwargs)

    async def astream(
        self,
        input: Any,
        config: RunnableConfig | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[AIMessageChunk]:
        with _on_thread(config):
            async for chunk in super().astream(input, config, **kwargs):
                yield chunk
