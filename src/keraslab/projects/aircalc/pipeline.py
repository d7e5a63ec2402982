"""Trace or image -> symbols -> classifier -> exact value, with per-symbol boxes and top-k labels."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
from scipy import ndimage

from keraslab.projects.aircalc import inputs, segment
from keraslab.projects.aircalc.beam import best_parseable
from keraslab.projects.aircalc.dots import explain, place_dots
from keraslab.projects.aircalc.normalise import DEFAULT_THICKNESS, normalise_patch, normalise_strokes
from keraslab.projects.aircalc.parser import ExpressionError, calculate, check_syntax, leading_dots
from keraslab.projects.aircalc.segment import Box
from keraslab.projects.aircalc.symbols import CLASS_NAMES

#: (N, 28, 28) float32 images in [0, 1] -> (N, classes) probabilities.
Classifier = Callable[[np.ndarray], np.ndarray]


@dataclass
class SymbolReading:
    box: Box  # x0, y0, x1, y1 in the input's coordinates
    label: str  # the label used in the expression
    top: list[tuple[str, float]]  # the classifier's best labels and probabilities (a dot: as · and as .)
    image: np.ndarray = field(repr=False)  # what the classifier saw (28×28)

    def to_dict(self) -> dict[str, Any]:
        return {
            "box": [round(float(v), 2) for v in self.box],
            "label": self.label,
            "top": [{"label": label, "p": round(p, 4)} for label, p in self.top],
            "confidence": round(dict(self.top).get(self.label, 0.0), 4),
        }


@dataclass
class Reading:
    expression: str
    value: str | None  # the exact value as text, None on error
    error: str | None
    symbols: list[SymbolReading]
    note: str = ""  # why: the beam search replaced the most likely reading, a dot was read as · or .
    exact: Fraction | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "expression": self.expression,
            "value": self.value,
            "error": self.error,
            "note": self.note,
            "symbols": [s.to_dict() for s in self.symbols],
        }


class AirCalc:
    """Reads expressions with ``classify``; ``class_names[i]`` is the label of output ``i``."""

    def __init__(
        self,
        classify: Classifier,
        class_names: Sequence[str] = CLASS_NAMES,
        top_k: int = 3,
        thickness: float = DEFAULT_THICKNESS,
    ) -> None:
        self.classify, self.class_names, self.top_k, self.thickness = classify, list(class_names), top_k, thickness

    # ------------------------------------------------------------------ inputs

    def read_file(self, path: Path) -> Reading:
        """A ``.json`` trace or an image file (PNG, JPEG, ...)."""
        if path.suffix.lower() == ".json":
            return self.read_trace(inputs.load_trace(path))
        if not path.is_file():
            raise inputs.InputError(f"{path}: file not found")
        return self.read_image(inputs.load_image(path, str(path)))

    def read_trace(self, strokes: Any) -> Reading:
        """Strokes (validated by ``inputs.parse_trace`` when given as JSON data)."""
        if not all(isinstance(s, np.ndarray) for s in strokes):
            strokes = inputs.parse_trace(strokes)
        groups, line = symbol_groups(segment.stroke_boxes(strokes))
        pieces = [[strokes[i] for i in group] for group in groups]
        images = [normalise_strokes(piece, line, self.thickness) for piece in pieces]
        boxes = [segment.union(segment.stroke_boxes(piece)) for piece in pieces]
        return self.read_symbols(boxes, images, line)

    def read_image(self, gray: np.ndarray) -> Reading:
        """A grayscale image, dark on light or light on dark."""
        ink = inputs.ink(gray)
        labels, boxes = segment.components(inputs.binarise(ink))
        if not boxes:
            raise inputs.InputError("no writing found in the image")
        groups, line = symbol_groups(boxes)
        images, symbol_boxes = [], []
        for group in groups:
            x0, y0, x1, y1 = (int(v) for v in segment.union([boxes[i] for i in group]))
            mask = ndimage.binary_dilation(np.isin(labels[y0:y1, x0:x1], [i + 1 for i in group]))
            images.append(normalise_patch(ink[y0:y1, x0:x1] * mask, line))
            symbol_boxes.append((x0, y0, x1, y1))
        return self.read_symbols(symbol_boxes, images, line)

    # ------------------------------------------------------------------ reading

    def read_symbols(self, boxes: list[Box], images: list[np.ndarray], line: float) -> Reading:
        """Classify the symbol images, read dots as ``·`` or ``.`` by their height in the line (``dots``), and
        turn the labels into the most probable valid expression."""
        probabilities = np.asarray(self.classify(np.stack(images).astype(np.float32)))
        tops, heights = place_dots([self.top(row) for row in probabilities], boxes, line)
        best = "".join(top[0][0] for top in tops)
        labels, notes = list(best), []
        try:
            check_syntax(best)
            why = "starts a number with its decimal point" if leading_dots(best) else None
        except ExpressionError as exc:
            why = f"do not parse ({exc.message})"
        found = best_parseable(tops) if why else None
        if found is not None and found[0] != best:
            labels = list(found[0])
            notes.append(
                f"the most likely symbols {best!r} {why}; read {found[0]!r}, the most probable valid sequence "
                f"from each symbol's top {self.top_k} (p = {found[1]:.3g})"
            )
        note = "; ".join(notes + explain(labels, heights))
        symbols = [SymbolReading(b, lab, t, im) for b, lab, t, im in zip(boxes, labels, tops, images, strict=True)]
        expression = "".join(labels)
        try:
            result = calculate(expression)
        except ExpressionError as exc:
            return Reading(expression, None, str(exc), symbols, note)
        return Reading(expression, result.text, None, symbols, note, result.value)

    def top(self, row: np.ndarray) -> list[tuple[str, float]]:
        order = np.argsort(row)[::-1][: self.top_k]
        return [(self.class_names[i], float(row[i])) for i in order]


def symbol_groups(boxes: list[Box]) -> tuple[list[list[int]], float]:
    """Units grouped into symbols, and the expression's line height measured on the symbols."""
    groups = segment.group_units(boxes, segment.line_height(boxes))
    return groups, segment.line_height([segment.union([boxes[i] for i in g]) for g in groups])
