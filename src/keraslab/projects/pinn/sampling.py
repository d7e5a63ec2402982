"""Collocation points in a box: uniform random, Latin hypercube or scrambled Sobol (``scipy.stats.qmc``), and
residual-weighted redraws of them."""

from __future__ import annotations

import warnings
from typing import Literal

import numpy as np

Sampler = Literal["uniform", "lhs", "sobol"]


def sample(lower: np.ndarray, upper: np.ndarray, n: int, method: Sampler, rng: np.random.Generator) -> np.ndarray:
    """``n`` points in ``[lower, upper]`` (one column per dimension), float64."""
    from scipy.stats import qmc

    lower, upper = np.atleast_1d(np.asarray(lower, float)), np.atleast_1d(np.asarray(upper, float))
    d = len(lower)
    if method == "uniform":
        unit = rng.random((n, d))
    elif method == "lhs":
        unit = qmc.LatinHypercube(d=d, rng=rng).random(n)
    elif method == "sobol":
        with warnings.catch_warnings():  # n need not be a power of 2 here
            warnings.simplefilter("ignore", UserWarning)
            unit = qmc.Sobol(d=d, scramble=True, rng=rng).random(n)
    else:
        raise ValueError(f"sampler {method!r} is not one of uniform, lhs, sobol")
    return lower + unit * (upper - lower)


def residual_weighted(
    candidates: np.ndarray, residual: np.ndarray, n: int, rng: np.random.Generator, k: float = 1.0, c: float = 1.0
) -> np.ndarray:
    """``n`` of ``candidates`` drawn without replacement with density ∝ |r|^k / mean(|r|^k) + c.

    Residual-based adaptive distribution (RAD, Wu et al. 2023, k = c = 1 by default): about half the points
    follow the residual (the shock, for Burgers), the rest stay spread over the domain.
    """
    if n > len(candidates):
        raise ValueError(f"cannot draw {n} points from {len(candidates)} candidates")
    density = np.abs(np.asarray(residual, float)).ravel() ** k
    density = density / density.mean() + c
    return candidates[rng.choice(len(candidates), n, replace=False, p=density / density.sum())]
