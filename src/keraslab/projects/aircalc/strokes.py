"""Operator symbols drawn as pen strokes, as a hand would: random slant, proportions, jitter, curvature,
stroke order and direction, and pen thickness. Deterministic for a given ``numpy`` generator.

Coordinates are in *line units*: a digit of the line is 1 tall, y grows downwards. Symbols keep their
natural size in that frame (a minus is about half a digit wide, a decimal point a dot), which
``normalise.normalise_strokes`` preserves.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from keraslab.projects.aircalc.normalise import normalise_patch, normalise_strokes
from keraslab.projects.aircalc.raster import Stroke, rasterise
from keraslab.projects.aircalc.symbols import OPERATORS

THICKNESS = (0.08, 0.2)  # pen width range, relative to the line height
SCALE = (0.85, 1.25)  # overall size of a generated operator relative to the line (writers differ)
DIVIDE_CLEARANCE = (0.05, 0.16)  # blank between a ÷ dot's ink and the bar's ink, in line heights
IMAGE_LINE = (28.0, 56.0)  # pixels per line height of an operator drawn as a photo or composed line shows it
IMAGE_DIGITS = (0.85, 1.05)  # height of that line's digits' ink (which ``read_image`` measures), in line heights


def line(rng: np.random.Generator, start: tuple[float, float], end: tuple[float, float], bend: float) -> Stroke:
    """A slightly curved pen line: a quadratic Bézier whose middle is pushed sideways by ``bend`` × length."""
    p0, p2 = np.asarray(start, float), np.asarray(end, float)
    direction = p2 - p0
    normal = np.array([-direction[1], direction[0]])
    p1 = (p0 + p2) / 2 + normal * rng.normal(0.0, bend)
    t = np.linspace(0.0, 1.0, 12)[:, None]
    return (1 - t) ** 2 * p0 + 2 * (1 - t) * t * p1 + t**2 * p2


def arc(rng: np.random.Generator, height: float, bulge: float, opening: int) -> Stroke:
    """A parenthesis: an arc ``height`` tall bulging ``bulge`` to the left (``opening=1``) or right (-1)."""
    t = np.linspace(-1.0, 1.0, 16)
    x = opening * bulge * (t**2 - 1) + rng.normal(0, 0.01)
    return np.stack([x, height / 2 * t * (1 + rng.normal(0, 0.03))], axis=1)


def dot(rng: np.random.Generator, radius: float) -> Stroke:
    """A decimal point or a ÷ dot: a single pen touch or a tiny scribble."""
    if radius < 0.01:
        return np.zeros((1, 2))
    angles = np.linspace(0, 2 * np.pi * rng.uniform(0.8, 1.3), 8)
    return radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)


def cross(rng: np.random.Generator, angle: float) -> list[Stroke]:
    """``+`` (angle 0) or ``×`` (angle 45°): two crossing lines of random lengths and crossing point."""
    a, b = rng.uniform(0.4, 0.8), rng.uniform(0.4, 0.8)
    if angle:  # × arms are about equal
        b = a * rng.uniform(0.85, 1.15)
    u, v = rng.uniform(0.35, 0.65, size=2)
    bend = 0.05
    return [line(rng, (-a * u, 0), (a * (1 - u), 0), bend), line(rng, (0, -b * v), (0, b * (1 - v)), bend)]


def symbol_strokes(symbol: str, rng: np.random.Generator, pen: float) -> list[Stroke]:
    """The strokes of operator ``symbol`` (one of ``OPERATORS``), in line units, randomly drawn for a pen
    ``pen`` line heights wide (it keeps the dots of ``÷`` apart from the bar)."""
    rotation = rng.normal(0.0, 0.07)
    if symbol == "+":
        strokes = cross(rng, 0.0)
    elif symbol == "×":
        strokes, rotation = cross(rng, np.pi / 4), np.pi / 4 + rng.uniform(-0.2, 0.2)
    elif symbol == "-":
        width = rng.uniform(0.35, 0.8)
        strokes = [line(rng, (-width / 2, 0), (width / 2, 0), 0.04)]
    elif symbol == "÷":  # the dots never touch the bar: touching, a ÷ is a short-armed + (and was read as one)
        width, radius = rng.uniform(0.4, 0.8), rng.uniform(0.0, 0.04)
        gap = pen + radius + rng.uniform(*DIVIDE_CLEARANCE)
        above, below = dot(rng, radius), dot(rng, radius)
        strokes = [
            line(rng, (-width / 2, 0), (width / 2, 0), 0.04),
            above + np.array([rng.normal(0, 0.04), -gap]),
            below + np.array([rng.normal(0, 0.04), gap]),
        ]
    elif symbol == "/":  # 34°–57° from upright: a 1 slanted less than that (most of MNIST's) stays a 1
        height, lean = rng.uniform(0.85, 1.2), np.tan(rng.uniform(0.6, 1.0))
        strokes = [line(rng, (-lean * height / 2, height / 2), (lean * height / 2, -height / 2), 0.03)]
        rotation = 0.0
    elif symbol in "()":
        height = rng.uniform(0.9, 1.25)
        strokes = [arc(rng, height, height * rng.uniform(0.12, 0.3), 1 if symbol == "(" else -1)]
    elif symbol == ".":
        strokes = [dot(rng, rng.uniform(0.0, 0.05))]
    else:
        raise ValueError(f"{symbol!r} is not a generated symbol; expected one of {' '.join(OPERATORS)}")
    return handwritten(rng, strokes, rotation)


def handwritten(rng: np.random.Generator, strokes: list[Stroke], rotation: float) -> list[Stroke]:
    """Rotate, slant, stretch and jitter the strokes; shuffle their order and direction."""
    slant = rng.normal(0.0, 0.12)
    c, s = np.cos(rotation), np.sin(rotation)
    matrix = np.array([[1.0, -slant], [0.0, 1.0]]) @ np.array([[c, -s], [s, c]])
    matrix = matrix * rng.uniform(0.9, 1.1, size=(2, 1))
    out = []
    for stroke in strokes:
        points = stroke @ matrix.T + rng.normal(0.0, 0.008, size=stroke.shape)
        out.append(points[::-1] if rng.random() < 0.5 else points)
    order = rng.permutation(len(out))
    return [out[i] for i in order]


def operator_images(
    symbols: tuple[str, ...], per_symbol: int, seed: int | Sequence[int], image_fraction: float = 0.0
) -> tuple[np.ndarray, list[str]]:
    """``per_symbol`` 28×28 uint8 images of each of ``symbols`` (generator seeded by ``seed``), in order, each
    drawn with a random pen (``THICKNESS``) at a random size (``SCALE``).

    A random ``image_fraction`` of them is drawn as ``AirCalc.read_image`` sees an operator: rasterised in
    pixels (``IMAGE_LINE``), then normalised at the line height measured on the digits' ink (``IMAGE_DIGITS``);
    the rest as ``read_trace`` sees one (normalised from the strokes).
    """
    rng = np.random.default_rng(seed)
    images, labels = [], []
    for symbol in symbols:
        for _ in range(per_symbol):
            thickness, scale = rng.uniform(*THICKNESS), rng.uniform(*SCALE)
            strokes = [stroke * scale for stroke in symbol_strokes(symbol, rng, thickness / scale)]
            if image_fraction and rng.random() < image_fraction:
                pixels = rng.uniform(*IMAGE_LINE)
                patch = render(strokes, pixels, thickness * pixels)
                images.append(normalise_patch(patch, pixels * rng.uniform(*IMAGE_DIGITS)))
            else:
                images.append(normalise_strokes(strokes, 1.0, thickness))
            labels.append(symbol)
    return (np.stack(images) * 255).round().astype(np.uint8), labels


def render(strokes: list[Stroke], pixels_per_line: float, pen: float) -> np.ndarray:
    """Strokes in line units -> the ink of exactly their extent, ``pixels_per_line`` and a ``pen`` pixels wide."""
    points = np.concatenate(strokes)
    low = points.min(axis=0) * pixels_per_line - pen
    size = np.ceil(points.max(axis=0) * pixels_per_line - low + pen).astype(int) + 1
    ink = rasterise([s * pixels_per_line - low for s in strokes], (size[1], size[0]), pen)
    rows, cols = np.flatnonzero(ink.max(axis=1) > 0.05), np.flatnonzero(ink.max(axis=0) > 0.05)
    return ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
