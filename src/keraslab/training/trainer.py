"""``train(spec)``: data -> builder -> fit with callbacks -> test evaluation, tracked in MLflow."""

from __future__ import annotations

import hashlib
import json
import platform
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from keraslab import data as datasets
from keraslab.config import ProjectSpec
from keraslab.registry import REPO_ROOT
from keraslab.tracking.runs import RunTracker, TrainingDiverged
from keraslab.tracking.store import store_dir, tracking_uri
from keraslab.training.session import RunSession

if TYPE_CHECKING:
    import keras

    from keraslab.config import TrainingSpec


@dataclass
class TrackingOptions:
    enabled: bool = True
    uri: str | None = None  # None: $MLFLOW_TRACKING_URI or ./mlruns
    experiment: str | None = None  # None: the project's name
    register: str | None = None  # registry name for the trained model


@dataclass
class TrainResult:
    run_id: str | None
    model_uri: str | None
    test_metrics: dict[str, float]
    epochs_run: int
    wall_seconds: float
    fit_seconds: float
    train_samples_per_second: float
    resumed: bool
    model: Any = field(repr=False, default=None)


def resolved_config(spec: ProjectSpec, model_params: dict[str, Any]) -> dict[str, Any]:
    """The full configuration of a run: the spec with every builder default and data-derived value."""
    config = spec.model_dump(mode="json")
    config["model"] = {"builder": spec.model.builder, **json.loads(json.dumps(model_params))}
    return config


def resume_key(config: dict[str, Any]) -> str:
    """Runs of the same resolved configuration share a key: a rerun resumes an interrupted one."""
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:16]


def train(
    spec: ProjectSpec,
    *,
    data_dir: str | Path | None = None,
    tracking: TrackingOptions | None = None,
    checkpoint_root: Path | None = None,
    verbose: int | None = None,
) -> TrainResult:
    """Train project ``spec`` end to end and return what happened (see ``TrainResult``).

    ``verbose`` is Keras's: 1 a progress bar, 2 a line per epoch, 0 silent; None picks 1 on a terminal.
    """
    started = time.perf_counter()
    tracking = tracking or TrackingOptions()
    training = spec.training
    from keraslab.training.strategy import is_chief_process, precision, select

    chief = is_chief_process(training.strategy)  # other workers of a cluster train but do not track
    uri = tracking_uri(tracking.uri)

    import keras

    from keraslab import models, tasks
    from keraslab.training.backup import EpochBackup, load_weights, read_state
    from keraslab.training.callbacks import best_weights_path, first_non_finite, standard_callbacks
    from keraslab.training.distributed import scratch_dir

    strategy, strategy_name = select(training.strategy, training.devices)  # first: multiworker needs a fresh TF
    # Only now: the store opens while the data loads. Opened during TensorFlow's import, MLflow's imports would
    # contend with it for the GIL and the import locks, and delay it by more than the opening costs.
    tracker = RunTracker(uri, tracking.experiment or spec.name, tracking.enabled and chief)
    keras.utils.set_random_seed(training.seed)
    replicas = strategy.num_replicas_in_sync
    splits = datasets.load(spec.data, data_dir, training.seed)
    task = tasks.get(spec.task)
    params = {**spec.builder_params(), **splits.info.model_params}
    config = resolved_config(spec, params)
    key = resume_key(config)
    workdir = (checkpoint_root or store_dir() / "checkpoints") / spec.name / key
    backup_dir = workdir / "backup"  # kept until the run ends FINISHED: a kill while logging the model resumes
    restored = read_state(backup_dir)
    own_dir = workdir if chief else scratch_dir(workdir, strategy)  # best weights, a worker's own backups

    global_batch = training.batch_size * replicas
    train_ds, val_ds, test_ds = task.datasets(splits, spec, global_batch)

    tags = run_tags(spec, strategy_name, replicas, splits.info.source)
    session = RunSession(tracker, spec, splits)
    with (
        precision(training.mixed_precision) as policy,
        session.open(
            run_name=spec.name,
            tags=tags,
            key=key,
            resumable=restored is not None,
            config=config,
            params={"training.global_batch_size": global_batch, "replicas": replicas, "dtype_policy": policy},
        ),
    ):
        if tracker.enabled and restored and not tracker.resumed:  # left by a kill after its run had finished
            shutil.rmtree(backup_dir, ignore_errors=True)
            restored = None
        tracker.log_missing_epochs(restored.history if restored else [])
        with strategy.scope():
            model = apply_execution_options(models.build(spec.model.builder, params), training)
        best_so_far = best_value(tracker.metric_history([training.monitor]).get(training.monitor), training.monitor)
        callbacks = [
            *standard_callbacks(training, own_dir, best_so_far),
            *task.callbacks(spec, splits, tracker),
            EpochBackup(backup_dir),  # after what adds to the epoch's logs, before what logs them
            *tracker.keras_callbacks(),
        ]

        fit_started = time.perf_counter()
        verbose = (1 if sys.stdout.isatty() else 2) if verbose is None else verbose
        if strategy_name == "multiworker":  # Keras 3 fit fails under MultiWorkerMirroredStrategy
            from keraslab.training import distributed

            history = distributed.fit(
                model,
                strategy,
                lambda batch: task.datasets(splits, spec, batch)[:2],
                global_batch=global_batch,
                epochs=training.epochs,
                callbacks=callbacks,
                backup_dir=backup_dir,
                scratch=None if chief else own_dir,
                verbose=verbose if chief else 0,
            )
            model = distributed.local_copy(model, lambda: models.build(spec.model.builder, params))
        else:
            history = model.fit(
                train_ds,
                validation_data=val_ds,
                epochs=training.epochs,
                callbacks=callbacks,
                verbose=verbose,
                shuffle=False,  # the pipeline shuffles
            ).history
        fit_seconds = time.perf_counter() - fit_started
        epochs_run = len(next(iter(history.values()), []))
        samples_per_second = len(splits.x_train) * epochs_run / fit_seconds if fit_seconds else 0.0
        tracker.log_metrics({"fit_seconds": fit_seconds, "train_samples_per_second": samples_per_second})
        if bad := first_non_finite(history):
            raise TrainingDiverged(f"{bad[0]} became non-finite in epoch {bad[1] + 1}; training stopped")
        if best_weights_path(own_dir).exists():
            load_weights(model, best_weights_path(own_dir))

        curves = tracker.metric_history(sorted(history or (restored.history[-1] if restored else {})))
        if curves:
            from keraslab.tracking.plots import learning_curves

            tracker.log_figure(learning_curves(curves), "learning_curves.png")
        evaluation, model_uri = session.finish(model, test_ds, tracking.register)
    shutil.rmtree(backup_dir if chief else own_dir, ignore_errors=True)  # only now: the run ended FINISHED

    return TrainResult(
        run_id=tracker.run_id,
        model_uri=model_uri,
        test_metrics=evaluation.metrics,
        epochs_run=epochs_run,
        wall_seconds=time.perf_counter() - started,
        fit_seconds=fit_seconds,
        train_samples_per_second=samples_per_second,
        resumed=tracker.resumed,
        model=model,
    )


def apply_execution_options(model: keras.Model, training: TrainingSpec) -> keras.Model:
    """How ``fit`` runs the compiled model: XLA as ``training.jit_compile`` says ("auto" was resolved by
    ``compile``) and ``training.steps_per_execution`` steps per call. The trainer and every tuning trial use it."""
    if training.jit_compile != "auto":
        model.jit_compile = training.jit_compile
    model.steps_per_execution = training.steps_per_execution
    return model


def best_value(history: list[tuple[int, float]] | None, monitor: str) -> float | None:
    """The best logged value of ``monitor`` (max for accuracies, min otherwise), as Keras judges it."""
    if not history:
        return None
    values = [value for _, value in history]
    return max(values) if "acc" in monitor else min(values)


def run_tags(spec: ProjectSpec, strategy: str, replicas: int, source: str) -> dict[str, str]:
    import keras
    import tensorflow as tf

    tags = {
        "project": spec.name,
        "task": spec.task,
        "builder": spec.model.builder,
        "strategy": strategy,
        "replicas": str(replicas),
        "data_source": source,
        "tensorflow_version": tf.__version__,
        "keras_version": keras.__version__,
        "python_version": platform.python_version(),
        "command": " ".join(sys.argv)[:1000],
    }
    if commit := git_commit():
        tags["git_commit"] = commit
    return tags


def git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "-C", str(REPO_ROOT), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None
