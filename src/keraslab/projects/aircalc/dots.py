"""``·`` (multiplication) or ``.`` (decimal point): decided by where a dot sits in the line, not by the CNN.

Centred by mass in its 28×28 image, a dot looks the same wherever it was written, so the CNN has one class
for it (``symbols.DOT``). Its height decides: measured from the baseline of the line's tall symbols (digits,
parentheses) in units of their height, a decimal point sits near 0 and a multiplication dot near 0.5. The
probability of ``·`` rises smoothly around ``MIDDLE``; the CNN's probability of a dot is shared between the
two readings, so the beam search can still prefer the one that parses (``(2+3)·4``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from keraslab.projects.aircalc.segment import Box
from keraslab.projects.aircalc.symbols import DOT, TIMES_DOT

MIDDLE = 0.3  # height (in the tall symbols' height above their baseline) between a decimal point and a ·
SOFTNESS = 0.05  # how sharply the reading changes around MIDDLE
TALL = 0.6  # symbols at least this many line heights tall give the line's baseline and top

Candidates = list[tuple[str, float]]


def line_span(boxes: Sequence[Box], line: float) -> tuple[float, float] | None:
    """(top, baseline) of the line: the median top and bottom of its tall symbols (None without any)."""
    tall = [b for b in boxes if b[3] - b[1] >= TALL * line]
    if not tall:
        return None
    return float(np.median([b[1] for b in tall])), float(np.median([b[3] for b in tall]))


def height(box: Box, span: tuple[float, float]) -> float:
    """The box's centre above the baseline, in units of the line's height (0 baseline, 1 top)."""
    top, baseline = span
    return (baseline - (box[1] + box[3]) / 2) / max(baseline - top, 1e-9)


def times_probability(h: float) -> float:
    """Probability that a dot at height ``h`` is the multiplication dot."""
    return 1.0 / (1.0 + math.exp(-(h - MIDDLE) / SOFTNESS))


def place_dots(tops: list[Candidates], boxes: Sequence[Box], line: float) -> tuple[list[Candidates], dict[int, float]]:
    """Each symbol's candidates with the dot class shared between ``·`` and ``.`` by the dot's height, and the
    height of each symbol that has a dot among its candidates."""
    span = line_span(boxes, line)
    placed, heights = [], {}
    for i, (candidates, box) in enumerate(zip(tops, boxes, strict=True)):
        labels = dict(candidates)
        if span is None or DOT not in labels:
            placed.append(candidates)
            continue
        heights[i] = height(box, span)
        q, p = times_probability(heights[i]), labels.pop(DOT)
        shared = [*labels.items(), (TIMES_DOT, p * q), (DOT, p * (1 - q))]
        placed.append(sorted(shared, key=lambda item: -item[1]))
    return placed, heights


def explain(labels: Sequence[str], heights: dict[int, float]) -> list[str]:
    """A sentence for each symbol read as a dot: its height and the reading it gave."""
    names = {TIMES_DOT: "multiplication ·", DOT: "decimal point ."}
    return [
        f"symbol {i + 1} is a dot at {h:.2f} of the line's height: {names[labels[i]]}"
        for i, h in sorted(heights.items())
        if labels[i] in names
    ]
