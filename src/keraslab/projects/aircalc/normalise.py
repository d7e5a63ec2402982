"""One symbol -> a 28×28 MNIST-like image, drawn at the *expression's* scale so size and aspect survive.

MNIST fits every digit's ink into 20×20 and puts its centre of mass at the centre of 28×28. Doing that
to each symbol on its own would make a minus, a decimal point and a ``1`` indistinguishable from a bar,
a blob and a stroke of any size. So the scale comes from the expression's **line height** (the typical
height of its tall symbols, see ``segment.line_height``): a symbol as tall as the line fills 20 pixels,
exactly like an MNIST digit, while a minus stays a thin short bar and a decimal point a small dot. Only a
symbol larger than the line is shrunk to fit 20×20. The CNN then learns size from the pixels themselves.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image

from keraslab.projects.aircalc.raster import Stroke, rasterise

SIZE = 28  # output image side
BOX = 20  # side of the box a line-height symbol fills, as in MNIST
DEFAULT_THICKNESS = 0.13  # pen width of user traces relative to the line height (MNIST-like strokes)


def scale_for(height: float, width: float, line_height: float) -> float:
    """Output pixels per input unit: the line height maps to ``BOX``; a bigger symbol is fitted into it."""
    return min(BOX / max(line_height, 1e-9), BOX / max(height, width, 1e-9))


def centre_by_mass(patch: np.ndarray) -> np.ndarray:
    """Paste ``patch`` (ink, at most 28×28) into 28×28 with its centre of mass at the centre."""
    out = np.zeros((SIZE, SIZE), np.float32)
    total = float(patch.sum())
    if total <= 0:
        return out
    rows, cols = np.indices(patch.shape)
    cy, cx = (patch * rows).sum() / total, (patch * cols).sum() / total
    patch = patch[:SIZE, :SIZE]
    top = int(np.clip(round((SIZE - 1) / 2 - cy), 0, SIZE - patch.shape[0]))
    left = int(np.clip(round((SIZE - 1) / 2 - cx), 0, SIZE - patch.shape[1]))
    out[top : top + patch.shape[0], left : left + patch.shape[1]] = patch
    return out


def normalise_patch(patch: np.ndarray, line_height: float) -> np.ndarray:
    """An image crop of one symbol (ink in [0, 1], pixels) -> 28×28 at the line's scale."""
    height, width = patch.shape
    scale = scale_for(height, width, line_height)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    resized = np.asarray(Image.fromarray(patch.astype(np.float32), mode="F").resize(size, Image.Resampling.BILINEAR))
    return centre_by_mass(np.clip(resized, 0.0, 1.0))


def normalise_strokes(
    strokes: Sequence[Stroke], line_height: float, thickness: float = DEFAULT_THICKNESS
) -> np.ndarray:
    """The strokes of one symbol (any units) -> 28×28, with a pen ``thickness`` × the line height wide.

    Sizes are measured on the ink (points ± half the pen), as in ``normalise_patch``.
    """
    points = np.concatenate([np.asarray(s, np.float64)[:, :2] for s in strokes])
    pen = thickness * line_height
    low, high = points.min(axis=0) - pen / 2, points.max(axis=0) + pen / 2
    width, height = high - low
    scale = scale_for(height, width, line_height + pen)
    shape = (int(np.ceil(height * scale)) + 1, int(np.ceil(width * scale)) + 1)
    pixels = [(np.asarray(s, np.float64)[:, :2] - low) * scale for s in strokes]
    return centre_by_mass(rasterise(pixels, shape, pen * scale))
