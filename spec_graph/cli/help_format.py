"""How ``--help`` names option values: ``TEXT``, ``INTEGER``, ``PATH``, as click CLIs do.

Recent typer labels every value with its Python type (``<str>``, ``<list[str]>``, and
``<bool>`` even on a flag, which takes no value), which reads like a type annotation rather
than a command's help. The command classes here give each option without a metavar of its
own the click-style name of its type (a flag none), and each argument its name in capitals
(``QUESTION``); older typer, which prints click's names itself, is left as it is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, get_args, get_origin

from typer.core import TyperArgument, TyperCommand, TyperGroup

__all__ = ["PlainHelpCommand", "PlainHelpGroup", "value_name"]

_NAMES: dict[Any, str] = {str: "TEXT", int: "INTEGER", float: "FLOAT", Path: "PATH"}


def value_name(param: Any) -> str | None:
    """The click-style name of what ``param`` takes ("" for a flag); None: typer's own label.

    Reads typer's view of the parameter's type where it has one (``type_descriptor``, typer
    0.2x); choices keep typer's list of them, and a range's bounds are shown after the name.
    """
    if getattr(param, "is_flag", False):
        return ""
    descriptor = getattr(param, "type_descriptor", None)
    if descriptor is None or getattr(descriptor, "is_choice", False):
        return None
    annotation = descriptor.annotation
    if get_origin(annotation) is list:  # a repeatable option: the name of one value
        (annotation,) = get_args(annotation)
    return _NAMES.get(annotation)


class _PlainArgument(TyperArgument):
    """An argument whose type column is `value_name` (typer ignores an argument's metavar)."""

    def display_type_rich(self, ctx: Any) -> str | None:
        name = value_name(self)
        return name if name is not None else super().display_type_rich(ctx)


def _plain(params: list[Any]) -> list[Any]:
    for param in params:
        if isinstance(param, TyperArgument):
            if param.metavar is None and param.name:
                param.metavar = param.name.upper()  # "Usage: spec-graph ask [QUESTION]"
            param.__class__ = _PlainArgument  # same state, one method more
        elif param.metavar is None:
            param.metavar = value_name(param)
    return params


class PlainHelpCommand(TyperCommand):
    """A command whose ``--help`` names values the click way (`value_name`)."""

    def get_params(self, ctx: Any) -> list[Any]:
        """The parameters, ``--help`` included (added here, not in ``params``), renamed."""
        return _plain(super().get_params(ctx))


class PlainHelpGroup(TyperGroup):
    """The command group, its own options (``--version``) named like its commands'."""

    def get_params(self, ctx: Any) -> list[Any]:
        """The parameters, ``--help`` included (added here, not in ``params``), renamed."""
        return _plain(super().get_params(ctx))
