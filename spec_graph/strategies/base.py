"""`Strategy`: a named way of wiring the shared nodes into a graph, with its own settings.

A strategy owns three things: its settings model (validated from ``ReasoningConfig.options``),
its state schema (the channels it needs beyond `SpecState`), and its graph (which shared
nodes, and where each may route). Routing *after a kept step* is its `Strategy.next_node`;
`spec_graph.nodes.keep` asks it, so the nodes stay generic. How fast a strategy could be is
the benchmark's business (`spec_graph.bench.bounds`), not the strategy's.

`StepLevelStrategy` is the base of the draft -> check -> correct strategies (SpecReason,
best-of-n): the node table, the warm-up routing and the entries are written once there.

Register one with `spec_graph.strategies.register_strategy`; the CLI (``--strategy``), the
chat model, ``bench`` modes and `ReasoningResult.strategy` all read the registry.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from langchain_core.language_models import BaseChatModel
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import Checkpointer
from pydantic import BaseModel, ConfigDict, ValidationError

from spec_graph import nodes
from spec_graph.errors import UserError
from spec_graph.hooks import Around, Hook, hooked, with_model
from spec_graph.nodes import SpecContext, run_tools, start_condition
from spec_graph.state import SpecState

if TYPE_CHECKING:
    from spec_graph.reasoning import ReasoningConfig

__all__ = ["NodeSpec", "StepLevelStrategy", "Strategy", "StrategySettings", "built_for"]

_BUILT_FOR: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()


def built_for(graph: Any) -> str | None:
    """The name of the strategy whose `Strategy.build` compiled ``graph`` (None: unknown)."""
    try:
        return _BUILT_FOR.get(graph)
    except TypeError:  # not weak-referenceable: not one of ours
        return None


NodeSpec = tuple[Callable[..., Any], tuple[str, ...]]
"""A node's default function and the nodes it may route to (for the drawn graph)."""


def _listed(value: Any) -> list[Any]:
    """One hook or a list of them, as a list."""
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


async def _no_op(state: Any) -> dict[str, Any]:
    """The ``start`` node's own work (none: its hooks are the point)."""
    return {}


class StrategySettings(BaseModel):
    """Base of every strategy's own settings (``ReasoningConfig.options``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Strategy:
    """Base class: subclass, set the class attributes, implement `nodes` and the routing."""

    name: ClassVar[str]
    summary: ClassVar[str]
    """One line for ``--help`` and the docs."""
    Settings: ClassVar[type[StrategySettings]] = StrategySettings
    State: ClassVar[type[Any]] = SpecState
    entries: ClassVar[tuple[str, ...]] = ("answer",)
    """The nodes a run may start at (besides ``answer``), for the drawn graph."""
    tool_steps: ClassVar[bool] = True
    """Steps may call tools: the graph has a ``tools`` node that `spec_graph.nodes.keep` routes
    to when a kept step holds tool calls (strategies that never keep single steps say False)."""

    def __init__(self) -> None:
        self._graph: CompiledStateGraph[Any, Any, Any, Any] | None = None

    def __repr__(self) -> str:
        return f"<strategy {self.name!r}>"

    # -- what subclasses define ---------------------------------------------------------------

    def nodes(self) -> dict[str, NodeSpec]:
        """Node name -> (default function, destinations). Must include ``answer``."""
        raise NotImplementedError

    def first_node(self, state: SpecState, ctx: SpecContext) -> str:
        """Where a run starts (default: where a chain with these steps would go on)."""
        return self.next_node(state, ctx)

    def next_node(self, state: SpecState, ctx: SpecContext) -> str:
        """Where the chain goes after a step is kept and the chain goes on."""
        raise NotImplementedError

    def telemetry(self, state: Mapping[str, Any]) -> dict[str, Any]:
        """The strategy's own telemetry for `ReasoningResult.telemetry`."""
        return dict(state.get("telemetry") or {})

    # -- shared machinery ---------------------------------------------------------------------

    def options(self, config: ReasoningConfig) -> StrategySettings:
        """``config.options`` as this strategy's settings (a `UserError` naming bad keys).

        A config of this strategy has them already (`ReasoningConfig.strategy_settings`,
        validated once); any other config's options are validated here.
        """
        settings = config.strategy_settings
        if (
            config.strategy == self.name
            and isinstance(settings, self.Settings)
            and settings.model_dump(mode="json", exclude_unset=True) == dict(config.options)
        ):
            return settings
        try:
            return self.Settings.model_validate(config.options)
        except ValidationError as e:
            known = ", ".join(self.Settings.model_fields) or "none"
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in e.errors()
            )
            msg = f"invalid options for strategy {self.name!r} ({problems}; known: {known})"
            raise UserError(msg) from e

    def build(
        self,
        *,
        checkpointer: Checkpointer = None,
        name: str | None = None,
        before: Mapping[str, Hook | Sequence[Hook]] | None = None,
        after: Mapping[str, Hook | Sequence[Hook]] | None = None,
        around: Mapping[str, Around | Sequence[Around]] | None = None,
        **overrides: Any,
    ) -> CompiledStateGraph[Any, Any, Any, Any]:
        """Compile this strategy's graph, with any node replaced by your own or hooked.

        A replacement is anything LangGraph accepts as a node (an async function of
        ``(state)`` or ``(state, runtime)``, a Runnable) that returns what the node it
        replaces returns: a `Command` saying where the chain goes next (``answer`` returns a
        plain update and the run ends after it). A LangChain chat model as ``draft``,
        ``correct``, ``span`` or ``answer`` runs the default node with that model writing
        (`spec_graph.hooks.with_model`).

        ``before`` / ``after`` / ``around`` map a node name to one hook or a list of them
        (`spec_graph.hooks`); ``before={"start": ...}`` runs once, before the first node.
        """
        defaults = self.nodes()
        if self.tool_steps:  # any node that keeps a step may route to the tool runner
            defaults = {
                n: (fn, (*dests, "tools") if n != "answer" else dests)
                for n, (fn, dests) in defaults.items()
            }
            defaults["tools"] = (
                run_tools,
                (*(n for n in defaults if n != "answer"), "answer"),
            )
        hooks = {"before": before or {}, "after": after or {}, "around": around or {}}
        known = list(defaults)
        for kind, table in hooks.items():
            allowed = [*known, "start"] if kind == "before" else known
            self._check_nodes(table, f"{kind} hooks", allowed)
        self._check_nodes(overrides, "replacements", known)
        builder = StateGraph(self.State, context_schema=SpecContext)
        for node, (default, destinations) in defaults.items():
            chosen = overrides.get(node) or default
            if isinstance(chosen, BaseChatModel):  # a LangChain model writes for this node
                chosen = with_model(default, node, chosen)
            befores, afters, arounds = (_listed(hooks[k].get(node)) for k in hooks)
            if befores or afters or arounds:
                chosen = hooked(chosen, self.State, before=befores, after=afters, around=arounds)
            builder.add_node(node, chosen, destinations=destinations or None)
        entries = list(dict.fromkeys([*self.entries, "answer"]))
        start_hooks = _listed(hooks["before"].get("start"))
        if start_hooks:
            builder.add_node("start", hooked(_no_op, self.State, before=start_hooks))
            builder.add_edge(START, "start")
            builder.add_conditional_edges("start", start_condition, entries)
        else:
            builder.add_conditional_edges(START, start_condition, entries)
        builder.add_edge("answer", END)
        graph = builder.compile(checkpointer=checkpointer, name=name or f"spec-graph:{self.name}")
        _BUILT_FOR[graph] = self.name
        return graph

    def _check_nodes(self, named: Mapping[str, Any], what: str, allowed: list[str]) -> None:
        """A `UserError` for the first name in ``named`` that is not a node of this graph."""
        unknown = sorted(set(named) - set(allowed))
        if unknown:
            msg = (
                f"strategy {self.name!r} has no node {unknown[0]!r} (in {what}); "
                f"its nodes: {', '.join(allowed)}"
            )
            raise UserError(msg)

    def graph(self) -> CompiledStateGraph[Any, Any, Any, Any]:
        """The default compiled graph (compiled once per strategy object)."""
        if self._graph is None:
            self._graph = self.build()
        return self._graph


class StepLevelStrategy(Strategy):
    """Base of the step-level strategies: draft a step, check it, keep it or correct it.

    Subclasses name the two nodes that differ (``draft_node``, and ``check_node`` under the
    name ``check``); the table below, the entries and the warm-up routing (the target writes
    the first ``warmup_steps``) are shared. A new step-level strategy is a settings model
    and one or two node functions::

        class Mine(StepLevelStrategy):
            name = "mine"
            summary = "..."
            check = "judge"
            check_node = staticmethod(my_judge)
    """

    entries: ClassVar[tuple[str, ...]] = ("draft", "correct")
    after: ClassVar[tuple[str, ...]] = ("draft", "correct", "answer")
    """Where a checked (or corrected) step may lead."""
    check: ClassVar[str] = "judge"
    """The name of the checking node (``judge``, ``select``)."""
    draft_node: ClassVar[Callable[..., Any]] = staticmethod(nodes.draft)
    check_node: ClassVar[Callable[..., Any]] = staticmethod(nodes.judge)
    draft_routes: ClassVar[tuple[str, ...] | None] = None
    """Where the draft node may go (None: to the check node or wherever a kept step goes)."""

    def nodes(self) -> dict[str, NodeSpec]:
        """Draft -> check -> (keep | correct) -> ..., and the answer."""
        draft_routes = self.draft_routes or (self.check, *self.after)
        return {
            "draft": (type(self).draft_node, draft_routes),
            self.check: (type(self).check_node, self.after),
            "correct": (nodes.correct, self.after),
            "answer": (nodes.answer, ()),
        }

    def next_node(self, state: SpecState, ctx: SpecContext) -> str:
        """The target writes during the warm-up, the draft after it."""
        return "correct" if nodes.warming_up(state, ctx) else "draft"
