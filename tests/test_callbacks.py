"""The standard callbacks follow the training spec."""

from __future__ import annotations

from pathlib import Path

import keras

from keraslab import registry
from keraslab.training.callbacks import first_non_finite, standard_callbacks


def kinds(callbacks: list) -> list[str]:
    return [type(c).__name__ for c in callbacks]


def test_defaults_stop_on_nan_and_checkpoint_the_best(tmp_path: Path) -> None:
    spec = registry.load("mnist-mlp", ["training.early_stopping.patience=7"])
    callbacks = standard_callbacks(spec.training, tmp_path, best_so_far=0.25)
    assert {"TerminateOnNaN", "EarlyStopping", "BestCheckpoint"} <= set(kinds(callbacks))
    stopping = next(c for c in callbacks if isinstance(c, keras.callbacks.EarlyStopping))
    assert stopping.patience == 7 and stopping.monitor == "val_loss"
    checkpoint = next(c for c in callbacks if isinstance(c, keras.callbacks.ModelCheckpoint))
    assert checkpoint.best == 0.25  # a resumed run keeps the best value it had reached


def test_switches_add_and_remove_callbacks(tmp_path: Path) -> None:
    spec = registry.load(
        "mnist-mlp",
        ["training.early_stopping.enabled=false", "training.reduce_lr.enabled=true", "training.reduce_lr.factor=0.2"],
    )
    callbacks = standard_callbacks(spec.training, tmp_path)
    assert "EarlyStopping" not in kinds(callbacks)
    (reduce,) = [c for c in callbacks if isinstance(c, keras.callbacks.ReduceLROnPlateau)]
    assert reduce.factor == 0.2 and reduce.monitor == "val_loss"


def test_first_non_finite_names_metric_and_epoch() -> None:
    assert first_non_finite({"loss": [1.0, 0.5], "val_loss": [1.0, 0.4]}) is None
    assert first_non_finite({"loss": [1.0, float("nan")], "accuracy": [0.1, 0.2]}) == ("loss", 1)
