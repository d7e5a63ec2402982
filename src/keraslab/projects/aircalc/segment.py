"""Cut an expression into symbols: strokes (traces) or connected components (images) whose horizontal
extents overlap are one symbol, so ``+``, ``×``, ``÷`` and a two-stroke ``4`` stay whole. A small piece high
in the line (a ``5``'s detached top bar, a tick) is no symbol of its own: it joins its nearest neighbour.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import ndimage

Box = tuple[float, float, float, float]  # x0, y0, x1, y1

MERGE_OVERLAP = 0.5  # merge when the horizontal overlap covers this fraction of the narrower unit
NOISE_FRACTION = 0.02  # image components smaller than this × the largest are specks
STRAY_TOP = 0.1  # a group ending this many line heights above the line's middle is a stray piece, ...
STRAY_RISE = 0.2  # ... or one centred this many line heights above it (a digit's broken-off top) ...
STRAY_HEIGHT = 0.55  # ... if it is at most this many line heights tall


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
    ordered = [sorted(indices) for indices, _ in sorted(groups, key=lambda g: g[1][0] + g[1][1])]
    return attach_strays(ordered, boxes, line)


def attach_strays(groups: list[list[int]], boxes: Sequence[Box], line: float) -> list[list[int]]:
    """Merge each stray group into its horizontally nearest neighbour, keeping left-to-right order.

    A stray lies in the upper part of the line (its bottom ``STRAY_TOP`` or its centre ``STRAY_RISE`` line
    heights above the middle of the line's tall symbols) and is small: no symbol of the calculator is written
    there (``-`` and the other operators sit in the middle, ``.`` at the bottom, ``÷``'s dots were merged
    with their bar already). MNIST digits broken by the writer (a ``5``'s top bar, an ``8``'s upper loop) leave
    such pieces.
    """
    spans = [union([boxes[i] for i in g]) for g in groups]
    tall = [(b[1] + b[3]) / 2 for b in spans if b[3] - b[1] >= 0.6 * line]
    if len(groups) < 2 or not tall:
        return groups
    middle = float(np.median(tall))
    strays = [
        j
        for j, (_, y0, _, y1) in enumerate(spans)
        if min(y1 + STRAY_TOP * line, (y0 + y1) / 2 + STRAY_RISE * line) < middle and y1 - y0 <= STRAY_HEIGHT * line
    ]
    merged = [list(g) for g in groups]
    for j in strays:
        others = [k for k in range(len(groups)) if k not in strays]
        if not others:
            break
        x0, _, x1, _ = spans[j]
        nearest = min(others, key=lambda k: max(spans[k][0] - x1, x0 - spans[k][2], 0.0))
        merged[nearest] = sorted(merged[nearest] + merged[j])
    return [g for j, g in enumerate(merged) if j not in strays]


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
