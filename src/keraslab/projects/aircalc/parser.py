"""An exact calculator grammar: recursive descent over ``fractions.Fraction`` — never ``eval``.

::

    expression := term (("+" | "-") term)*
    term       := factor (("×" | "÷" | "/") factor)*
    factor     := "-"* primary                      (unary minus)
    primary    := number | "(" expression ")"
    number     := digit+ ("." digit+)? | "." digit+

``*``, ``x`` and the multiplication dot ``·`` (``⋅``) are accepted as ``×``, ``−`` as ``-``; spaces are ignored, so
``2·.5`` is ``2×0.5``. Values are exact: ``0.1+0.2`` is
``3/10``. Every failure is an ``ExpressionError`` naming the position; one at the very end of the input
(``at_end``) means the text is a valid *prefix*, which the beam search uses to prune readings.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, localcontext
from fractions import Fraction

ALIASES = {"*": "×", "−": "-", "x": "×", "·": "×", "⋅": "×"}
DIGITS = frozenset("0123456789")
MAX_DEPTH = 50  # nested parentheses
MAX_NUMBER_DIGITS = 200
MAX_BITS = 10_000  # numerator/denominator size: keeps every value printable (str(int) stops at 4300 digits)
MAX_DECIMALS = 30  # terminating decimals up to this many places print exactly, others as p/q ≈ …


class ExpressionError(ValueError):
    """A malformed expression or an impossible operation, with the 0-based ``position`` of the symbol."""

    def __init__(self, message: str, text: str, position: int) -> None:
        self.message, self.text, self.position = message, text, position
        where = "at the end" if position >= len(text) else f"at symbol {position + 1} ({text[position]!r})"
        super().__init__(f"{text!r}: {message} {where}")

    @property
    def at_end(self) -> bool:
        """True when the input ran out: it is a prefix of a valid expression."""
        return self.position >= len(self.text)


@dataclass(frozen=True)
class Result:
    expression: str
    value: Fraction

    @property
    def text(self) -> str:
        return format_value(self.value)


def calculate(text: str) -> Result:
    """Parse and evaluate ``text`` exactly; raises ``ExpressionError`` saying where it fails."""
    expression = normalise_text(text)
    return Result(expression, _Parser(expression, evaluate=True).run())


def check_syntax(text: str) -> None:
    """Raise ``ExpressionError`` if ``text`` does not parse (operations are not evaluated)."""
    _Parser(normalise_text(text), evaluate=False).run()


def leading_dots(text: str) -> int:
    """How many numbers of ``text`` start with their decimal point (``.5``)."""
    return sum(1 for i, c in enumerate(text) if c == "." and (i == 0 or text[i - 1] not in DIGITS))


def normalise_text(text: str) -> str:
    return "".join(ALIASES.get(c, c) for c in text if not c.isspace())


class _Parser:
    def __init__(self, text: str, evaluate: bool) -> None:
        self.text, self.evaluate, self.pos, self.depth = text, evaluate, 0, 0

    def run(self) -> Fraction:
        if not self.text:
            raise ExpressionError("empty expression: expected a number, '(' or '-'", self.text, 0)
        value = self.expression()
        if self.pos < len(self.text):
            raise self.error("unexpected symbol: expected an operator" + (" or ')'" if self.depth else ""))
        return value

    # ------------------------------------------------------------------ grammar

    def expression(self) -> Fraction:
        value = self.term()
        while (op := self.peek()) in ("+", "-"):
            self.pos += 1
            right = self.term()
            value = self.checked(value + right if op == "+" else value - right)
        return value

    def term(self) -> Fraction:
        value = self.factor()
        while (op := self.peek()) in ("×", "÷", "/"):
            at = self.pos
            self.pos += 1
            right = self.factor()
            if op == "×":
                value = self.checked(value * right)
            elif self.evaluate and right == 0:
                raise ExpressionError("division by zero", self.text, at)
            elif self.evaluate:
                value = self.checked(value / right)
        return value

    def factor(self) -> Fraction:
        negate = False
        while self.peek() == "-":
            self.pos += 1
            negate = not negate
        value = self.primary()
        return -value if negate else value

    def primary(self) -> Fraction:
        char = self.peek()
        if char == "(":
            if self.depth >= MAX_DEPTH:
                raise self.error(f"more than {MAX_DEPTH} nested parentheses")
            self.pos += 1
            self.depth += 1
            value = self.expression()
            if self.peek() != ")":
                raise self.error("expected ')' or an operator")
            self.pos += 1
            self.depth -= 1
            return value
        if char in DIGITS or char == ".":
            return self.number()
        raise self.error("expected a number, '(' or '-'")

    def number(self) -> Fraction:
        start = self.pos
        self.digits()
        if self.peek() == ".":  # after digits (2.5) or alone (.5)
            self.pos += 1
            if self.peek() not in DIGITS:
                raise self.error("expected a digit after the decimal point")
            self.digits()
        if self.pos - start > MAX_NUMBER_DIGITS:
            raise ExpressionError(f"number longer than {MAX_NUMBER_DIGITS} symbols", self.text, start)
        return Fraction(self.text[start : self.pos]) if self.evaluate else Fraction(0)

    # ------------------------------------------------------------------ helpers

    def digits(self) -> None:
        while self.peek() in DIGITS:
            self.pos += 1

    def peek(self) -> str | None:
        return self.text[self.pos] if self.pos < len(self.text) else None

    def error(self, message: str) -> ExpressionError:
        return ExpressionError(message, self.text, self.pos)

    def checked(self, value: Fraction) -> Fraction:
        if max(value.numerator.bit_length(), value.denominator.bit_length()) > MAX_BITS:
            raise self.error(f"result too large (over {MAX_BITS} bits)")
        return value


def format_value(value: Fraction) -> str:
    """Exact decimal when it terminates within ``MAX_DECIMALS`` places, else ``p/q ≈ decimal``."""
    if value.denominator == 1:
        return str(value.numerator)
    places = terminating_places(value.denominator)
    if places is not None and places <= MAX_DECIMALS:
        digits = str(abs(value.numerator) * 10**places // value.denominator).rjust(places + 1, "0")
        return f"{'-' if value < 0 else ''}{digits[:-places]}.{digits[-places:]}"
    with localcontext() as ctx:
        ctx.prec = 12
        approx = Decimal(value.numerator) / Decimal(value.denominator)
    return f"{value.numerator}/{value.denominator} ≈ {approx}"


def terminating_places(denominator: int) -> int | None:
    """Decimal places of 1/denominator when it terminates (only factors 2 and 5), else None."""
    twos = fives = 0
    while denominator % 2 == 0:
        denominator //= 2
        twos += 1
    while denominator % 5 == 0:
        denominator //= 5
        fives += 1
    return max(twos, fives) if denominator == 1 else None
