"""Duplicate faces grouped, and splits that keep each group on one side.

UTKFace holds byte-identical images under different names and the same photo at another resolution or
compression. ``duplicate_groups`` links two images when their 16×16 grey thumbnails (mean removed, unit norm)
correlate above ``SAME_PHOTO``: on UTKFace's 8,778 faces that finds the 100 byte-identical groups and the ~230
re-encoded pairs its README describes (330 pairs above 0.97, then a gap: 355 above 0.95, 4,000 above 0.90).
``grouped_split`` then holds out a fraction of every label, whole groups at a time, so no face has a copy on the
other side of a train/test split.
"""

from __future__ import annotations

import numpy as np

SAME_PHOTO = 0.97  # thumbnail correlation from which two images count as the same photo
THUMB = 16
CHUNK = 1024  # rows of the similarity matrix computed at once (CHUNK × N floats)


def thumbnails(images: np.ndarray) -> np.ndarray:
    """N×H×W×3 uint8 -> N×256 grey 16×16 area-averaged thumbnails, mean removed and scaled to unit norm."""
    import cv2

    small = [cv2.resize(image, (THUMB, THUMB), interpolation=cv2.INTER_AREA) for image in images]
    thumbs = np.asarray(small, np.float32).mean(axis=-1).reshape(len(images), -1)
    thumbs -= thumbs.mean(axis=1, keepdims=True)
    return thumbs / np.maximum(np.linalg.norm(thumbs, axis=1, keepdims=True), 1e-6)


def duplicate_groups(images: np.ndarray, threshold: float = SAME_PHOTO) -> np.ndarray:
    """A group id per image: images linked (transitively) by thumbnail correlation ≥ ``threshold`` share one."""
    thumbs = thumbnails(images)
    parent = np.arange(len(images))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for start in range(0, len(thumbs), CHUNK):
        rows, cols = np.nonzero(thumbs[start : start + CHUNK] @ thumbs.T >= threshold)
        for a, b in zip(rows + start, cols, strict=True):
            if a < b:
                parent[root(a)] = root(b)
    return np.array([root(i) for i in range(len(images))])


def grouped_split(labels: np.ndarray, groups: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(held, rest)``: for each label, seeded whole groups held out until ``fraction`` of that label's
    images is reached (at least one group when fraction > 0, never all of them). A group counts under the label
    of its first image."""
    rng = np.random.default_rng(seed)
    ids, first, members = np.unique(groups, return_index=True, return_inverse=True)
    group_label = labels[first]
    held_groups = []
    for label in np.unique(group_label):
        candidates = rng.permutation(np.flatnonzero(group_label == label))
        sizes = np.bincount(members, minlength=len(ids))[candidates]
        target = fraction * sizes.sum()
        n = int(np.searchsorted(np.cumsum(sizes), target, side="left")) + 1 if fraction else 0
        held_groups.append(candidates[: min(n, len(candidates) - 1)])
    held = np.isin(members, np.concatenate(held_groups))
    return np.flatnonzero(held), np.flatnonzero(~held)
