"""The calculator re-checks the step's arithmetic: a free judge, no model call.

The claim parser reads ``expression = value`` claims (chains, currency, thousands separators,
LaTeX operators) out of free text; only what the calculator can evaluate counts as a claim, so
prose it cannot read is skipped rather than judged wrong.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from spec_graph.errors import SpecGraphError
from spec_graph.judging.contract import Verdict, check_abstain_score
from spec_graph.judging.view import StepView
from spec_graph.tools.calculator import evaluate

if TYPE_CHECKING:
    from spec_graph.nodes.context import SpecContext

__all__ = ["ArithmeticJudge"]

_NUMBER = r"\d+(?:\.\d+)?"
# a run of arithmetic: numbers, operators, parentheses, '=' and spaces (letters end it)
_RUN = re.compile(rf"(?:{_NUMBER}|\*\*|[-+*/^()=]|[ \t])+")
_BINARY_OP = re.compile(rf"(?:{_NUMBER}|\))\s*(?:\*\*|[-+*/^])")
_LEADING_NUMBER = re.compile(rf"\s*(-?{_NUMBER})\s*(?:\*\*|[-+*/^])")
_LITERAL = re.compile(rf"\s*-?{_NUMBER}\s*")
_REPLACEMENTS = (
    (re.compile(r"\\times|\\cdot|[×·⋅∗]"), "*"),  # noqa: RUF001 (the multiplication signs)
    (re.compile(r"\\div|÷"), "/"),
    (re.compile(r"[−–]"), "-"),  # noqa: RUF001 (minus sign, en dash)
    (re.compile(r"\\\$|\$|\\[()\[\],!;]"), ""),  # dollars, LaTeX math delimiters and spaces
    (re.compile(r"(?<=\d),(?=\d{3}(?!\d))"), ""),  # thousands separators: 1,200
    (re.compile(r"(?<=\d)\s*[xX]\s*(?=\d)"), " * "),  # 3 x 4
    (re.compile(r"\^"), "**"),  # 2^3 (the calculator reads ^ as xor and refuses it)
)


@dataclass(frozen=True)
class _Claim:
    written: str
    claimed: float
    right: float
    ok: bool


def _normalise(text: str) -> str:
    for pattern, replacement in _REPLACEMENTS:
        text = pattern.sub(replacement, text)
    return text


def _evaluate(expression: str) -> float | None:
    """The calculator's value of ``expression``, or None when it is not an expression."""
    expression = expression.strip()
    if not expression:
        return None
    try:
        value = float(evaluate(expression))
    except (SpecGraphError, ArithmeticError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _close(claimed: float, right: float, decimals: int | None, rel: float) -> bool:
    """Equal up to ``rel``, or up to the rounding of a claimed literal with decimals."""
    if abs(claimed - right) <= max(rel * abs(right), 1e-9):
        return True
    return (
        decimals is not None
        and decimals != 0
        and abs(claimed - right) <= 0.5 * 10.0**-decimals + 1e-9
    )


def _decimals(side: str) -> int | None:
    """Decimals of a side that is a plain number ("3.33": 2), else None."""
    if not _LITERAL.fullmatch(side):
        return None
    return len(side.strip().partition(".")[2])


def _trimmed(side: str, *, left: bool) -> tuple[str, float | None]:
    """The side and its value, trimmed of what the run caught around it.

    A left side loses a leading dangling operator or parenthesis ("apples - 3 = 7" is not
    "-3 = 7"; "(so 3 + 4 = 7)"), a right side a trailing one ("= 12 - so", "= 7)").
    """
    text = side.strip()
    while left and text and (text[0] in "+*/^" or re.match(r"-(?![\d(])", text)):
        text = text[1:].strip()  # a binary operator whose left operand was a word
    while text:
        if (value := _evaluate(text)) is not None:
            return text, value
        edge = text[0] if left else text[-1]
        if edge not in "+-*/^()":
            break
        text = (text[1:] if left else text[:-1]).strip()
    return text, None


def _check(left: str, value: float, right: str, right_value: float, rel: float) -> _Claim:
    """One claim ``left = right``; a running total ("2 + 3 = 5 + 1") checks its first number."""
    written = f"{left} = {right}"
    if _close(right_value, value, _decimals(right), rel):
        return _Claim(written, right_value, value, ok=True)
    lead = _LEADING_NUMBER.match(right)
    if lead is not None:
        number = float(lead.group(1))
        if _close(number, value, _decimals(lead.group(1)), rel):
            return _Claim(written, number, value, ok=True)
    return _Claim(written, right_value, value, ok=False)


def _claims(text: str, rel: float) -> list[_Claim]:
    """Every ``expression = value`` in ``text``, chains included, checked by the calculator.

    A chain ``2 + 3 = 5 + 1 = 6`` reads as a running computation: each side must equal the
    next, or the next must start with the value so far (``5 + 1`` continues ``2 + 3 = 5``).
    Only sides the calculator can evaluate are claims, and a pair of bare numbers is not one.
    """
    claims: list[_Claim] = []
    for run in _RUN.finditer(_normalise(text)):
        segments = run.group().split("=")
        if len(segments) < 2:
            continue
        left, value = _trimmed(segments[0], left=True)
        for segment in segments[1:]:
            complete = _evaluate(segment) is not None
            right, right_value = _trimmed(segment, left=False)
            if (
                value is not None
                and right_value is not None
                and (_BINARY_OP.search(left) or _BINARY_OP.search(right))
            ):
                claims.append(_check(left, value, right, right_value, rel))
            if not complete:  # the run went on past the number ("= 12 - so"): the chain ends
                break
            left, value = right, right_value
    return claims


@dataclass(frozen=True, eq=False)
class ArithmeticJudge:
    """The calculator re-checks every arithmetic claim in the step (free, no model call).

    Claims are ``expression = value`` ("3 * 4 = 12", "$3 x 4 = $12", "1,200 + 300 = 1,500",
    chains "2 + 3 = 5 + 1 = 6"), evaluated by `spec_graph.tools.calculator.evaluate` as written
    (operator precedence included). Score 9 when every claim checks, 0 when any is wrong
    (``detail["wrong"]`` lists them with the right values), abstain when the step has no
    checkable claim (then ``abstain_score``, default None). Equal means within ``rel``
    (relative), or within the rounding of a claimed number written with decimals
    ("10 / 3 = 3.33"). Text the calculator cannot read is skipped, never counted wrong.
    """

    name: str = "arithmetic"
    abstain_score: float | None = None
    rel: float = 1e-6

    def __post_init__(self) -> None:
        check_abstain_score("ArithmeticJudge", self.abstain_score)

    async def ascore(self, view: StepView, ctx: SpecContext) -> Verdict:
        """Check the claims in ``view.candidate``."""
        return self.check(view.candidate)

    def check(self, text: str) -> Verdict:
        """The verdict on ``text`` (no model, no context needed: offline analyses use it)."""
        claims = _claims(text, self.rel)
        if not claims:
            return Verdict(score=self.abstain_score, abstain=True, detail={"claims": 0})
        wrong = [
            {"claim": c.written, "written": _plain(c.claimed), "right": _plain(c.right)}
            for c in claims
            if not c.ok
        ]
        detail: dict[str, Any] = {"claims": len(claims), "wrong": wrong}
        return Verdict(score=0.0 if wrong else 9.0, detail=detail)


def _plain(value: float) -> int | float:
    return int(value) if value.is_integer() else value
