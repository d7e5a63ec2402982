"""PINN training: the tracked end-to-end run, the inverse problem, float64 and the flat L-BFGS gradient."""

from __future__ import annotations

import numpy as np
import pytest

from keraslab import models, registry
from keraslab.config import DataSpec
from keraslab.projects.pinn import data as pinn_data
from keraslab.projects.pinn import task as pinn_task

TINY = [
    "data.options.collocation=400",
    "data.options.steps_per_epoch=50",
    "model.hidden_layers=2",
    "model.units=16",
    "model.learning_rate=0.005",
]


def test_heat_trains_end_to_end_and_serves_points(workdir) -> None:
    """Adam then one L-BFGS epoch through the trainer: losses fall, the error is logged, the model serves u(x, t)."""
    import mlflow
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    from keraslab.training.trainer import train

    spec = registry.load(
        "pinn-heat", [*TINY, "training.epochs=3", "training.lbfgs_fraction=0.3", "model.lbfgs_iterations=100"]
    )
    result = train(spec, verbose=0)

    client = MlflowClient()
    history = {k: [m.value for m in client.get_metric_history(result.run_id, k)] for k in ("loss", "rel_l2")}
    assert history["loss"][-1] < history["loss"][0] / 10
    assert history["rel_l2"][-1] < history["rel_l2"][0]
    assert result.test_metrics["test_rel_l2"] < 0.1
    assert client.get_metric_history(result.run_id, "lbfgs_iterations")[-1].value > 50
    artifacts = {a.path for a in client.list_artifacts(result.run_id)}
    assert {"solution.png", "slices.png", "config.toml"} <= artifacts

    served = mlflow.pyfunc.load_model(result.model_uri)
    answer = served.predict({"x": [0.5, -0.5], "t": [0.0, 0.0]})
    assert np.allclose(answer["u"], [1.0, -1.0], atol=0.15)  # u(x, 0) = sin(πx)
    with pytest.raises(MlflowException, match="missing"):
        served.predict({"x": [0.5]})


def test_inverse_problem_moves_nu_toward_the_truth() -> None:
    """Easy data (ν = 0.1, a smooth solution; 300 clean observations): ν starts at 0.3 and must move down."""
    spec = DataSpec(
        dataset="pinn",
        options={
            "problem": "burgers_inverse",
            "problem_options": {"nu": 0.1, "nu_guess": 0.3, "quadrature_order": 40},
            "collocation": 300,
            "points": {"data": 300},
            "steps_per_epoch": 300,
        },
    )
    splits = pinn_data.load(spec, None, seed=0)
    model = build(splits, learning_rate=0.01)
    model.fit(dataset(splits), epochs=1, verbose=0)
    nu = float(model.coefficients()["nu"])
    assert abs(nu - 0.1) < 0.5 * abs(0.3 - 0.1), nu


def test_float64_model_and_flat_gradient_match_finite_differences() -> None:
    import tensorflow as tf

    from keraslab.projects.pinn.lbfgs import FlatLoss, minimize

    spec = DataSpec(dataset="pinn", options={"problem": "heat", "collocation": 100, "steps_per_epoch": 5})
    splits = pinn_data.load(spec, None, seed=0)
    model = build(splits, dtype="float64")
    assert all(v.dtype == "float64" for v in model.trainable_variables)
    logs = model.fit(dataset(splits, "float64"), epochs=1, verbose=0).history
    assert np.isfinite(logs["loss"][0])

    loss = FlatLoss(model, pinn_task.batch(splits), jit_compile=False)
    theta = loss.current()
    value, gradient = loss(theta)
    assert gradient.shape == theta.shape and isinstance(value, float)
    for i in np.random.default_rng(0).choice(len(theta), 5, replace=False):
        step = np.zeros_like(theta)
        step[i] = 1e-6
        numeric = (loss(theta + step)[0] - loss(theta - step)[0]) / 2e-6
        assert numeric == pytest.approx(gradient[i], rel=1e-5, abs=1e-9)
    result = minimize(loss, 30)
    assert result.fun < value / 2
    assert np.allclose(loss.current(), result.x)  # the model is left at the result
    assert model.network(tf.zeros((1, 2), tf.float64)).dtype == tf.float64


@pytest.mark.parametrize("how", ["fresh", "residual"])
def test_lbfgs_epochs_swap_in_new_collocation_points_without_retracing(how: str) -> None:
    from keraslab.projects.pinn.callbacks import LbfgsPolish

    spec = DataSpec(
        dataset="pinn",
        options={"problem": "heat", "collocation": 64, "lbfgs_resample": how, "candidates": 500, "steps_per_epoch": 2},
    )
    splits = pinn_data.load(spec, None, seed=0)
    model = build(splits)
    polish = LbfgsPolish(pinn_task.batch(splits), 0.99, 3, pinn_task.lbfgs_resampler(splits, seed=0))
    model.fit(dataset(splits), epochs=2, callbacks=[polish], verbose=0)
    points = polish.loss.batch["collocation"].numpy()
    assert points.shape == (64, 2) and not np.allclose(points, splits.x_train)
    assert np.all((points >= [-1, 0]) & (points <= [1, 1]))
    assert polish.loss._value_and_gradient.experimental_get_tracing_count() == 1
    assert polish.done > 0


@pytest.mark.parametrize(("epochs", "fraction", "start"), [(23, 0.13, 20), (20, 0.13, 17), (3, 0.13, 2), (4, 0.0, 4)])
def test_lbfgs_polishes_the_last_fraction_of_the_epochs_fit_runs(epochs: int, fraction: float, start: int) -> None:
    """The start follows fit's own epochs (``--epochs``, a trial's), at least one epoch when the fraction is > 0."""
    from keraslab.projects.pinn.callbacks import LbfgsPolish

    polish = LbfgsPolish({}, fraction, 1)
    polish.set_params({"epochs": epochs, "steps": 1, "verbose": 0})
    polish.on_train_begin()
    assert polish.start_epoch == start


def test_a_pinn_search_trial_polishes_with_lbfgs(workdir) -> None:
    """Trials run tuner.epochs, not training.epochs: L-BFGS must still start in their last epoch(s)."""
    from mlflow import MlflowClient

    from keraslab.tuning.search import SearchOptions, run_search
    from keraslab.tuning.space import find_search, load_search

    spec = registry.load(
        "pinn-heat", [*TINY, "training.epochs=30", "training.lbfgs_fraction=0.3", "model.lbfgs_iterations=20"]
    )
    search = load_search(find_search(spec, "pinn-burgers"), spec, ["tuner.max_trials=1", "tuner.epochs=2"])
    result = run_search(spec, search, SearchOptions())

    child = MlflowClient().get_run(result.trials[0]["run_id"])
    assert child.data.metrics.get("lbfgs_iterations", 0) > 0


def test_resampling_draws_new_collocation_points_every_n_steps() -> None:
    spec = registry.load(
        "pinn-heat", ["data.options.collocation=50", "data.options.resample_every=2", "data.options.steps_per_epoch=4"]
    )
    splits = pinn_data.load(spec.data, None, seed=0)
    train, validation, _ = pinn_task.datasets(splits, spec, global_batch=1)
    points = [element["collocation"].numpy() for element in train]
    assert validation is None and len(points) == 4
    assert np.array_equal(points[0], points[1]) and not np.array_equal(points[1], points[2])
    assert np.array_equal(element_conditions(train, 0), element_conditions(train, 3))


def element_conditions(ds, index: int) -> np.ndarray:
    return list(ds)[index]["initial"]["points"].numpy()


def build(splits, dtype: str = "float32", learning_rate: float = 0.005):
    params = {"hidden_layers": 2, "units": 16, "dtype": dtype, "learning_rate": learning_rate}
    return models.build("pinn_mlp", {**params, **splits.info.model_params})


def dataset(splits, dtype: str = "float32"):
    return pinn_task.training_batches(splits, dtype, seed=0)
