"""What a dataset family returns: in-memory arrays for the three splits and a description."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


class DataUnavailable(RuntimeError):
    """The dataset cannot be read: missing or malformed files, or no network for a download."""


@dataclass(frozen=True)
class DataInfo:
    input_shape: tuple[int, ...]
    num_classes: int
    class_names: list[str]
    source: str  # e.g. "tfds:mnist" or "idx:/path/to/mnist"
    sizes: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Splits:
    """Unbatched, unscaled arrays; ``pipeline.make_dataset`` turns a split into a tf.data pipeline."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    info: DataInfo


def carve_validation(
    x: np.ndarray, y: np.ndarray, fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split a seeded, shuffled ``fraction`` of the *training* arrays off as validation."""
    order = np.random.default_rng(seed).permutation(len(x))
    n_val = round(len(x) * fraction)
    val, train = order[:n_val], order[n_val:]
    return x[train], y[train], x[val], y[val]
