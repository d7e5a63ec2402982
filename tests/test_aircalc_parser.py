"""AirCalc's exact parser and the beam search over symbol candidates."""

from __future__ import annotations

import re
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keraslab.projects.aircalc.beam import best_parseable
from keraslab.projects.aircalc.parser import ExpressionError, calculate, format_value, leading_dots


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("12+7×3", 33),
        ("2+3×4-5", 9),
        ("(2+3)×4", 20),
        ("8÷4÷2", 1),
        ("8/4/2", 1),
        ("2-3-4", -5),
        ("-3×-2", 6),
        ("-(2-5)", 3),
        ("--4", 4),
        ("2×-(1+1)", -4),
        ("0.1+0.2", Fraction(3, 10)),
        ("1.5×4", 6),
        ("1÷3×3", 1),
        ("007", 7),
        ("2 * 3 − 1", 5),
        ("2·3", 6),  # the multiplication dot
        ("2·.5", 1),  # a dot at mid-height, then a decimal point
        ("2.3", Fraction(23, 10)),
        ("1+2·3", 7),  # · binds like ×
        (".5+1", Fraction(3, 2)),
    ],
)
def test_precedence_unary_minus_decimals_are_exact(text: str, value: Fraction) -> None:
    assert calculate(text).value == value


def test_values_print_exactly() -> None:
    assert calculate("0.1+0.2").text == "0.3"
    assert calculate("-1÷8").text == "-0.125"
    assert calculate("1÷3").text == "1/3 ≈ 0.333333333333"
    assert format_value(Fraction(-5, 2)) == "-2.5"


@pytest.mark.parametrize(
    ("text", "message", "position"),
    [
        ("7÷(2-2)", "division by zero", 1),
        ("1++2", "expected a number", 2),
        ("(1+2", "expected ')'", 4),
        ("1+2)", "unexpected symbol", 3),
        ("1.2.3", "unexpected symbol", 3),
        (".", "expected a digit after the decimal point", 1),
        ("2··3", "expected a number", 2),
        ("3.", "expected a digit after the decimal point", 2),
        ("2(3)", "unexpected symbol", 1),
        ("", "empty expression", 0),
        ("4%2", "unexpected symbol", 1),
        ("(" * 60 + "1" + ")" * 60, "nested parentheses", 50),
    ],
)
def test_errors_say_what_and_where(text: str, message: str, position: int) -> None:
    with pytest.raises(ExpressionError, match=re.escape(message)) as info:
        calculate(text)
    assert info.value.position == position
    assert ("at the end" in str(info.value)) == (position >= len(text))


def test_huge_results_are_refused_not_crashing() -> None:
    with pytest.raises(ExpressionError, match="too large"):
        calculate("×".join(["9" * 200] * 60))


ALPHABET = "0123456789+-×÷/().*−x %a²·"
STRINGS = st.one_of(st.text(alphabet=ALPHABET, max_size=30), st.text(max_size=10))


@settings(max_examples=250, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(STRINGS, min_size=40, max_size=40))
def test_fuzz_only_the_parsers_own_error(texts: list[str]) -> None:
    """250 examples × 40 strings: 10,000 random strings, each valid or refused with an ExpressionError."""
    for text in texts:
        try:
            result = calculate(text)
        except ExpressionError as exc:
            assert 0 <= exc.position <= len(exc.text)
        else:
            assert isinstance(result.value, Fraction)
            assert result.text


def test_beam_search_picks_the_most_probable_parseable_reading() -> None:
    candidates = [
        [("1", 0.9), ("/", 0.1)],
        [("+", 0.6), ("×", 0.3), ("-", 0.1)],
        [("+", 0.5), ("2", 0.45), ("(", 0.05)],  # "1++" does not parse: the second "+" must become a digit
        [("3", 0.99), (")", 0.01)],
    ]
    text, probability = best_parseable(candidates)
    assert text == "1+23"
    assert probability == pytest.approx(0.9 * 0.6 * 0.45 * 0.99)


def test_beam_search_gives_none_when_nothing_parses() -> None:
    assert best_parseable([[("+", 0.7), ("×", 0.3)]]) is None


def test_beam_search_prefers_a_number_with_its_leading_digit() -> None:
    """``9/.7`` parses, but a number written without its leading digit is rare: ``91.7`` wins unless the ``1`` is
    far less likely than the ``/`` (prior ``LEADING_DOT`` per such number)."""
    one_or_slash = [[("9", 0.9)], [("/", 0.6), ("1", 0.4)], [(".", 1.0)], [("7", 1.0)]]
    assert best_parseable(one_or_slash)[0] == "91.7"
    sure_slash = [[("9", 0.9)], [("/", 0.999), ("1", 0.001)], [(".", 1.0)], [("7", 1.0)]]
    assert best_parseable(sure_slash)[0] == "9/.7"
    assert leading_dots("2·.5+.5-0.5") == 2 and leading_dots("0.5") == 0
