"""The callbacks of every fit: NaN stop, early stopping, learning-rate reduction, best checkpoint. The trainer
adds the task's callbacks, the epoch backup (``backup.EpochBackup``) and tracking after them."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import keras

    from keraslab.config import TrainingSpec


def standard_callbacks(
    training: TrainingSpec, workdir: Path, best_so_far: float | None = None
) -> list[keras.callbacks.Callback]:
    """The trainer's callbacks: the ``training_callbacks`` and a best-weights checkpoint in ``workdir``, written
    atomically (``best_so_far`` carries its threshold across a resume)."""
    from keraslab.training.backup import BestCheckpoint

    workdir.mkdir(parents=True, exist_ok=True)
    return [
        *training_callbacks(training),
        BestCheckpoint(
            best_weights_path(workdir),
            monitor=training.monitor,
            save_best_only=True,
            save_weights_only=True,
            initial_value_threshold=best_so_far,
        ),
    ]


def training_callbacks(training: TrainingSpec) -> list[keras.callbacks.Callback]:
    """What every fit gets, a tuner's trials included: NaN stop, then early stopping and learning-rate
    reduction on ``training.monitor`` as the spec says. Stateless until fit, so Keras Tuner can deep-copy them."""
    import keras

    callbacks: list[keras.callbacks.Callback] = [keras.callbacks.TerminateOnNaN()]
    stopping = training.early_stopping
    if stopping.enabled:
        callbacks.append(
            keras.callbacks.EarlyStopping(
                monitor=training.monitor,
                patience=stopping.patience,
                min_delta=stopping.min_delta,
                restore_best_weights=False,  # the trainer's best checkpoint restores, also across a resume
            )
        )
    if training.reduce_lr.enabled:
        callbacks.append(
            keras.callbacks.ReduceLROnPlateau(
                monitor=training.monitor,
                factor=training.reduce_lr.factor,
                patience=training.reduce_lr.patience,
                min_lr=training.reduce_lr.min_lr,
            )
        )
    return callbacks


def best_weights_path(workdir: Path) -> Path:
    return workdir / "best.weights.h5"


def first_non_finite(history: dict[str, list[float]]) -> tuple[str, int] | None:
    """``(metric, epoch)`` of the first NaN/inf value in a Keras history, if any."""
    for name, values in history.items():
        for epoch, value in enumerate(values):
            if not math.isfinite(float(value)):
                return name, epoch
    return None
