"""PINN task: full-batch steps over collocation and condition points, error against the reference, L-BFGS.

Each training step sees every point (``training.batch_size`` is unused); an epoch is
``data.options.steps_per_epoch`` steps. With ``data.options.resample_every`` the collocation points are redrawn
every that many steps. The last ``training.lbfgs_fraction`` of the epochs polish with L-BFGS, on the initial collocation
points or, after the first, on new ones per epoch (``data.options.lbfgs_resample``: fresh or residual-weighted).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from keraslab.projects.pinn.data import collocation
from keraslab.projects.pinn.problem import relative_l2
from keraslab.tasks import Evaluation

if TYPE_CHECKING:
    import keras
    import tensorflow as tf

    from keraslab.config import ProjectSpec
    from keraslab.data import Splits
    from keraslab.tracking.runs import RunTracker

REFERENCE_EVERY = 1  # epochs between rel_l2 measurements


def batch(splits: Splits, x_collocation: np.ndarray | None = None) -> dict[str, Any]:
    """One training batch: ``collocation`` points and ``{condition: {points, values}}``."""
    conditions = splits.info.extra["conditions"]
    return {
        "collocation": splits.x_train if x_collocation is None else x_collocation,
        **{name: {"points": p, "values": v} for name, (p, v) in conditions.items()},
    }


def datasets(
    splits: Splits, spec: ProjectSpec, global_batch: int
) -> tuple[tf.data.Dataset, tf.data.Dataset | None, tf.data.Dataset]:
    """``steps_per_epoch`` full batches per epoch; no validation; the reference grid as the test set."""
    import tensorflow as tf

    dtype = spec.builder_params()["dtype"]
    test = tf.data.Dataset.from_tensor_slices((splits.x_test.astype(dtype), splits.y_test.astype(dtype)))
    return training_batches(splits, dtype, spec.training.seed), None, test.batch(4096)


def training_batches(splits: Splits, dtype: str, seed: int) -> tf.data.Dataset:
    """One epoch of full batches, the collocation points redrawn every ``resample_every`` steps if set."""
    import tensorflow as tf

    opts = splits.info.extra["options"]
    fixed = as_dtype(batch(splits), dtype)
    if not opts.resample_every:
        return tf.data.Dataset.from_tensors(fixed).repeat(opts.steps_per_epoch)
    stream = resampled(splits, dtype, seed)
    signature = tf.nest.map_structure(lambda a: tf.TensorSpec((None, a.shape[1]), dtype), fixed)
    epoch = tf.data.Dataset.from_generator(
        lambda: itertools.islice(stream, opts.steps_per_epoch), output_signature=signature
    )
    return epoch.prefetch(2)


def resampled(splits: Splits, dtype: str, seed: int) -> Iterator[dict[str, Any]]:
    """Endless batches (shared by all epochs) whose collocation points change every ``resample_every`` steps."""
    opts, problem = splits.info.extra["options"], splits.info.extra["problem"]
    rng = np.random.default_rng(seed + 1)
    points = splits.x_train
    for step in itertools.count():
        if step and step % opts.resample_every == 0:
            points = collocation(problem, opts, rng)
        yield as_dtype(batch(splits, points), dtype)


def as_dtype(tree: dict[str, Any], dtype: str) -> dict[str, Any]:
    return {k: as_dtype(v, dtype) if isinstance(v, dict) else np.asarray(v, dtype) for k, v in tree.items()}


def callbacks(spec: ProjectSpec, splits: Splits, tracker: RunTracker) -> list[keras.callbacks.Callback]:
    """The reference error (with estimates and wall time) every epoch, and L-BFGS over the last epochs."""
    from keraslab.projects.pinn.callbacks import LbfgsPolish, ReferenceMonitor

    params = spec.builder_params()
    found: list[keras.callbacks.Callback] = [ReferenceMonitor(splits.x_test, splits.y_test, REFERENCE_EVERY)]
    if spec.training.lbfgs_fraction:
        resample = lbfgs_resampler(splits, spec.training.seed)
        found.append(LbfgsPolish(batch(splits), spec.training.lbfgs_fraction, params["lbfgs_iterations"], resample))
    return found


def lbfgs_resampler(splits: Splits, seed: int) -> Callable[[keras.Model], np.ndarray] | None:
    """New collocation points for an L-BFGS epoch as ``data.options.lbfgs_resample`` says (None: keep them)."""
    import tensorflow as tf

    from keraslab.projects.pinn.sampling import residual_weighted, sample

    opts, problem = splits.info.extra["options"], splits.info.extra["problem"]
    if opts.lbfgs_resample == "none":
        return None
    rng = np.random.default_rng(seed + 2)
    lower, upper = np.array(problem.lower), np.array(problem.upper)
    residuals: dict[int, Callable] = {}  # one compiled residual per model

    def resample(model: keras.Model) -> np.ndarray:
        if opts.lbfgs_resample == "fresh":
            return sample(lower, upper, opts.collocation, opts.sampler, rng)
        candidates = sample(lower, upper, opts.candidates, opts.sampler, rng)
        residual = residuals.setdefault(id(model), tf.function(model.residual))
        return residual_weighted(candidates, residual(candidates).numpy(), opts.collocation, rng)

    return resample


def evaluate(model: keras.Model, test_ds: tf.data.Dataset, splits: Splits) -> Evaluation:
    """Relative L2 and max error on the reference grid, estimated coefficients, and the field figures."""
    from keraslab.projects.pinn.plots import field_figures

    problem = splits.info.extra["problem"]
    predicted = model.predict(test_ds, verbose=0)
    metrics = {
        "test_rel_l2": relative_l2(predicted, splits.y_test),
        "test_max_abs_error": float(np.abs(predicted - splits.y_test).max()),
    }
    truth = problem.coefficients()
    for name in model.log_unknowns:
        estimate = float(model.coefficients()[name])
        metrics[f"test_{name}"] = estimate
        metrics[f"test_{name}_rel_error"] = abs(estimate - truth[name]) / abs(truth[name])
    figures = field_figures(splits.info.extra["axes"], predicted, splits.y_test)
    example = (splits.x_test[:2].astype(model.point_dtype), predicted[:2])
    return Evaluation(metrics=metrics, figures=figures, example=example)
