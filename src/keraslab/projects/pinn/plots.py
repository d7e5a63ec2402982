"""Figures of a PINN solution against its reference: heat maps and time slices, or curves for 1-D problems."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

SLICES = (0.25, 0.5, 0.75)


def field_figures(axes: dict[str, np.ndarray], predicted: np.ndarray, reference: np.ndarray) -> dict[str, Figure]:
    """``solution.png`` (prediction / reference / |error|) and, for (x, t) problems, ``slices.png``."""
    if len(axes) == 1:
        return {"solution.png": curves(axes, predicted, reference)}
    return {"solution.png": heat_maps(axes, predicted, reference), "slices.png": slices(axes, predicted, reference)}


def heat_maps(axes: dict[str, np.ndarray], predicted: np.ndarray, reference: np.ndarray) -> Figure:
    (x_name, x), (t_name, t) = axes.items()
    shape = (len(x), len(t))
    fields = {
        "prediction": predicted.reshape(shape),
        "reference": reference.reshape(shape),
        "|error|": np.abs(predicted - reference).reshape(shape),
    }
    fig = Figure(figsize=(15, 3.8), layout="constrained")
    for ax, (title, field) in zip(fig.subplots(1, 3), fields.items(), strict=True):
        image = ax.pcolormesh(t, x, field, shading="auto", cmap="magma" if title == "|error|" else "RdBu_r")
        fig.colorbar(image, ax=ax)
        ax.set(title=title, xlabel=t_name, ylabel=x_name)
    return fig


def slices(axes: dict[str, np.ndarray], predicted: np.ndarray, reference: np.ndarray) -> Figure:
    (x_name, x), (t_name, t) = axes.items()
    shape = (len(x), len(t))
    fig = Figure(figsize=(15, 3.6), layout="constrained")
    for ax, when in zip(fig.subplots(1, len(SLICES)), SLICES, strict=True):
        j = int(np.abs(t - when).argmin())
        ax.plot(x, reference.reshape(shape)[:, j], label="reference", linewidth=3, alpha=0.5)
        ax.plot(x, predicted.reshape(shape)[:, j], "--", label="PINN")
        ax.set(title=f"{t_name} = {t[j]:.2f}", xlabel=x_name, ylabel="u")
        ax.grid(alpha=0.3)
        ax.legend()
    return fig


def curves(axes: dict[str, np.ndarray], predicted: np.ndarray, reference: np.ndarray) -> Figure:
    ((t_name, t),) = axes.items()
    fig = Figure(figsize=(10, 3.6), layout="constrained")
    left, right = fig.subplots(1, 2)
    left.plot(t, reference.ravel(), label="reference", linewidth=3, alpha=0.5)
    left.plot(t, predicted.ravel(), "--", label="PINN")
    left.set(xlabel=t_name, ylabel="u", title="prediction and reference")
    left.legend()
    right.semilogy(t, np.abs(predicted - reference).ravel())
    right.set(xlabel=t_name, ylabel="|error|", title="|error|")
    for ax in (left, right):
        ax.grid(alpha=0.3)
    return fig
