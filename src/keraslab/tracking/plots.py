"""Figures logged with every run: learning curves and the confusion matrix.

Their margins are set in inches rather than by a layout engine: constrained layout doubles the time to save
a figure, and these two are drawn at the end of every tracked run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure


def learning_curves(history: Mapping[str, Sequence[tuple[int, float]]]) -> Figure:
    """One panel per metric (loss, accuracy, ...), training and validation curves together.

    ``history`` maps a metric name (``loss``, ``val_loss``, ...) to ``(epoch, value)`` pairs.
    """
    bases = sorted({name.removeprefix("val_") for name in history})
    fig = Figure(figsize=(5 * len(bases), 3.8))
    axes = fig.subplots(1, len(bases), squeeze=False)[0]
    set_margins(fig, left=0.75, right=0.2, bottom=0.55, top=0.35, between=0.85)
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
    label_inches = 0.08 * max((len(str(name)) for name in class_names), default=1)  # 10-point tick labels
    slanted = n > 10 or label_inches > 0.25  # long or many column labels are written at 45 degrees
    below = 0.55 + (0.75 * label_inches if slanted else 0.2)
    size = max(4.0, 0.5 * n + 2)
    fig = Figure(figsize=(size + label_inches, size + below - 0.75))
    ax = fig.subplots()
    set_margins(fig, left=0.55 + label_inches, right=0.2, bottom=below, top=0.4)
    ax.imshow(counts, cmap="Blues")
    ax.set(xticks=range(n), yticks=range(n), xlabel="predicted", ylabel="true")
    accuracy = np.trace(counts) / max(counts.sum(), 1)
    ax.set_title(f"confusion matrix (accuracy {accuracy:.2%})", fontsize=10)
    ax.set_xticklabels(class_names, rotation=45 if slanted else 0, ha="right" if slanted else "center")
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


def set_margins(fig: Figure, left: float, right: float, bottom: float, top: float, between: float = 0.0) -> None:
    """Place the axes of ``fig`` (one row) with these margins and gaps between panels, in inches."""
    width, height = fig.get_size_inches()
    panels = len(fig.axes)
    panel_width = (width - left - right - between * (panels - 1)) / panels
    fig.subplots_adjust(
        left=left / width,
        right=1 - right / width,
        bottom=bottom / height,
        top=1 - top / height,
        wspace=between / panel_width,
    )
