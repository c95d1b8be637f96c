"""Strategies: named presets of the shared node library, and the registry that names them.

Built in: ``specreason`` (default; with optional confidence gating), ``scot``, ``handoff``,
``best-of-n``, and the baselines ``target-only`` and ``draft-only``. A strategy of your own
is one `Strategy` subclass (`StepLevelStrategy` for a draft -> check -> correct loop) and one
`register_strategy` call; the CLI's ``--strategy``, the chat model, ``spec-graph bench`` modes
and `ReasoningResult.strategy` then know it. Its analytic speed bound, if it has one, is
registered with the benchmark (`spec_graph.bench.bounds.register_bound`).
"""

from __future__ import annotations

import warnings
from typing import Any, cast

from spec_graph.errors import UserError
from spec_graph.reasoning import STRATEGIES
from spec_graph.strategies.base import NodeSpec, StepLevelStrategy, Strategy, StrategySettings
from spec_graph.strategies.baselines import DraftOnly, TargetOnly
from spec_graph.strategies.best_of_n import BestOfN, BestOfNSettings
from spec_graph.strategies.handoff import HandOff, HandOffSettings
from spec_graph.strategies.scot import SCoT, SCoTSettings
from spec_graph.strategies.specreason import SpecReason, SpecReasonSettings

__all__ = [
    "BestOfN",
    "BestOfNSettings",
    "DraftOnly",
    "HandOff",
    "HandOffSettings",
    "NodeSpec",
    "SCoT",
    "SCoTSettings",
    "SpecReason",
    "SpecReasonSettings",
    "StepLevelStrategy",
    "Strategy",
    "StrategySettings",
    "TargetOnly",
    "get_strategy",
    "register_strategy",
    "strategy_names",
    "unregister_strategy",
]


def register_strategy(strategy: Strategy, *, replace: bool = False) -> Strategy:
    """Make ``strategy`` selectable by its name everywhere; returns it.

    A name already taken is an error unless ``replace=True`` (so a typo cannot silently
    shadow a built-in). The registry is `spec_graph.config.STRATEGIES`, where
    `ReasoningConfig` validates a strategy's name and options.
    """
    if not isinstance(strategy, Strategy):
        raise UserError(f"register_strategy takes a Strategy instance, got {strategy!r}")
    name = getattr(strategy, "name", "")
    if not name or not isinstance(name, str):
        raise UserError(f"{type(strategy).__name__} has no name")
    STRATEGIES.register(name, strategy, replace=replace)
    return strategy


def get_strategy(name: str) -> Strategy:
    """The registered strategy called ``name``, or a `UserError` listing the known ones."""
    return cast(Strategy, STRATEGIES.get(name))


def unregister_strategy(name: str) -> Strategy | None:
    """Remove the strategy called ``name`` (a test's temporary one); returns what was there."""
    return cast("Strategy | None", STRATEGIES.unregister(name))


class _RegistryView:
    """The registry as the ``_REGISTRY`` dict of earlier releases (``pop`` only)."""

    def pop(self, name: str, default: Any = None) -> Any:
        found = STRATEGIES.unregister(name)
        return default if found is None else found


_REGISTRY = _RegistryView()


def strategy_names() -> list[str]:
    """Names of every registered strategy, built-ins first."""
    return STRATEGIES.names()


def __getattr__(name: str) -> Any:
    """``SpeedBound`` moved to the benchmark (`spec_graph.bench.bounds`)."""
    if name == "SpeedBound":
        warnings.warn(
            "spec_graph.strategies.SpeedBound is deprecated: use spec_graph.bench.bounds",
            DeprecationWarning,
            stacklevel=2,
        )
        from spec_graph.bench.bounds import SpeedBound

        return SpeedBound
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


for _builtin in (SpecReason(), TargetOnly(), DraftOnly(), SCoT(), HandOff(), BestOfN()):
    register_strategy(_builtin)
