"""Viscous Burgers' equation u_t + λ u u_x = ν u_xx on x ∈ [−1, 1], t ∈ [0, 1], u(x, 0) = −sin(πx), u(±1, t) = 0.

The reference solution is exact up to quadrature: the Cole–Hopf transformation turns Burgers into the heat
equation, whose solution is a Gaussian convolution, evaluated with Gauss–Hermite quadrature (Basdevant et al.
1986, the method behind Raissi et al.'s reference data). ``BurgersInverse`` learns ν (and optionally λ) from
noisy observations of that solution.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from keraslab.projects.pinn.problem import Condition, Draw, Problem, Reference

NU = 0.01 / math.pi
MAX_ORDER = 250  # numpy's hermgauss overflows beyond ~300 nodes
Field = Callable[[np.ndarray], np.ndarray]


def cole_hopf(
    x: np.ndarray, t: np.ndarray, nu: float, u0: Field, log_phi0: Field, order: int = 160, chunk: int = 4096
) -> np.ndarray:
    """u(x, t) of u_t + u u_x = ν u_xx on the real line from u(x, 0) = u0(x).

    With φ0 = exp(−∫u0 / 2ν) (``log_phi0`` its logarithm), u = ∫ u0(x−η) φ0(x−η) G(η, t) dη / ∫ φ0(x−η) G dη,
    G the heat kernel; η = √(4νt) z turns both integrals into Gauss–Hermite sums of ``order`` nodes, taken in
    log space so that φ0's huge range (e^100 for ν = 0.01/π) cannot overflow.
    """
    if not 2 <= order <= MAX_ORDER:
        raise ValueError(f"quadrature order {order} must be in [2, {MAX_ORDER}]")
    z, w = np.polynomial.hermite.hermgauss(order)
    log_w = np.log(w)
    x, t = np.broadcast_arrays(np.asarray(x, float).ravel(), np.asarray(t, float).ravel())
    out = np.empty_like(x)
    for start in range(0, len(x), chunk):
        xs, ts = x[start : start + chunk, None], t[start : start + chunk, None]
        y = xs - np.sqrt(4.0 * nu * ts) * z
        log_k = log_phi0(y) + log_w
        k = np.exp(log_k - log_k.max(axis=1, keepdims=True))
        out[start : start + chunk] = (k * u0(y)).sum(axis=1) / k.sum(axis=1)
    return out


@lru_cache(maxsize=8)
def sine_solution(nu: float, lam: float, order: int) -> Callable[[np.ndarray], np.ndarray]:
    """u(points) for u(x, 0) = −sin(πx) and u_t + λ u u_x = ν u_xx (v = λu solves λ = 1 from v0 = λu0).

    −sin(πx) is odd and 2-periodic, so the line solution vanishes at x = ±1: it is the boundary problem's too.
    """

    def u0(y: np.ndarray) -> np.ndarray:
        return -lam * np.sin(np.pi * y)

    def log_phi0(y: np.ndarray) -> np.ndarray:
        return lam * (1.0 - np.cos(np.pi * y)) / (2.0 * np.pi * nu)

    def solution(points: np.ndarray) -> np.ndarray:
        return cole_hopf(points[:, 0], points[:, 1], nu, u0, log_phi0, order) / lam

    return solution


@lru_cache(maxsize=8)
def reference_grid(nu: float, lam: float, order: int) -> Reference:
    """256 × 101 points (x × t), as in Raissi et al.'s data (with t = 1 included)."""
    axes = {"x": np.linspace(-1.0, 1.0, 256), "t": np.linspace(0.0, 1.0, 101)}
    return Reference.on_grid(axes, sine_solution(nu, lam, order))


@dataclass(frozen=True)
class Burgers(Problem):
    nu: float = NU
    lam: float = 1.0
    quadrature_order: int = 160

    name = "burgers"
    inputs = ("x", "t")
    lower = (-1.0, 0.0)
    upper = (1.0, 1.0)
    second_derivatives = (0,)
    conditions = (Condition("initial", 256), Condition("boundary", 256))

    def __post_init__(self) -> None:
        if self.nu <= 0 or self.lam <= 0:
            raise ValueError(f"nu = {self.nu} and lam = {self.lam} must be positive")

    def coefficients(self) -> dict[str, float]:
        return {"nu": self.nu, "lam": self.lam}

    def residual(self, jet: Any, c: Mapping[str, Any]) -> Any:
        return jet.d(1) + c["lam"] * jet.u * jet.d(0) - c["nu"] * jet.dd(0)

    def condition_data(self, condition: Condition, n: int, draw: Draw) -> tuple[np.ndarray, np.ndarray]:
        if condition.name == "initial":
            x = draw(np.array([-1.0]), np.array([1.0]), n)
            return np.hstack([x, np.zeros_like(x)]), -np.sin(np.pi * x)
        if condition.name == "boundary":
            t = draw(np.array([0.0]), np.array([1.0]), n)
            x = np.where(np.arange(n)[:, None] % 2 == 0, -1.0, 1.0)
            return np.hstack([x, t]), np.zeros_like(t)
        points = draw(np.array(self.lower), np.array(self.upper), n)  # observations
        return points, self.solution(points).reshape(-1, 1)

    def solution(self, points: np.ndarray) -> np.ndarray:
        return sine_solution(self.nu, self.lam, self.quadrature_order)(np.asarray(points, float))

    def reference(self) -> Reference:
        return reference_grid(self.nu, self.lam, self.quadrature_order)


@dataclass(frozen=True)
class BurgersInverse(Burgers):
    """Burgers with ν (and λ when ``recover`` names it) unknown, fitted to observations of the solution.

    Unknowns are learnt as logarithms (they are positive), starting from ``nu_guess`` / ``lam_guess``.
    """

    recover: tuple[str, ...] = ("nu",)
    nu_guess: float = 0.01
    lam_guess: float = 0.5

    name = "burgers_inverse"
    conditions = (Condition("data", 2000),)

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "recover", tuple(self.recover))
        if not self.recover or set(self.recover) - {"nu", "lam"}:
            raise ValueError(f"recover = {list(self.recover)} must name one or both of 'nu', 'lam'")
        if self.nu_guess <= 0 or self.lam_guess <= 0:
            raise ValueError("nu_guess and lam_guess must be positive")

    @property
    def unknowns(self) -> dict[str, float]:
        guesses = {"nu": self.nu_guess, "lam": self.lam_guess}
        return {name: guesses[name] for name in self.recover}
