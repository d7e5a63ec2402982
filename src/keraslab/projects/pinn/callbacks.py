"""Callbacks of a PINN fit: the error against the reference (plus estimates and wall time), L-BFGS polishing."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import keras
import numpy as np

from keraslab.projects.pinn.lbfgs import FlatLoss, minimize
from keraslab.projects.pinn.problem import relative_l2
from keraslab.training.schedules import polish_epochs


class ReferenceMonitor(keras.callbacks.Callback):
    """Adds ``rel_l2`` (every ``every`` epochs), the unknown coefficients and ``elapsed_s`` to the epoch logs.

    It runs before MLflow's callback, which logs them with the losses.
    """

    def __init__(self, points: np.ndarray, values: np.ndarray, every: int = 1) -> None:
        super().__init__()
        self.points, self.values, self.every = points, values, every
        self.started = time.perf_counter()

    def on_train_begin(self, logs: Mapping[str, Any] | None = None) -> None:
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if logs is None:
            return
        logs["elapsed_s"] = time.perf_counter() - self.started
        for name in self.model.log_unknowns:
            logs[name] = float(self.model.coefficients()[name])
        if (epoch + 1) % self.every == 0:
            predicted = self.model.predict_on_batch(self.points.astype(self.model.point_dtype))
            logs["rel_l2"] = relative_l2(predicted, self.values)


class LbfgsPolish(keras.callbacks.Callback):
    """The last ``fraction`` of this fit's epochs each begin with ``iterations`` L-BFGS iterations on ``batch``
    (``polish_epochs``: at least one, so a short trial polishes too).

    With ``resample`` (model -> collocation points) each of those epochs after the first replaces the batch's
    collocation points with new ones (past the float32 floor of one point set, new points give L-BFGS new work);
    L-BFGS then restarts from the current weights with a fresh curvature memory. The
    first-order optimizer's learning rate is set to 0, so the epoch's own steps only measure the polished losses:
    fit's loop, logs, early stopping and best checkpoint all see the polished model.
    """

    def __init__(
        self,
        batch: Mapping[str, Any],
        fraction: float,
        iterations: int,
        resample: Callable[[keras.Model], np.ndarray] | None = None,
    ) -> None:
        super().__init__()
        self.batch, self.fraction, self.iterations, self.resample = batch, fraction, iterations, resample
        self.start_epoch = 0
        self.loss: FlatLoss | None = None
        self.done = 0

    def on_train_begin(self, logs: Mapping[str, Any] | None = None) -> None:
        epochs = self.params["epochs"]
        self.start_epoch = epochs - polish_epochs(epochs, self.fraction)

    def on_epoch_begin(self, epoch: int, logs: Mapping[str, Any] | None = None) -> None:
        if epoch < self.start_epoch:
            return
        self.model.optimizer.learning_rate = 0.0
        if self.loss is None:
            self.loss = FlatLoss(self.model, self.batch, jit_compile=bool(self.model.jit_compile))
        elif self.resample is not None:
            self.loss.set_batch({**self.batch, "collocation": self.resample(self.model)})
        self.done += int(minimize(self.loss, self.iterations).nit)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if logs is not None and epoch >= self.start_epoch:
            logs["lbfgs_iterations"] = self.done
