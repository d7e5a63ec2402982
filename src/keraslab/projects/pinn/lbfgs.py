"""L-BFGS polishing: SciPy's L-BFGS-B driving a compiled TensorFlow value-and-gradient of the PINN loss.

The model's trainable variables are viewed as one flat float64 vector θ. Each SciPy evaluation is one call of a
``tf.function`` (XLA-compiled when the model is) that assigns θ to the variables and returns the loss and its
gradient, so the Python side costs a copy per evaluation, not an op dispatch per layer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import tensorflow as tf

if TYPE_CHECKING:
    from scipy.optimize import OptimizeResult

    from keraslab.projects.pinn.model import PinnModel


class FlatLoss:
    """θ -> (loss, ∂loss/∂θ) of ``model`` on ``batch`` (collocation and condition points).

    ``set_batch`` swaps in new points of the same shapes (resampling) without recompiling.
    """

    def __init__(self, model: PinnModel, batch: Mapping[str, Any], jit_compile: bool = True) -> None:
        self.variables = list(model.trainable_variables)
        self.shapes = [tuple(v.shape) for v in self.variables]
        self.sizes = [int(np.prod(shape)) for shape in self.shapes]
        self.dtype = tf.as_dtype(model.point_dtype)
        self.set_batch(batch)

        @tf.function(jit_compile=jit_compile)
        def value_and_gradient(theta: tf.Tensor, points: Mapping[str, Any]) -> tuple[tf.Tensor, tf.Tensor]:
            self._assign(theta)
            with tf.GradientTape() as tape:
                loss = model.total_loss(model.loss_terms(points))
            gradients = tape.gradient(loss, self.variables)
            return loss, tf.concat([tf.reshape(g, [-1]) for g in gradients], axis=0)

        self._value_and_gradient = value_and_gradient

    def set_batch(self, batch: Mapping[str, Any]) -> None:
        self.batch = tf.nest.map_structure(lambda a: tf.constant(a, self.dtype), dict(batch))

    def _assign(self, theta: tf.Tensor) -> None:
        for variable, part, shape in zip(self.variables, tf.split(theta, self.sizes), self.shapes, strict=True):
            variable.assign(tf.reshape(part, shape))

    def __call__(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        loss, gradient = self._value_and_gradient(tf.constant(theta, self.dtype), self.batch)
        return float(loss), gradient.numpy().astype(np.float64)

    def current(self) -> np.ndarray:
        return np.concatenate([np.asarray(v.numpy(), np.float64).ravel() for v in self.variables])

    def assign(self, theta: np.ndarray) -> None:
        self._assign(tf.constant(theta, self.dtype))


def minimize(loss: FlatLoss, iterations: int) -> OptimizeResult:
    """Run L-BFGS-B for up to ``iterations`` from the current weights and leave the model at its result.

    Settings as Raissi et al.'s: 50 correction pairs, up to 50 line-search steps, tolerances at machine
    precision so that the iteration budget decides when to stop.
    """
    from scipy.optimize import minimize as scipy_minimize

    eps = float(np.finfo(np.float64).eps)
    result = scipy_minimize(
        loss,
        loss.current(),
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": iterations, "maxfun": 2 * iterations, "maxcor": 50, "maxls": 50, "ftol": eps, "gtol": eps},
    )
    loss.assign(result.x)
    return result
