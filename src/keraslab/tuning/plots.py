"""Figures of a search: the objective per trial, and a parallel-coordinates view of the hyperparameters."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure


def objective_per_trial(rows: Sequence[Mapping[str, Any]], objective: str, direction: str) -> Figure:
    """Each completed trial's score (failed ones marked at the bottom) and the best so far."""
    fig = Figure(figsize=(7, 4), layout="constrained")
    ax = fig.subplots()
    done = [(i, row["score"]) for i, row in enumerate(rows) if row["score"] is not None]
    failed = [i for i, row in enumerate(rows) if row["score"] is None]
    if done:
        x, y = map(np.asarray, zip(*done, strict=True))
        best = np.maximum.accumulate(y) if direction == "max" else np.minimum.accumulate(y)
        ax.scatter(x + 1, y, label="trial")
        ax.step(x + 1, best, where="post", color="C1", label="best so far")
        if failed:
            ax.scatter(np.asarray(failed) + 1, [y.min()] * len(failed), marker="x", color="C3", label="failed")
    ax.set(xlabel="trial", ylabel=objective, title=f"{objective} per trial")
    ax.grid(alpha=0.3)
    ax.legend()
    return fig


def parallel_coordinates(rows: Sequence[Mapping[str, Any]], names: Sequence[str], objective: str) -> Figure:
    """One line per completed trial across the hyperparameter axes (scaled to [0, 1]), coloured by score."""
    done = [row for row in rows if row["score"] is not None]
    axes_names = [*names, objective]
    fig = Figure(figsize=(max(6, 1.6 * len(axes_names)), 4.5), layout="constrained")
    ax = fig.subplots()
    columns = [_scaled([row.get(name) for row in done]) for name in names]
    scores = np.asarray([row["score"] for row in done], dtype=float)
    columns.append(_scaled(list(scores)))
    cmap = colormaps["viridis"]
    span = np.ptp(scores) if len(scores) else 0.0
    for i in range(len(done)):
        colour = cmap((scores[i] - scores.min()) / span if span else 1.0)
        ax.plot(range(len(axes_names)), [column[0][i] for column in columns], color=colour, alpha=0.8)
    ax.set_xticks(range(len(axes_names)), axes_names, rotation=30)
    for x, (_, labels) in enumerate(columns):
        for position, label in labels:
            ax.annotate(label, (x, position), fontsize=7, xytext=(3, 0), textcoords="offset points")
        ax.axvline(x, color="grey", linewidth=0.8)
    ax.set(yticks=[], title="hyperparameters of the completed trials (colour: score)")
    return fig


def _scaled(values: list[Any]) -> tuple[list[float], list[tuple[float, str]]]:
    """Values on [0, 1] and axis labels: numbers linearly (log for wide positive ranges), others by category."""
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, int | float) and not isinstance(v, bool) for v in present):
        data = np.asarray([np.nan if v is None else v for v in values], dtype=float)
        low, high = np.nanmin(data), np.nanmax(data)
        log = low > 0 and high / low > 100
        if log:
            data, low, high = np.log10(data), np.log10(low), np.log10(high)
        span = (high - low) or 1.0
        labels = [(0.0, f"{10**low if log else low:.3g}"), (1.0, f"{10**high if log else high:.3g}")]
        return list((data - low) / span), labels
    categories = sorted({str(v) for v in present})
    position = {c: i / max(len(categories) - 1, 1) for i, c in enumerate(categories)}
    return [position.get(str(v), np.nan) for v in values], [(position[c], c) for c in categories]
