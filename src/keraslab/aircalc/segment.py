"""Cut an expression into symbols: strokes (traces) or connected components (images) whose horizontal
extents overlap are one symbol, so ``+``, ``×``, ``÷`` and a two-stroke ``4`` stay whole.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import ndimage

Box = tuple[float, float, float, float]  # x0, y0, x1, y1

MERGE_OVERLAP = 0.5  # merge when the horizontal overlap covers this fraction of the narrower unit
NOISE_FRACTION = 0.02  # image components smaller than this × the largest are specks


def group_units(boxes: Sequence[Box], line: float) -> list[list[int]]:
    """Indices of ``boxes`` grouped into symbols, left to right.

    Two groups merge while the overlap of their x-ranges is at least ``MERGE_OVERLAP`` of the narrower
    one's width; widths are padded by 5 % of the line height so a vertical stroke or a dot still has width.
    """
    pad = 0.05 * line
    groups = [([i], (b[0] - pad, b[2] + pad)) for i, b in enumerate(boxes)]
    pair = overlapping_pair(groups)
    while pair is not None:
        j, k = pair
        (a, (a0, a1)), (b, (b0, b1)) = groups[j], groups.pop(k)
        groups[j] = (a + b, (min(a0, b0), max(a1, b1)))
        pair = overlapping_pair(groups)
    return [sorted(indices) for indices, _ in sorted(groups, key=lambda g: g[1][0] + g[1][1])]


def overlapping_pair(groups: list[tuple[list[int], tuple[float, float]]]) -> tuple[int, int] | None:
    for j, (_, (a0, a1)) in enumerate(groups):
        for k in range(j + 1, len(groups)):
            b0, b1 = groups[k][1]
            if min(a1, b1) - max(a0, b0) >= MERGE_OVERLAP * min(a1 - a0, b1 - b0):
                return j, k
    return None


def union(boxes: Sequence[Box]) -> Box:
    array = np.asarray(boxes, np.float64)
    return (array[:, 0].min(), array[:, 1].min(), array[:, 2].max(), array[:, 3].max())


def line_height(boxes: Sequence[Box]) -> float:
    """The expression's line height: the median height of the symbols at least half as tall as the tallest."""
    heights = np.asarray([b[3] - b[1] for b in boxes], np.float64)
    tall = heights[heights >= 0.5 * heights.max()]
    return float(np.median(tall))


def stroke_boxes(strokes: Sequence[np.ndarray]) -> list[Box]:
    return [(*s[:, :2].min(axis=0), *s[:, :2].max(axis=0)) for s in strokes]


def components(ink: np.ndarray) -> tuple[np.ndarray, list[Box]]:
    """Label the symbols' pieces in a binary image; drop specks. Returns labels and pixel boxes.

    A first labelling measures the line height; the mask is then dilated by 4 % of it before the final
    labelling, so thin or faint strokes broken by the threshold join again. Box ``i`` belongs to label
    ``i + 1``; boxes are in pixel edges (x1, y1 exclusive).
    """
    labels, boxes = label_pieces(ink)
    if boxes:
        reach = round(0.04 * line_height(boxes))
        if reach >= 1:
            labels, boxes = label_pieces(ndimage.binary_dilation(ink, iterations=reach))
    return labels, boxes


def label_pieces(ink: np.ndarray) -> tuple[np.ndarray, list[Box]]:
    labels, count = ndimage.label(ink, structure=np.ones((3, 3)))
    if count == 0:
        return labels, []
    sizes = ndimage.sum_labels(ink, labels, index=np.arange(1, count + 1))
    keep = np.flatnonzero(sizes >= max(2.0, NOISE_FRACTION * sizes.max())) + 1
    relabelled = np.zeros(count + 1, np.int32)
    relabelled[keep] = np.arange(1, len(keep) + 1)
    labels = relabelled[labels]
    slices = ndimage.find_objects(labels)
    return labels, [(s[1].start, s[0].start, s[1].stop, s[0].stop) for s in slices]
