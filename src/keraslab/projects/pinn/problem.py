"""What a PINN problem is: a box domain, a residual, conditions, and a reference solution to measure against."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

#: ``draw(lower, upper, n)``: n points in the box [lower, upper] (the configured collocation sampler).
Draw = Callable[[np.ndarray, np.ndarray, int], np.ndarray]


@dataclass(frozen=True)
class Condition:
    """A loss term fitting the network (``derivative`` None) or its derivative along an input to values."""

    name: str
    default_points: int
    derivative: int | None = None


@dataclass(frozen=True)
class Reference:
    """The reference solution on a tensor grid: ``axes`` per input, ``points`` (N, d), ``values`` (N, 1)."""

    axes: dict[str, np.ndarray]
    points: np.ndarray
    values: np.ndarray

    @classmethod
    def on_grid(cls, axes: dict[str, np.ndarray], solution: Callable[[np.ndarray], np.ndarray]) -> Reference:
        """Points in ``np.meshgrid(..., indexing="ij")`` order: the last input varies fastest."""
        mesh = np.meshgrid(*axes.values(), indexing="ij")
        points = np.stack([m.ravel() for m in mesh], axis=1)
        return cls(axes, points, solution(points).reshape(-1, 1))


class Problem:
    """A differential equation on a box ``[lower, upper]`` of the ``inputs``.

    ``residual(jet, c)`` returns the equation's residual from the network's derivatives (a ``Jet`` from
    ``autodiff``: ``u``, ``d(axis)``, ``dd(axis)``) and coefficients ``c``; the model penalises it
    at collocation points. ``unknowns`` maps the coefficients an inverse problem learns to initial guesses.
    """

    name: ClassVar[str]
    inputs: ClassVar[tuple[str, ...]]
    lower: ClassVar[tuple[float, ...]]
    upper: ClassVar[tuple[float, ...]]
    second_derivatives: ClassVar[tuple[int, ...]] = ()
    conditions: ClassVar[tuple[Condition, ...]]

    @property
    def unknowns(self) -> dict[str, float]:
        return {}

    def coefficients(self) -> dict[str, float]:
        """The true coefficients (those in ``unknowns`` are replaced by the model's estimates)."""
        raise NotImplementedError

    def residual(self, jet: Any, c: Mapping[str, Any]) -> Any:
        raise NotImplementedError

    def condition_data(self, condition: Condition, n: int, draw: Draw) -> tuple[np.ndarray, np.ndarray]:
        """``n`` points of ``condition`` and the values the network (or its derivative) must take there."""
        raise NotImplementedError

    def solution(self, points: np.ndarray) -> np.ndarray:
        """The reference solution at ``points`` (N, d), shape (N,)."""
        raise NotImplementedError

    def reference(self) -> Reference:
        raise NotImplementedError

    @property
    def terms(self) -> tuple[str, ...]:
        """The loss terms: the residual and one per condition."""
        return ("pde", *(c.name for c in self.conditions))

    def condition(self, name: str) -> Condition:
        return next(c for c in self.conditions if c.name == name)


def relative_l2(predicted: np.ndarray, reference: np.ndarray) -> float:
    """‖predicted − reference‖₂ / ‖reference‖₂ over all points."""
    predicted, reference = np.asarray(predicted, float).ravel(), np.asarray(reference, float).ravel()
    return float(np.linalg.norm(predicted - reference) / np.linalg.norm(reference))
