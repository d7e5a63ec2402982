"""The AirCalc classes: digits 0–9 (MNIST's labels) then the operator symbols.

The CNN has one class for a small round blob, ``DOT`` (``.``): centred by mass in its 28×28 image, a decimal
point and a multiplication dot look the same, so ``dots`` tells them apart by where the blob sits in the line
and reads the mid-height one as ``TIMES_DOT`` (``·``).
"""

from __future__ import annotations

DIGITS: tuple[str, ...] = tuple(str(i) for i in range(10))
OPERATORS: tuple[str, ...] = ("+", "-", "×", "÷", "/", "(", ")", ".")
CLASS_NAMES: tuple[str, ...] = DIGITS + OPERATORS
INDEX: dict[str, int] = {name: i for i, name in enumerate(CLASS_NAMES)}
DOT, TIMES_DOT = ".", "·"
#: the folders of the real handwritten operators (``real``) and the class each holds (``dot``: a ``⋅``)
REAL_FOLDERS: dict[str, str] = {"plus": "+", "minus": "-", "times": "×", "dot": DOT, "divide": "÷", "slash": "/"}
#: a name for each operator that metric and file names accept
NAMES: dict[str, str] = {"+": "plus", "-": "minus", "×": "times", "÷": "divide", "/": "slash", "(": "open",
                         ")": "close", DOT: "dot"}  # fmt: skip
