"""`warn_at_caller`: a `DeprecationWarning` that names the user's line, not ours."""

from __future__ import annotations

import os
import sys
import warnings

import langchain_core
import pydantic
import pydantic_core

__all__ = ["warn_at_caller"]

_WRAPPER_DIRS = tuple(
    os.path.dirname(m.__file__ or "") + os.sep for m in (pydantic, pydantic_core, langchain_core)
)
_OWN_DIR = os.path.dirname(__file__) + os.sep


def warn_at_caller(message: str) -> None:
    """Warn (`DeprecationWarning`) at the caller's line.

    The chat model's own frames and those of pydantic's and langchain-core's ``__init__``
    are skipped, so the warning names the user's code and Python's default filters show it
    in scripts.
    """
    frame = sys._getframe(1)
    level = 2
    while frame.f_back is not None and frame.f_code.co_filename.startswith(
        (_OWN_DIR, *_WRAPPER_DIRS)
    ):
        frame = frame.f_back
        level += 1
    warnings.warn(message, DeprecationWarning, stacklevel=level)
