"""`CallSettings`: one reply's settings, resolved over the reasoner's config.

Plain values only: what a front end (the LangChain chat model, an HTTP server) takes from its
caller is passed by name, and the rest (``**overrides``) is either a `ReasoningConfig` field
(``threshold``, ``strategy``, ...) or a setting of the call's strategy (``n=3`` for ``scot``),
which goes to ``ReasoningConfig.options``. Anything else is a `UserError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from spec_graph.errors import UserError
from spec_graph.reasoning import ReasoningConfig, SamplingConfig
from spec_graph.strategies import get_strategy

__all__ = ["REASONING_KWARGS", "CallSettings"]

REASONING_KWARGS = frozenset(ReasoningConfig.model_fields) - {
    "draft_sampling",
    "target_sampling",
    "tool_schemas",
}
"""`ReasoningConfig` fields a caller may override per call."""


@dataclass(frozen=True)
class CallSettings:
    """Per-call settings of a reply (the front end has already filled in its defaults)."""

    config: ReasoningConfig
    """The call's reasoning settings (validated; the strategy's options included)."""
    stop: list[str] = field(default_factory=list)
    temperature: float | None = None
    max_tokens: int | None = None
    tools: list[dict[str, Any]] | None = None
    """OpenAI-format tools (shown to both models while reasoning, callable in the reply)."""
    tool_choice: Any = None
    parallel_tool_calls: bool | None = None
    """False: the reply calls at most one tool (asked of the server, and kept to the first)."""
    response_format: dict[str, Any] | None = None
    thread_id: str | None = None
    """Run the reasoning on this durable thread (the reasoner needs a checkpointer)."""

    @classmethod
    def resolve(
        cls,
        base: ReasoningConfig,
        *,
        stop: list[str] | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        tools: list[dict[str, Any]] | None = None,
        tool_choice: Any = None,
        parallel_tool_calls: bool | None = None,
        response_format: dict[str, Any] | None = None,
        overrides: Mapping[str, Any] | None = None,
        caller: str = "reply_stream",
        thread_id: str | None = None,
    ) -> CallSettings:
        """``base`` with ``overrides`` applied; `UserError` names any argument left over.

        ``caller`` names the front end in that error (e.g. the chat model's ``_llm_type``).
        """
        rest = dict(overrides or {})
        tools = tools or None  # create_agent binds tools=[]
        changes = {k: rest.pop(k) for k in list(rest) if k in REASONING_KWARGS}
        strategy = get_strategy(changes.get("strategy", base.strategy))  # UserError if unknown
        for key in [k for k in rest if k in strategy.Settings.model_fields]:
            changes[key] = rest.pop(key)  # the strategy's own setting -> options
        if rest:
            own = ", ".join(strategy.Settings.model_fields) or "none"
            msg = (
                f"unsupported arguments for {caller}: {sorted(rest)} (strategy "
                f"{strategy.name!r} takes: {own})"
            )
            raise UserError(msg)
        if tools:
            changes["tool_schemas"] = tools  # shown to both models while reasoning
        return cls(
            config=base.with_overrides(**changes) if changes else base,
            stop=list(stop or []),
            temperature=temperature,
            max_tokens=max_tokens,
            tools=tools,
            tool_choice=tool_choice if tools else None,
            parallel_tool_calls=parallel_tool_calls if tools else None,
            response_format=response_format,
            thread_id=thread_id,
        )

    def sampling(self) -> SamplingConfig:
        """The reply's sampling: the target's step sampling at the call's temperature."""
        sampling = self.config.target_sampling
        if self.temperature is not None:
            sampling = sampling.model_copy(update={"temperature": self.temperature})
        return sampling
