"""PINN problems: reference solutions, residuals of exact solutions, sampling, configuration errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

from keraslab.config import ConfigError, DataSpec
from keraslab.projects.pinn.burgers import cole_hopf
from keraslab.projects.pinn.problems import make_problem
from keraslab.projects.pinn.sampling import residual_weighted, sample


def smooth_burgers(x, t, nu: float, ops=np):
    """Closed-form Burgers solution from φ = 2 + exp(−νπ²t) cos(πx) (Cole–Hopf of a heat-equation mode)."""
    decay = ops.exp(-nu * math.pi**2 * t)
    return 2 * nu * math.pi * decay * ops.sin(math.pi * x) / (2 + decay * ops.cos(math.pi * x))


@pytest.mark.parametrize("nu", [0.01 / math.pi, 0.1, 1.0])
def test_cole_hopf_quadrature_matches_closed_form(nu: float) -> None:
    x, t = np.meshgrid(np.linspace(-1, 1, 41), np.linspace(0, 1, 11))
    u = cole_hopf(
        x,
        t,
        nu,
        u0=lambda y: smooth_burgers(y, np.zeros_like(y), nu),
        log_phi0=lambda y: np.log(2 + np.cos(np.pi * y)),
        order=60,
    )
    assert np.abs(u - smooth_burgers(x.ravel(), t.ravel(), nu)).max() < 1e-12 * max(1.0, nu * 10)


def test_burgers_reference_agrees_with_itself_at_two_resolutions() -> None:
    coarse, fine = make_problem("burgers", {"quadrature_order": 80}), make_problem("burgers")
    ref = fine.reference()
    assert ref.points.shape == (256 * 101, 2)
    subset = ref.points[::7]
    assert np.abs(coarse.solution(subset) - fine.solution(subset)).max() < 1e-9
    grid = ref.values.reshape(256, 101)
    assert np.allclose(grid[:, 0], -np.sin(np.pi * ref.axes["x"]), atol=1e-12)  # t = 0
    assert np.abs(grid[[0, -1], :]).max() < 1e-10  # u(±1, t) = 0
    jumps = np.abs(np.diff(grid, axis=0)).max(axis=0)
    assert jumps[25] < 0.2 and jumps[50] > 0.5  # smooth at t = 0.25, the shock at x = 0 formed by t = 0.5


def exact_tf(name: str, options: dict):
    """The closed-form solution of problem ``name`` written with TensorFlow ops, for differentiation."""
    import tensorflow as tf

    if name == "burgers":
        nu = options["nu"]
        return lambda p: smooth_burgers(p[:, :1], p[:, 1:], nu, tf)
    if name == "heat":
        return lambda p: tf.exp(-options["alpha"] * math.pi**2 * p[:, 1:]) * tf.sin(math.pi * p[:, :1])
    delta, omega0 = options["delta"], options["omega0"]
    omega = math.sqrt(omega0**2 - delta**2)
    return lambda p: tf.exp(-delta * p) * (tf.cos(omega * p) + delta / omega * tf.sin(omega * p))


@pytest.mark.parametrize(
    ("name", "options"),
    [("burgers", {"nu": 0.05}), ("heat", {"alpha": 0.3}), ("oscillator", {"delta": 1.5, "omega0": 12.0})],
)
def test_residual_of_an_exact_solution_vanishes(name: str, options: dict) -> None:
    """The problem's own residual code, on derivatives of a closed-form solution taken by ``jet``."""
    import tensorflow as tf

    from keraslab.projects.pinn.autodiff import jet

    problem = make_problem(name, options)
    points = sample(np.array(problem.lower), np.array(problem.upper), 200, "uniform", np.random.default_rng(0))
    derivatives = jet(exact_tf(name, options), tf.constant(points, tf.float64), problem.second_derivatives)
    assert np.abs(problem.residual(derivatives, problem.coefficients()).numpy()).max() < 1e-10
    wrong = {k: 1.5 * v for k, v in problem.coefficients().items()}
    assert np.abs(problem.residual(derivatives, wrong).numpy()).max() > 1e-3  # the check can fail


@pytest.mark.parametrize("method", ["uniform", "lhs", "sobol"])
def test_samplers_fill_the_box(method: str) -> None:
    points = sample(np.array([-1.0, 0.0]), np.array([1.0, 2.0]), 64, method, np.random.default_rng(1))
    assert points.shape == (64, 2)
    assert np.all(points.min(axis=0) >= [-1, 0]) and np.all(points.max(axis=0) <= [1, 2])
    if method == "lhs":  # one point per stratum in every dimension
        strata = np.floor((points - [-1, 0]) / [2, 2] * 64).astype(int)
        assert all(sorted(strata[:, j]) == list(range(64)) for j in range(2))


def test_residual_weighted_points_follow_the_residual() -> None:
    """RAD with k = c = 1: a residual 99x larger on a tenth of the box draws about half the points there."""
    rng = np.random.default_rng(0)
    candidates = rng.random((20_000, 2))
    hot = candidates[:, 0] < 0.1
    points = residual_weighted(candidates, np.where(hot, 99.0, 1.0), 2000, rng)
    share = np.mean(points[:, 0] < 0.1)
    assert len(np.unique(points, axis=0)) == 2000
    assert 0.4 < share < 0.6  # density ∝ |r| / mean|r| + 1 (mean 10.8): 0.1 × 10.17 / 2.0 ≈ 0.51 with replacement
    with pytest.raises(ValueError, match="cannot draw"):
        residual_weighted(candidates[:10], np.ones(10), 11, rng)


def test_conditions_and_noise() -> None:
    from keraslab.projects.pinn import data as pinn

    spec = DataSpec(dataset="pinn", options={"problem": "burgers_inverse", "points": {"data": 500}, "noise": 0.01})
    splits = pinn.load(spec, None, seed=3)
    points, values = splits.info.extra["conditions"]["data"]
    clean = splits.info.extra["problem"].solution(points).reshape(-1, 1)
    noise = (values - clean).std() / clean.std()
    assert points.shape == (500, 2) and 0.007 < noise < 0.013
    assert splits.info.model_params["problem"] == "burgers_inverse"


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"problem": "poisson"}, ["poisson", "burgers"]),
        ({"problem": "heat", "problem_options": {"nu": 1}}, ["nu", "alpha"]),
        ({"problem": "heat", "points": {"data": 5}}, ["data", "initial"]),
        ({"sampler": "grid"}, ["data.options.sampler", "grid"]),
    ],
)
def test_bad_options_are_named(options: dict, words: list[str]) -> None:
    from keraslab import registry

    with pytest.raises(ConfigError) as info:  # when the project file loads, before TensorFlow
        registry.load_project(
            {"name": "p", "data": {"dataset": "pinn", "options": options}, "model": {"builder": "pinn_mlp"}}, "p.toml"
        )
    assert all(word in str(info.value) for word in words), str(info.value)


def test_loss_weights_must_name_terms() -> None:
    from keraslab.projects.pinn.model import weights_of

    assert weights_of(("pde", "initial"), {"initial": 10}) == {"pde": 1.0, "initial": 10.0}
    with pytest.raises(ConfigError, match="pde, initial"):
        weights_of(("pde", "initial"), {"velocity": 1})
