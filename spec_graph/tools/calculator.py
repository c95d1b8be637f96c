"""Safe arithmetic for reasoning steps: the `calculator` tool.

Small models get multi-digit arithmetic wrong far more often than they get the setup wrong,
so a step that can hand ``12*7`` to a calculator saves a correction by the target. The
expression is parsed with `ast` and checked against a short allow-list (numbers, the
arithmetic operators, a few math functions) *before* `simpleeval` evaluates it, so every
refusal has a precise message and nothing but arithmetic ever runs.

Bounds keep one call cheap whatever a model writes: the expression is at most
`MAX_EXPRESSION_CHARS` long, and powers and products whose integer result would exceed
`MAX_RESULT_DIGITS` digits are refused before they are computed (``9**9**9`` fails in
microseconds instead of running for minutes).

The input is what models actually write: ``1,000`` (thousands separators), ``3 x 4``,
the multiplication and division signs, the Unicode minus and a trailing ``=`` are accepted.
"""

from __future__ import annotations

import ast
import math
import operator
import re
from collections.abc import Callable
from typing import Any

from langchain_core.tools import BaseTool, tool
from pydantic import BaseModel, Field
from simpleeval import SimpleEval

from spec_graph.tools._errors import ToolError

__all__ = [
    "MAX_EXPRESSION_CHARS",
    "MAX_RESULT_DIGITS",
    "calculator",
    "evaluate",
    "format_number",
]

MAX_EXPRESSION_CHARS = 500
MAX_RESULT_DIGITS = 1000
"""Integer results (and intermediate products and powers) may have at most this many digits."""

_MAX_BITS = math.ceil(MAX_RESULT_DIGITS * math.log2(10))

_OPERATOR_SYMBOLS: dict[type[ast.AST], str] = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.Pow: "**",
    ast.USub: "-",
    ast.UAdd: "+",
    ast.BitXor: "^",
    ast.BitAnd: "&",
    ast.BitOr: "|",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.Invert: "~",
    ast.MatMult: "@",
}


def _too_large() -> ToolError:
    return ToolError(f"the result would have more than {MAX_RESULT_DIGITS} digits")


def _mult(a: Any, b: Any) -> Any:
    if isinstance(a, int) and isinstance(b, int) and a.bit_length() + b.bit_length() > _MAX_BITS:
        raise _too_large()
    return a * b


def _power(a: Any, b: Any) -> Any:
    # An int power's size is b * bits(a); refuse before computing it. Float powers overflow
    # by themselves (OverflowError), quickly.
    big = isinstance(a, int) and isinstance(b, int) and b > 0 and abs(a) > 1
    if big and b * math.log2(abs(a)) > _MAX_BITS:
        raise _too_large()
    return a**b


_OPERATORS: dict[type[ast.AST], Callable[..., Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: _mult,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: _power,
    ast.USub: operator.neg,
    ast.UAdd: operator.pos,
}

_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "sqrt": math.sqrt,
    "round": round,
    "abs": abs,
    "min": min,
    "max": max,
    "floor": math.floor,
    "ceil": math.ceil,
    "log": math.log,
    "exp": math.exp,
}

_NAMES: dict[str, float] = {"pi": math.pi, "e": math.e}

_THOUSANDS = re.compile(r"(?<![\w.])\d{1,3}(?:,\d{3})+(?![\d])")
_TIMES_X = re.compile(r"(?<=[\d.)])\s*[xX]\s*(?=[\d.(])")


def _normalize(expression: str) -> str:
    """Rewrite the notations models write into Python arithmetic."""
    text = expression.strip().rstrip("=").strip()
    text = text.replace("×", "*").replace("÷", "/").replace("−", "-")  # noqa: RUF001
    text = _THOUSANDS.sub(lambda m: m.group().replace(",", ""), text)
    return _TIMES_X.sub("*", text)


def _check(node: ast.AST) -> None:
    """Refuse anything but numbers, the allowed operators, names and function calls."""
    if isinstance(node, ast.Expression):
        _check(node.body)
    elif isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ToolError(f"only numbers are allowed, not {value!r}")
    elif isinstance(node, (ast.BinOp, ast.UnaryOp)):
        if type(node.op) not in _OPERATORS:
            symbol = _OPERATOR_SYMBOLS.get(type(node.op), type(node.op).__name__)
            hint = " (use ** for powers)" if symbol == "^" else ""
            raise ToolError(f"operator {symbol!r} is not supported{hint}")
        for child in (node.left, node.right) if isinstance(node, ast.BinOp) else (node.operand,):
            _check(child)
    elif isinstance(node, ast.Name):
        if node.id not in _NAMES:
            raise ToolError(f"unknown name {node.id!r} (only numbers, pi and e)")
    elif isinstance(node, ast.Call):
        if isinstance(node.func, ast.Constant):
            raise ToolError("implicit multiplication is not supported; write 2*(3+4)")
        name = node.func.id if isinstance(node.func, ast.Name) else None
        if name not in _FUNCTIONS:
            shown = name or ast.unparse(node.func)
            raise ToolError(f"unknown function {shown!r}; allowed: {', '.join(_FUNCTIONS)}")
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                raise ToolError("*arguments are not supported")
            _check(arg)
        for keyword in node.keywords:
            if keyword.arg is None:
                raise ToolError("**arguments are not supported")
            _check(keyword.value)
    else:
        raise ToolError(f"{type(node).__name__} is not allowed (only arithmetic)")


def evaluate(expression: str) -> int | float:
    """The value of an arithmetic expression, or `ToolError` saying why there is none.

    Integers stay exact (``2**100`` is an int); ``/`` is true division (``8/2 == 4.0``).
    """
    if not isinstance(expression, str):
        raise ToolError(f"the expression must be a string, not {type(expression).__name__}")
    if len(expression) > MAX_EXPRESSION_CHARS:
        raise ToolError(f"the expression is longer than {MAX_EXPRESSION_CHARS} characters")
    text = _normalize(expression)
    if not text:
        raise ToolError("the expression is empty")
    try:
        value = _evaluate(text)
    except ToolError as error:
        raise ToolError(f"cannot evaluate {expression.strip()!r}: {error}") from None
    except ZeroDivisionError:
        raise ToolError(f"cannot evaluate {expression.strip()!r}: division by zero") from None
    except OverflowError:
        raise ToolError(
            f"cannot evaluate {expression.strip()!r}: the result is too large"
        ) from None
    except (ArithmeticError, TypeError, ValueError) as error:
        raise ToolError(f"cannot evaluate {expression.strip()!r}: {error}") from None
    return value


def _evaluate(text: str) -> int | float:
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as error:
        detail = "" if error.msg == "invalid syntax" else f" ({error.msg})"
        raise ToolError(f"invalid syntax{detail}") from None
    _check(tree)
    evaluator = SimpleEval(operators=_OPERATORS, functions=_FUNCTIONS, names=_NAMES)
    value = evaluator.eval(text, previously_parsed=tree.body)
    if isinstance(value, complex):
        raise ToolError("the result is not a real number")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ToolError(f"the result is not a number ({type(value).__name__})")
    if isinstance(value, float) and not math.isfinite(value):
        raise ToolError("the result is not finite")
    if isinstance(value, int) and value.bit_length() > _MAX_BITS:
        raise _too_large()
    return value


def format_number(value: int | float) -> str:
    """The text a model reads for a value: exact ints, floats to 15 significant digits.

    Integral floats print without ``.0`` (``84/2`` -> ``42``) and binary noise is hidden
    (``0.1+0.2`` -> ``0.3``): a small model copies what it reads.
    """
    if isinstance(value, int):
        return str(value)
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return format(value, ".15g")


class CalculatorInput(BaseModel):
    """The calculator's one argument."""

    expression: str = Field(
        description="An arithmetic expression, e.g. '12*7' or 'sqrt(2)/3' or '1,250 * 0.8'."
    )


_DESCRIPTION = (
    "Evaluate an arithmetic expression exactly. Supports + - * / // % ** and parentheses, "
    "the functions sqrt, round, abs, min, max, floor, ceil, log, exp, and pi and e."
)


@tool("calculator", args_schema=CalculatorInput, description=_DESCRIPTION)
def _calculator(expression: str) -> str:
    """Evaluate ``expression`` and return the number as text (see `format_number`)."""
    return format_number(evaluate(expression))


calculator: BaseTool = _calculator
"""The calculator as a LangChain tool (name ``calculator``, one argument ``expression``)."""
