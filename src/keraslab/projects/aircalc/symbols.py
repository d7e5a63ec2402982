"""The AirCalc classes: digits 0–9 (MNIST's labels) then the operator symbols the project generates."""

from __future__ import annotations

DIGITS: tuple[str, ...] = tuple(str(i) for i in range(10))
OPERATORS: tuple[str, ...] = ("+", "-", "×", "÷", "/", "(", ")", ".")
CLASS_NAMES: tuple[str, ...] = DIGITS + OPERATORS
INDEX: dict[str, int] = {name: i for i, name in enumerate(CLASS_NAMES)}
