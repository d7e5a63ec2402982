"""Figures logged with every run: learning curves and the confusion matrix."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure


def learning_curves(history: Mapping[str, Sequence[tuple[int, float]]]) -> Figure:
    """One panel per metric (loss, accuracy, ...), training and validation curves together.

    ``history`` maps a metric name (``loss``, ``val_loss``, ...) to ``(epoch, value)`` pairs.
    """
    bases = sorted({name.removeprefix("val_") for name in history})
    fig = Figure(figsize=(5 * len(bases), 3.8), layout="constrained")
    axes = fig.subplots(1, len(bases), squeeze=False)[0]
    for ax, base in zip(axes, bases, strict=True):
        for name, label in ((base, "train"), (f"val_{base}", "validation")):
            if history.get(name):
                epochs, values = zip(*sorted(history[name]), strict=True)
                ax.plot(np.asarray(epochs) + 1, values, marker="o", markersize=3, label=label)
        ax.set(title=base, xlabel="epoch")
        ax.grid(alpha=0.3)
        ax.legend()
    return fig


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, class_names: Sequence[str]) -> Figure:
    """Counts of true (rows) vs predicted (columns) labels, annotated."""
    n = len(class_names)
    counts = np.zeros((n, n), dtype=np.int64)
    np.add.at(counts, (y_true.astype(int), y_pred.astype(int)), 1)
    size = max(4.0, 0.5 * n + 2)
    fig = Figure(figsize=(size, size), layout="constrained")
    ax = fig.subplots()
    ax.imshow(counts, cmap="Blues")
    ax.set(
        xticks=range(n),
        yticks=range(n),
        xlabel="predicted",
        ylabel="true",
        title=f"confusion matrix (accuracy {np.trace(counts) / max(counts.sum(), 1):.2%})",
    )
    ax.set_xticklabels(class_names, rotation=45 if n > 10 else 0)
    ax.set_yticklabels(class_names)
    threshold = counts.max() / 2
    for i in range(n):
        for j in range(n):
            if counts[i, j]:
                ax.text(
                    j,
                    i,
                    str(counts[i, j]),
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if counts[i, j] > threshold else "black",
                )
    return fig
