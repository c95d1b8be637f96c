"""The calculator: what models write is read, anything but arithmetic is refused clearly."""

from __future__ import annotations

import time

import pytest

from spec_graph.errors import SpecGraphError
from spec_graph.tools import ToolError, calculator, evaluate
from spec_graph.tools.calculator import MAX_EXPRESSION_CHARS, format_number


@pytest.mark.parametrize(
    ("expression", "value"),
    [
        ("12*7", 84),
        ("(3 + 4) * 2", 14),
        ("-(2 + 3) ** 2", -25),
        ("7 // 2", 3),
        ("7 % 3", 1),
        ("2 ** 10", 1024),
        ("8 / 2", 4.0),
        ("1,000 + 2,500", 3500),
        ("1,234,567 * 2", 2469134),
        ("3 x 4", 12),
        ("2.5x4", 10.0),
        ("6 ÷ 4", 1.5),
        ("2 × 3", 6),  # noqa: RUF001
        ("−3 + 1", -2),  # noqa: RUF001
        ("12*7 =", 84),
        ("sqrt(16)", 4.0),
        ("floor(7 / 2)", 3),
        ("ceil(7 / 2)", 4),
        ("round(2.675, 2)", 2.67),
        ("min(3, 1, 2)", 1),
        ("max(1, 234)", 234),
        ("abs(-5)", 5),
    ],
)
def test_evaluates_what_models_write(expression: str, value: float):
    result = evaluate(expression)
    assert result == value
    assert type(result) is type(value)


def test_integers_stay_exact():
    assert evaluate("2**100") == 2**100
    assert evaluate("123456789 * 987654321") == 121932631112635269


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("1/0", "division by zero"),
        ("5 % 0", "division by zero"),
        ("2^10", "operator '^' is not supported (use ** for powers)"),
        ("1 << 3", "operator '<<' is not supported"),
        ("__import__('os')", "unknown function '__import__'"),
        ("'a' * 3", "only numbers are allowed"),
        ("True + 1", "only numbers are allowed"),
        ("y + 1", "unknown name 'y'"),
        ("1; 2", "invalid syntax"),
        ("2 +", "invalid syntax"),
        ("(1).real", "Attribute is not allowed"),
        ("[1, 2]", "List is not allowed"),
        ("1 < 2", "Compare is not allowed"),
        ("2(3 + 4)", "implicit multiplication"),
        ("(-8) ** 0.5", "not a real number"),
        ("1e308 * 10", "not finite"),
        ("exp(1000)", "too large"),
        ("sqrt(-1)", "math domain error"),
    ],
)
def test_refuses_with_a_clear_one_line_message(expression: str, reason: str):
    with pytest.raises(ToolError) as info:
        evaluate(expression)
    message = str(info.value)
    assert message.startswith(f"cannot evaluate {expression!r}: ")
    assert reason in message
    assert "\n" not in message


def test_tool_error_is_a_spec_graph_error():
    assert issubclass(ToolError, SpecGraphError)


def test_bounds_refuse_huge_work_fast():
    started = time.perf_counter()
    for expression in ("9**9**9", "10**1001", "(2**3000) * (2**3000)"):
        with pytest.raises(ToolError, match="more than 1000 digits"):
            evaluate(expression)
    assert time.perf_counter() - started < 0.5
    assert evaluate("2**2000") == 2**2000  # 603 digits: within the bound


def test_length_and_empty_input_are_refused():
    with pytest.raises(ToolError, match=f"longer than {MAX_EXPRESSION_CHARS}"):
        evaluate("1+" * MAX_EXPRESSION_CHARS + "1")
    with pytest.raises(ToolError, match="empty"):
        evaluate("  ")


def test_format_number_is_what_a_model_should_copy():
    assert format_number(42.0) == "42"
    assert format_number(0.1 + 0.2) == "0.3"
    assert format_number(2**70) == str(2**70)
    assert format_number(1.5e20) == "1.5e+20"


def test_calculator_tool():
    assert calculator.name == "calculator"
    assert list(calculator.args) == ["expression"]
    assert "sqrt" in calculator.description
    assert calculator.invoke({"expression": "84 / 2"}) == "42"
    assert calculator.invoke({"expression": "1,200 x 3"}) == "3600"
    with pytest.raises(ToolError, match="division by zero"):
        calculator.invoke({"expression": "1/0"})
