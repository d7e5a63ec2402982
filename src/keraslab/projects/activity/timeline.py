"""A recording's window probabilities -> smoothed contiguous activity segments."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class Segment(NamedTuple):
    start: int  # first reading
    end: int  # one past the last reading
    label_index: int
    probability: float  # mean smoothed probability of the label over the segment's windows
    probabilities: list[float]  # mean smoothed probabilities of every class


def smoothed(probabilities: np.ndarray, windows: int) -> np.ndarray:
    """Each window's probabilities averaged with its neighbours, ``windows`` in all (fewer at the ends)."""
    kernel = np.ones(windows)
    counts = np.convolve(np.ones(len(probabilities)), kernel, mode="same")
    return np.stack([np.convolve(column, kernel, mode="same") for column in probabilities.T], axis=1) / counts[:, None]


def segments(starts: np.ndarray, probabilities: np.ndarray, length: int, windows: int) -> list[Segment]:
    """Runs of one label over windows starting at ``starts`` (ascending) of ``length`` readings.

    Window ``i`` owns the readings from the midpoint between its centre and the previous window's to the midpoint
    with the next one's; the first owns from its start, the last to its end.
    """
    probabilities = smoothed(probabilities, windows)
    labels = probabilities.argmax(axis=1)
    centres = starts + length / 2
    bounds = np.concatenate([[starts[0]], np.round((centres[1:] + centres[:-1]) / 2), [starts[-1] + length]])
    breaks = np.flatnonzero(np.diff(labels)) + 1
    found = []
    for first, stop in zip([0, *breaks], [*breaks, len(labels)], strict=True):
        label = int(labels[first])
        mean = probabilities[first:stop].mean(axis=0)
        found.append(Segment(int(bounds[first]), int(bounds[stop]), label, float(mean[label]), mean.tolist()))
    return found
