"""What a user gives AirCalc: a trace (JSON strokes of [x, y] or [x, y, t]) or an image, validated."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError


class InputError(ValueError):
    """A trace or image that cannot be read, with what was expected."""


def parse_trace(data: Any, source: str = "trace") -> list[np.ndarray]:
    """A JSON list of strokes, each a list of [x, y] or [x, y, t] numbers (any scale and origin, y down)."""
    if isinstance(data, dict) and "strokes" in data:
        data = data["strokes"]
    if not isinstance(data, list):
        raise InputError(f"{source}: expected a JSON list of strokes, got {type(data).__name__}")
    strokes = []
    for i, stroke in enumerate(data):
        if not isinstance(stroke, list) or not stroke:
            raise InputError(f"{source}: stroke {i} must be a non-empty list of [x, y] or [x, y, t] points")
        for j, point in enumerate(stroke):
            if (
                not isinstance(point, list)
                or len(point) not in (2, 3)
                or not all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in point)
            ):
                raise InputError(f"{source}: stroke {i}, point {j} is {point!r}; expected [x, y] or [x, y, t] numbers")
        strokes.append(np.asarray([p[:2] for p in stroke], np.float64))
    if not strokes:
        raise InputError(f"{source}: the trace has no strokes")
    return strokes


def load_trace(path: Path) -> list[np.ndarray]:
    try:
        data = json.loads(path.read_text())
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc})") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not valid JSON ({exc})") from exc
    return parse_trace(data, str(path))


def load_image(source: Path | bytes, name: str = "image") -> np.ndarray:
    """A PNG/JPEG/... (path or bytes) as grayscale uint8."""
    try:
        with Image.open(io.BytesIO(source) if isinstance(source, bytes) else source) as img:
            return np.asarray(img.convert("L"))
    except (OSError, UnidentifiedImageError) as exc:
        raise InputError(f"{name}: not a readable image, expected PNG or JPEG ({exc})") from exc


def ink(gray: np.ndarray) -> np.ndarray:
    """Grayscale (dark on light or light on dark) -> ink in [0, 1]: background 0, strokes near 1.

    The background is the majority of pixels, so the polarity follows from the median.
    """
    values = gray.astype(np.float32)
    background = float(np.median(values))
    ink = values - background if background < 128 else background - values
    top = float(np.percentile(ink, 99.9))
    if top <= 0:
        return np.zeros_like(ink)
    return np.clip(ink / top, 0.0, 1.0)


def binarise(ink: np.ndarray) -> np.ndarray:
    """Otsu's threshold on the ink (bounded below, so a blank image stays blank)."""
    hist, edges = np.histogram(ink, bins=64, range=(0.0, 1.0))
    weights = hist.astype(np.float64)
    centres = (edges[:-1] + edges[1:]) / 2
    w0 = np.cumsum(weights)
    w1 = w0[-1] - w0
    m0 = np.cumsum(weights * centres) / np.maximum(w0, 1)
    m1 = ((weights * centres).sum() - np.cumsum(weights * centres)) / np.maximum(w1, 1)
    between = w0 * w1 * (m0 - m1) ** 2
    threshold = max(float(edges[int(np.argmax(between)) + 1]), 0.2)
    return ink > threshold
