"""`Registry[T]`: the one by-name lookup behind every "register X, select it by name" seam.

Strategies, backend kinds, judge formulations, server quirks, model pairs, local models and
GPU presets are all chosen by a name a user types (a CLI flag, an env var, a config field).
They share one behaviour, written once here: registering a taken name is an error unless the
caller says ``replace=True`` (so a typo cannot silently shadow a built-in), and looking up an
unknown name raises a `UserError` that names the registry and lists the known names, which is
what a user needs to fix the typo.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from typing import Generic, TypeVar

from spec_graph.errors import UserError

__all__ = ["Registry"]

T = TypeVar("T")


class Registry(Generic[T]):
    """Named values of one kind, in registration order (built-ins first).

    ``what`` is the singular noun used in error messages (``"strategy"``, ``"backend kind"``).
    Thread-safe: registration may happen from import-time code in several threads.
    """

    def __init__(self, what: str, items: Mapping[str, T] | None = None) -> None:
        self.what = what
        self._items: dict[str, T] = {}
        self._lock = threading.Lock()
        for name, value in (items or {}).items():
            self.register(name, value)

    def register(self, name: str, value: T, *, replace: bool = False) -> T | None:
        """Make ``value`` selectable as ``name``; returns the value it replaced (or None).

        A name already taken by a different value is a `UserError` unless ``replace=True``.
        """
        if not name or not isinstance(name, str):
            raise UserError(f"a {self.what} name must be a non-empty string, got {name!r}")
        with self._lock:
            previous = self._items.get(name)
            if previous is not None and previous is not value and not replace:
                raise UserError(
                    f"a {self.what} named {name!r} is already registered (pass replace=True)"
                )
            self._items[name] = value
        return previous

    def unregister(self, name: str) -> T | None:
        """Remove ``name`` (for tests that register a temporary value); returns what was there."""
        with self._lock:
            return self._items.pop(name, None)

    def get(self, name: str) -> T:
        """The value registered as ``name``, or a `UserError` listing the known names."""
        try:
            return self._items[name]
        except KeyError:
            raise UserError(self.unknown(name)) from None

    def find(self, name: str) -> T | None:
        """The value registered as ``name``, or None (for lookups with a fallback)."""
        return self._items.get(name)

    def unknown(self, name: str) -> str:
        """The message for an unknown ``name``: what was asked and what is known."""
        known = ", ".join(self._items) or "(none)"
        return f"unknown {self.what} {name!r}; known: {known}"

    def __getitem__(self, name: str) -> T:
        """``registry[name]``: the same as `get` (a `UserError` naming the known ones)."""
        return self.get(name)

    def keys(self) -> list[str]:
        """Every registered name (so ``dict(registry)`` works)."""
        return self.names()

    def values(self) -> list[T]:
        """Every registered value, in registration order."""
        return list(self._items.values())

    def names(self) -> list[str]:
        """Every registered name, in registration order."""
        return list(self._items)

    def items(self) -> list[tuple[str, T]]:
        """(name, value) pairs, in registration order."""
        return list(self._items.items())

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._items))

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"Registry({self.what!r}, {self.names()})"
