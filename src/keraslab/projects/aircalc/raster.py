"""The one rasteriser: pen strokes (polylines in pixel coordinates) -> an anti-aliased grayscale image.

Generated operator symbols and user traces both go through ``rasterise``, so the CNN sees the same kind
of line in training and in use.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

Stroke = np.ndarray  # (n, 2) float: x to the right, y downwards


def rasterise(strokes: Sequence[Stroke], shape: tuple[int, int], thickness: float) -> np.ndarray:
    """Draw ``strokes`` as round-capped lines ``thickness`` pixels wide; float32 ink in [0, 1], (rows, cols).

    A pixel's ink is its centre's distance to the nearest segment, turned into a one-pixel linear ramp
    at the line's edge (anti-aliasing). A one-point stroke is a dot.
    """
    rows, cols = shape
    image = np.zeros(shape, np.float32)
    reach = thickness / 2 + 0.5
    for stroke in strokes:
        points = np.asarray(stroke, np.float64)[:, :2]
        if len(points) == 0:
            continue
        if len(points) == 1:
            points = np.vstack([points, points])
        (x0, y0), (x1, y1) = points.min(axis=0) - reach, points.max(axis=0) + reach
        c0, c1 = max(int(np.floor(x0)), 0), min(int(np.ceil(x1)), cols)
        r0, r1 = max(int(np.floor(y0)), 0), min(int(np.ceil(y1)), rows)
        if c0 >= c1 or r0 >= r1:
            continue
        ys, xs = np.mgrid[r0:r1, c0:c1]
        pixels = np.stack([xs.ravel() + 0.5, ys.ravel() + 0.5], axis=1)
        distance = segment_distance(pixels, points[:-1], points[1:])
        ink = np.clip(reach - distance, 0.0, 1.0).reshape(r1 - r0, c1 - c0)
        np.maximum(image[r0:r1, c0:c1], ink, out=image[r0:r1, c0:c1])
    return image


def segment_distance(pixels: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Distance of each of ``pixels`` (P, 2) to the nearest of the segments ``starts[i]``–``ends[i]``."""
    dx, dy = (ends - starts).T  # (S,)
    length2 = np.maximum(dx * dx + dy * dy, 1e-12)
    ox = pixels[:, :1] - starts[:, 0]  # (P, S)
    oy = pixels[:, 1:] - starts[:, 1]
    t = np.clip((ox * dx + oy * dy) / length2, 0.0, 1.0)
    ox -= t * dx
    oy -= t * dy
    return np.sqrt((ox * ox + oy * oy).min(axis=1))
