"""Strategies: named presets of the shared node library, and the registry that names them.

Built in: ``specreason`` (default; with optional confidence gating), ``scot``, ``handoff``,
``best-of-n``, and the baselines ``target-only`` and ``draft-only``. A strategy of your own
is one `Strategy` subclass and one `register_strategy` call; the CLI's ``--strategy``, the
chat model, ``spec-graph bench`` modes and `ReasoningResult.strategy` then know it.
"""

from __future__ import annotations

import threading

from spec_graph.errors import UserError
from spec_graph.strategies._base import NodeSpec, SpeedBound, Strategy, StrategySettings
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
    "SpeedBound",
    "Strategy",
    "StrategySettings",
    "TargetOnly",
    "get_strategy",
    "register_strategy",
    "strategy_names",
]

_REGISTRY: dict[str, Strategy] = {}
_LOCK = threading.Lock()


def register_strategy(strategy: Strategy, *, replace: bool = False) -> Strategy:
    """Make ``strategy`` selectable by its name everywhere; returns it.

    A name already taken is an error unless ``replace=True`` (so a typo cannot silently
    shadow a built-in).
    """
    if not isinstance(strategy, Strategy):
        raise UserError(f"register_strategy takes a Strategy instance, got {strategy!r}")
    name = getattr(strategy, "name", "")
    if not name or not isinstance(name, str):
        raise UserError(f"{type(strategy).__name__} has no name")
    with _LOCK:
        if name in _REGISTRY and not replace and _REGISTRY[name] is not strategy:
            raise UserError(f"a strategy named {name!r} is already registered (replace=True)")
        _REGISTRY[name] = strategy
    return strategy


def get_strategy(name: str) -> Strategy:
    """The registered strategy called ``name``, or a `UserError` listing the known ones."""
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(_REGISTRY)
        raise UserError(f"unknown strategy {name!r}; known: {known}") from None


def strategy_names() -> list[str]:
    """Names of every registered strategy, built-ins first."""
    return list(_REGISTRY)


for _builtin in (SpecReason(), TargetOnly(), DraftOnly(), SCoT(), HandOff(), BestOfN()):
    register_strategy(_builtin)
