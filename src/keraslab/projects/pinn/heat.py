"""Heat equation u_t = α u_xx on x ∈ [−1, 1], t ∈ [0, 1], u(x, 0) = sin(πx), u(±1, t) = 0.

Analytic solution: u = exp(−απ²t) sin(πx).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from keraslab.projects.pinn.problem import Condition, Draw, Problem, Reference


@dataclass(frozen=True)
class Heat(Problem):
    alpha: float = 0.1

    name = "heat"
    inputs = ("x", "t")
    lower = (-1.0, 0.0)
    upper = (1.0, 1.0)
    second_derivatives = (0,)
    conditions = (Condition("initial", 128), Condition("boundary", 128))

    def __post_init__(self) -> None:
        if self.alpha <= 0:
            raise ValueError(f"alpha = {self.alpha} must be positive")

    def coefficients(self) -> dict[str, float]:
        return {"alpha": self.alpha}

    def residual(self, jet: Any, c: Mapping[str, Any]) -> Any:
        return jet.d(1) - c["alpha"] * jet.dd(0)

    def condition_data(self, condition: Condition, n: int, draw: Draw) -> tuple[np.ndarray, np.ndarray]:
        if condition.name == "initial":
            x = draw(np.array([-1.0]), np.array([1.0]), n)
            points = np.hstack([x, np.zeros_like(x)])
        else:
            t = draw(np.array([0.0]), np.array([1.0]), n)
            points = np.hstack([np.where(np.arange(n)[:, None] % 2 == 0, -1.0, 1.0), t])
        return points, self.solution(points).reshape(-1, 1)

    def solution(self, points: np.ndarray) -> np.ndarray:
        x, t = points[:, 0], points[:, 1]
        return np.exp(-self.alpha * np.pi**2 * t) * np.sin(np.pi * x)

    def reference(self) -> Reference:
        return Reference.on_grid({"x": np.linspace(-1, 1, 201), "t": np.linspace(0, 1, 101)}, self.solution)
