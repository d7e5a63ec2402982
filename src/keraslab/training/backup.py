"""Checkpoints that a kill at any moment leaves usable: every file is written under a temporary name and renamed.

A run's backup folder holds the weights (with the optimizer) of its last finished epoch and ``state.json``, the
commit record: the epoch to resume at, the weights file, whether training is complete (early stopping counts),
and every epoch's logs. ``state.json`` is replaced last, so it always names a complete weights file; a rerun
restores from it and logs any epoch whose metrics the kill cut off (``RunTracker.log_missing_epochs``). Keras's
``BackupAndRestore`` writes its weights and its metadata in place, one after the other: a kill in between leaves
a truncated file or an epoch that does not match its weights.

Imports Keras: load it where TensorFlow is wanted anyway.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import keras

STATE_FILE = "state.json"


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be read; the message names the file."""


@contextmanager
def atomic_path(path: Path, suffix: str = "") -> Iterator[Path]:
    """A temporary sibling of ``path`` (ending in ``suffix``) to write; renamed onto ``path`` if the block ends
    normally, removed if it raises. A killed process leaves at most the temporary file, never a torn ``path``."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.partial{suffix}")
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def write_text_atomically(path: Path, text: str) -> None:
    with atomic_path(path) as temporary:
        temporary.write_text(text, encoding="utf-8")


@dataclass
class BackupState:
    """What ``state.json`` records (see the module docstring)."""

    epoch: int
    weights: str
    complete: bool = False
    history: list[dict[str, float]] = field(default_factory=list)


def read_state(directory: Path) -> BackupState | None:
    """The backup's committed state, or None when there is no backup."""
    path = directory / STATE_FILE
    try:
        return BackupState(**json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError) as exc:
        raise CheckpointError(f"{path}: unreadable backup state ({exc}); delete {directory} to start afresh") from None


def write_state(directory: Path, state: BackupState) -> None:
    """Commit ``state``, then delete the weights files it no longer names."""
    write_text_atomically(directory / STATE_FILE, json.dumps(asdict(state)))
    for stale in directory.glob("epoch-*"):
        if not stale.name.startswith(state.weights):
            stale.unlink(missing_ok=True)


def load_weights(model: keras.Model, path: Path) -> None:
    """``model.load_weights`` that names the file when it is not a readable weights file of this model."""
    try:
        model.load_weights(path)
    except (OSError, ValueError, KeyError) as exc:
        raise CheckpointError(
            f"{path}: not a readable checkpoint of this model ({exc}); delete it to start afresh"
        ) from None


def finite_logs(logs: Mapping[str, Any] | None) -> dict[str, float] | None:
    """The epoch's numeric logs, or None when any is NaN/inf (such an epoch is never committed)."""
    values = {k: float(v) for k, v in (logs or {}).items() if hasattr(v, "__float__")}
    return values if all(math.isfinite(v) for v in values.values()) else None


class EpochBackup(keras.callbacks.Callback):
    """Keras's ``BackupAndRestore`` (save each epoch, restore on the next ``fit``) with atomic commits.

    Put it after every callback that adds to the epoch's logs and before the one that logs them to MLflow: an
    epoch is then committed before it is logged, and a rerun logs what a kill cut off from the commit record.
    """

    def __init__(self, directory: Path) -> None:
        super().__init__()
        self.directory = directory
        self.history: list[dict[str, float]] = []

    def on_train_begin(self, logs: Mapping[str, Any] | None = None) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        state = read_state(self.directory)
        self.history = state.history if state else []
        if state is None:
            return
        if self.model.optimizer is not None and not self.model.optimizer.built:
            self.model.optimizer.build(self.model.trainable_variables)
        load_weights(self.model, self.directory / state.weights)
        # Private, as in Keras's own BackupAndRestore (keras/src/callbacks/backup_and_restore.py): fit reads the
        # epoch to start at from it. tests/test_faults.py fails if a resumed fit repeats or skips epochs.
        self.model._initial_epoch = self.params["epochs"] if state.complete else state.epoch

    def on_epoch_end(self, epoch: int, logs: Mapping[str, Any] | None = None) -> None:
        values = finite_logs(logs)
        if values is None:
            return  # a NaN epoch: the run fails, and its rerun resumes from the last finite epoch
        self.history = [*self.history[:epoch], values]
        weights = f"epoch-{epoch + 1}.weights.h5"
        with atomic_path(self.directory / weights, suffix=".weights.h5") as temporary:
            self.model.save_weights(temporary)
        complete = bool(self.model.stop_training) or epoch + 1 >= self.params["epochs"]
        write_state(self.directory, BackupState(epoch + 1, weights, complete, self.history))


class BestCheckpoint(keras.callbacks.ModelCheckpoint):
    """``ModelCheckpoint`` (best weights only) writing to a temporary file that is renamed onto ``filepath``."""

    def __init__(self, filepath: Path, **kwargs: Any) -> None:
        self.target = filepath
        super().__init__(str(filepath.with_name(f".partial.{filepath.name}")), **kwargs)

    def on_train_begin(self, logs: Mapping[str, Any] | None = None) -> None:
        Path(self.filepath).unlink(missing_ok=True)  # left by a kill mid-write: never rename it into place
        super().on_train_begin(logs)

    def on_epoch_end(self, epoch: int, logs: Mapping[str, Any] | None = None) -> None:
        super().on_epoch_end(epoch, logs)
        if Path(self.filepath).exists():  # written just now
            os.replace(self.filepath, self.target)
