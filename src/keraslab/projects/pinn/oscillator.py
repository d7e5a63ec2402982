"""Damped harmonic oscillator u'' + 2δ u' + ω0² u = 0 on t ∈ [0, 1], u(0) = 1, u'(0) = 0 (under-damped).

Analytic solution: u = exp(−δt) (cos ωt + δ/ω sin ωt), ω = √(ω0² − δ²). The residual is divided by ω0² so that
its scale matches the conditions' (u ~ 1).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from keraslab.projects.pinn.problem import Condition, Draw, Problem, Reference


@dataclass(frozen=True)
class Oscillator(Problem):
    delta: float = 2.0
    omega0: float = 20.0

    name = "oscillator"
    inputs = ("t",)
    lower = (0.0,)
    upper = (1.0,)
    second_derivatives = (0,)
    conditions = (Condition("initial", 1), Condition("velocity", 1, derivative=0))

    def __post_init__(self) -> None:
        if not 0 <= self.delta < self.omega0:
            raise ValueError(f"need 0 <= delta < omega0 (under-damped); got delta {self.delta}, omega0 {self.omega0}")

    def coefficients(self) -> dict[str, float]:
        return {"delta": self.delta, "omega0": self.omega0}

    def residual(self, jet: Any, c: Mapping[str, Any]) -> Any:
        return jet.dd(0) / c["omega0"] ** 2 + 2 * c["delta"] / c["omega0"] ** 2 * jet.d(0) + jet.u

    def condition_data(self, condition: Condition, n: int, draw: Draw) -> tuple[np.ndarray, np.ndarray]:
        value = 1.0 if condition.name == "initial" else 0.0
        return np.zeros((n, 1)), np.full((n, 1), value)

    def solution(self, points: np.ndarray) -> np.ndarray:
        t = points[:, 0]
        omega = math.sqrt(self.omega0**2 - self.delta**2)
        return np.exp(-self.delta * t) * (np.cos(omega * t) + self.delta / omega * np.sin(omega * t))

    def reference(self) -> Reference:
        return Reference.on_grid({"t": np.linspace(0, 1, 501)}, self.solution)
