"""What a dataset family returns: in-memory arrays for the three splits and a description."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


class DataUnavailable(RuntimeError):
    """The dataset cannot be read: missing or malformed files, or no network for a download."""


@dataclass(frozen=True)
class DataInfo:
    source: str  # e.g. "tfds:mnist" or "idx:/path/to/mnist"
    model_params: dict[str, Any] = field(default_factory=dict)  # builder params the data determines
    class_names: list[str] = field(default_factory=list)
    sizes: dict[str, int] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)  # anything a task needs (a tokenizer, scalers, ...)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)


@dataclass(frozen=True)
class Splits:
    """Unbatched, unscaled arrays; the project's task turns them into tf.data pipelines."""

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
