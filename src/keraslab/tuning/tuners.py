"""Keras Tuner's tuners with every trial tracked as a nested MLflow child run of the search's parent run.

``TrackedTuner`` is a mixin over KT's own tuners; it only uses KT's hooks (``on_trial_begin``, ``run_trial``,
``on_epoch_end``, ``on_trial_end``). Tracking state lives on the tuner, not in callbacks: KT deep-copies the
callbacks handed to ``search`` for every execution, but reaches the tuner through its ``TunerCallback``.

A child run is tagged with the search key and the trial id, so a resumed or distributed search finds it:
a RUNNING child of a trial KT hands out again belongs to a killed process and is ended KILLED; a FINISHED
child means the trial completed before the kill, and its logged result is returned instead of training again.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import resource
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import keras_tuner
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag

from keraslab.tracking import queries
from keraslab.tracking.queries import PARENT_TAG
from keraslab.tracking.stale import FAILURE_TAG, process_tags
from keraslab.training.backup import write_text_atomically

if TYPE_CHECKING:
    from keraslab.tuning.space import TunerSpec

SEARCH_TAG = "keraslab.search_key"
TRIAL_TAG = "keraslab.trial_id"
KT_PREFIX = "tuner/"
RUN_STATUS = {"COMPLETED": "FINISHED", "FAILED": "FAILED", "INVALID": "FAILED"}


@dataclass
class TrialRecord:
    """What the tuner measured of one trial in this process."""

    trial_id: str
    status: str = "RUNNING"
    score: float | None = None
    run_id: str | None = None
    wall_seconds: float = 0.0
    fit_seconds: float = 0.0
    rss_mb: float = 0.0
    peak_rss_mb: float = 0.0
    hyperparameters: dict[str, Any] = field(default_factory=dict)

    @property
    def overhead_seconds(self) -> float:
        return self.wall_seconds - self.fit_seconds


@dataclass
class TrackingContext:
    """Where the trials are logged: the store, the experiment and the search's parent run."""

    uri: str
    experiment_id: str
    parent_run_id: str
    search_key: str
    total_trials: int | None = None


class TrackedTuner:
    """Mixin: put before a KT tuner class. Call ``attach(context)`` before ``search``."""

    tracking: TrackingContext
    records: dict[str, TrialRecord]

    def attach(self, context: TrackingContext) -> None:
        self.tracking, self.records = context, {}
        self._client = MlflowClient(context.uri)
        self._replay: dict[str, float] | None = None

    # ------------------------------------------------------------------ KT hooks

    def search(self, *args: Any, **kwargs: Any) -> None:
        """KT's search; a trial cut short by an exception or Ctrl-C/SIGTERM ends KILLED/FAILED, not RUNNING."""
        # KT clears the Keras session and collects garbage before every build; freezing what exists now
        # (TensorFlow, the data) keeps those collections from rescanning it: seconds less per trial.
        gc.freeze()
        try:
            with atomic_json_saves():
                super().search(*args, **kwargs)
        except BaseException as exc:
            status = "KILLED" if isinstance(exc, KeyboardInterrupt) else "FAILED"
            for record in self.records.values():
                if record.status == "RUNNING" and record.run_id:
                    self._client.set_tag(record.run_id, FAILURE_TAG, f"{type(exc).__name__}: {exc}"[:5000])
                    self._client.set_terminated(record.run_id, status)
            raise
        finally:
            gc.unfreeze()

    def on_search_begin(self) -> None:
        super().on_search_begin()
        if not self._is_worker():  # a lone tuner owns every RUNNING child: they are from a killed process
            for run in self._children("attributes.status = 'RUNNING'"):
                self._kill(run.info.run_id)

    def on_trial_begin(self, trial: keras_tuner.engine.trial.Trial) -> None:
        super().on_trial_begin(trial)
        reset_peak_rss()
        self._started = time.perf_counter()
        self.hypermodel.fit_seconds = 0.0
        self._replay = None
        for run in self._children(f"tags.`{TRIAL_TAG}` = '{trial.trial_id}'"):
            if run.info.status == "RUNNING":
                self._kill(run.info.run_id)
            elif run.info.status == "FINISHED" and self._replay is None:
                self._replay, self._replay_run = self._logged_result(run.info.run_id), run.info.run_id
        record = TrialRecord(trial.trial_id, hyperparameters=dict(trial.hyperparameters.values))
        self.records[trial.trial_id] = record
        record.run_id = self._replay_run if self._replay else self._start_child(trial)
        self._print_begin(trial)

    def run_trial(self, trial: keras_tuner.engine.trial.Trial, *args: Any, **kwargs: Any) -> Any:
        if self._replay is not None:  # completed (and logged) before a kill: do not train it again
            return self._replay
        with released_custom_gradients():
            return super().run_trial(trial, *args, **kwargs)

    def on_epoch_end(self, trial: Any, model: Any, epoch: int, logs: Mapping[str, float] | None = None) -> None:
        super().on_epoch_end(trial, model, epoch, logs=logs)
        run_id = self.records[trial.trial_id].run_id
        if run_id and logs:
            now = int(time.time() * 1000)
            metrics = [Metric(k, float(v), now, epoch) for k, v in logs.items() if isinstance(v, int | float)]
            self._client.log_batch(run_id, metrics=metrics)

    def on_trial_end(self, trial: keras_tuner.engine.trial.Trial) -> None:
        record = self.records[trial.trial_id]
        record.status = str(trial.status)
        record.wall_seconds = time.perf_counter() - self._started
        record.fit_seconds = self.hypermodel.fit_seconds
        record.rss_mb, record.peak_rss_mb = rss_mb()
        if not self._replay:  # end the child first: a kill after this point replays the trial, never reruns it
            self._end_child(record, trial.message)
        super().on_trial_end(trial)  # the oracle scores and saves the trial
        record.score = self.oracle.get_trial(trial.trial_id).score
        if record.run_id and record.score is not None:
            self._client.log_metric(record.run_id, "score", record.score)
        self._print_end(record)

    # ------------------------------------------------------------------ MLflow

    def _children(self, condition: str) -> list[Any]:
        context = self.tracking
        return queries.child_runs(context.uri, context.experiment_id, context.parent_run_id, condition)

    def _start_child(self, trial: keras_tuner.engine.trial.Trial) -> str:
        values = trial.hyperparameters.values
        tags = {
            PARENT_TAG: self.tracking.parent_run_id,
            SEARCH_TAG: self.tracking.search_key,
            TRIAL_TAG: trial.trial_id,
            "keraslab.tuner_id": self.tuner_id,
            **process_tags(),
            **{k: str(v) for k, v in values.items() if k.startswith(KT_PREFIX)},
        }
        run = self._client.create_run(self.tracking.experiment_id, tags=tags, run_name=f"trial-{trial.trial_id}")
        params = [Param(k, str(v)) for k, v in values.items() if not k.startswith(KT_PREFIX)]
        self._client.log_batch(run.info.run_id, params=params)
        return run.info.run_id

    def _end_child(self, record: TrialRecord, message: str | None) -> None:
        status = RUN_STATUS.get(record.status, "FAILED")
        now = int(time.time() * 1000)
        measured = {
            "trial_seconds": record.wall_seconds,
            "fit_seconds": record.fit_seconds,
            "overhead_seconds": record.overhead_seconds,
            "rss_mb": record.rss_mb,
            "peak_rss_mb": record.peak_rss_mb,
        }
        tags = [RunTag(FAILURE_TAG, message.strip().splitlines()[-1][:5000])] if status == "FAILED" and message else []
        self._client.log_batch(record.run_id, metrics=[Metric(k, v, now, 0) for k, v in measured.items()], tags=tags)
        self._client.set_terminated(record.run_id, status)

    def _kill(self, run_id: str) -> None:
        self._client.set_tag(run_id, FAILURE_TAG, "interrupted: its process was killed; the search resumed")
        self._client.set_terminated(run_id, "KILLED")

    def _logged_result(self, run_id: str) -> dict[str, float] | None:
        """The objective's best logged value of a finished child (what KT would have scored)."""
        objective = self.oracle.objective
        history = [m.value for m in self._client.get_metric_history(run_id, objective.name)]
        if not history:
            return None
        return {objective.name: max(history) if objective.direction == "max" else min(history)}

    # ------------------------------------------------------------------ progress

    def _trial_number(self, trial_id: str) -> str:
        total = self.tracking.total_trials
        return f"trial {int(trial_id) + 1}" + (f" of {total}" if total else "")

    def _print_begin(self, trial: keras_tuner.engine.trial.Trial) -> None:
        values = ", ".join(f"{k}={_short(v)}" for k, v in trial.hyperparameters.values.items())
        replay = " (completed before the interruption: using its logged result)" if self._replay else ""
        print(f"[{self.tuner_id}] {self._trial_number(trial.trial_id)} started{replay}: {values}", flush=True)

    def _print_end(self, record: TrialRecord) -> None:
        best = self.oracle.get_best_trials(1)
        best_text = f"{best[0].score:.4f} (trial {best[0].trial_id})" if best and best[0].score is not None else "-"
        score = f"{record.score:.4f}" if record.score is not None else "-"
        print(
            f"[{self.tuner_id}] {self._trial_number(record.trial_id)} {record.status}: "
            f"{self.oracle.objective.name}={score}; best so far {best_text}; "
            f"{record.wall_seconds:.1f} s (outside fit {record.overhead_seconds:.2f} s), RSS {record.rss_mb:.0f} MB",
            flush=True,
        )


def _short(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


class RandomSearch(TrackedTuner, keras_tuner.RandomSearch):
    pass


class Hyperband(TrackedTuner, keras_tuner.Hyperband):
    pass


class BayesianOptimization(TrackedTuner, keras_tuner.BayesianOptimization):
    pass


class GridSearch(TrackedTuner, keras_tuner.GridSearch):
    pass


TUNERS: dict[str, type[TrackedTuner]] = {
    "random": RandomSearch,
    "hyperband": Hyperband,
    "bayesian": BayesianOptimization,
    "grid": GridSearch,
}


def make_tuner(settings: TunerSpec, hypermodel: keras_tuner.HyperModel, seed: int, **kwargs: Any) -> TrackedTuner:
    """The tracked KT tuner of ``settings.kind`` (``kwargs``: directory, project_name, overwrite, ...)."""
    objective = keras_tuner.Objective(settings.objective, settings.resolved_direction)
    common = {
        "hypermodel": hypermodel,
        "objective": objective,
        "seed": seed,
        "executions_per_trial": settings.executions_per_trial,
        "max_consecutive_failed_trials": settings.max_consecutive_failed_trials,
        **kwargs,
    }
    if settings.kind == "hyperband":
        tuner = Hyperband(
            max_epochs=settings.epochs,
            factor=settings.factor,
            hyperband_iterations=settings.hyperband_iterations,
            **common,
        )
        tuner.oracle.max_trials = settings.max_trials  # KT's Hyperband has no budget of its own: an optional cap
        return tuner
    return TUNERS[settings.kind](max_trials=settings.max_trials, **common)


def planned_trials(tuner: TrackedTuner) -> int | None:
    """How many trials the search will run: max_trials, or Hyperband's schedule (capped by max_trials)."""
    oracle = getattr(tuner.oracle, "_oracle", tuner.oracle)  # a distributed worker's OracleClient wraps its own
    if isinstance(oracle, keras_tuner.oracles.HyperbandOracle):
        # Private KT API: Hyperband has no public trial count since keras-team/keras-tuner#171 dropped max_trials
        # (see #212, #1037); tests/test_upstream_private_apis.py fails loudly if these helpers change.
        per_iteration = sum(
            oracle._get_size(bracket, round_num)  # KT's own schedule arithmetic
            for bracket in range(oracle._get_num_brackets())
            for round_num in range(oracle._get_num_rounds(bracket))
        )
        total = per_iteration * oracle.hyperband_iterations
        return min(total, oracle.max_trials) if oracle.max_trials else total
    return getattr(oracle, "max_trials", None)


@contextlib.contextmanager
def atomic_json_saves() -> Iterator[None]:
    """Keras Tuner writes its oracle, trial and tuner JSON files in place, so a kill mid-write leaves a truncated
    file on which the search cannot resume (the failure of keras-team/keras-tuner#987). Within the block local
    files are written under a temporary name and renamed. Private KT API (``keras_tuner.src.utils.save_json``,
    which every KT save calls): tests/test_faults.py fails loudly if an upgrade moves it."""
    from keras_tuner.src import utils

    original = utils.save_json

    def save_json(path: str, obj: Any) -> str:
        if "://" in str(path):  # a remote file system (gs://...): KT's own write
            return original(path, obj)
        text = json.dumps(obj)
        write_text_atomically(Path(path), text)
        return text

    utils.save_json = save_json
    try:
        yield
    finally:
        utils.save_json = original


# ---------------------------------------------------------------------- memory


@contextlib.contextmanager
def released_custom_gradients() -> Iterator[None]:
    """Drop the gradient functions TensorFlow registered globally while the block traced a model's steps.

    Keras's TF optimizer sums gradients with ``replica_context.all_reduce``, a ``tf.custom_gradient``; traced in
    a ``tf.function`` it registers ``CustomGradient-N`` in TF's process-wide gradient registry, and that entry's
    closure keeps the whole traced train step alive (about 8 MB per trial for mnist-mlp, never freed by
    ``clear_session``). They are only needed while tracing, so a trial's entries go once its models are done.
    """
    from tensorflow.python.framework import ops

    # Private TF API: the leak is tensorflow/tensorflow#97697 (also #80895); there is no public way to drop the
    # entries. tests/test_upstream_private_apis.py fails loudly if TensorFlow moves the registry.
    registry = ops._gradient_registry._registry
    before = set(registry)
    try:
        yield
    finally:
        for name in set(registry) - before:
            if name.startswith("CustomGradient-"):
                del registry[name]


def rss_mb() -> tuple[float, float]:
    """(current, peak since the last ``reset_peak_rss``) resident memory of this process, in MB."""
    try:
        with open("/proc/self/status") as fh:
            fields = dict(line.split(":", 1) for line in fh if ":" in line)
        return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024
    except (OSError, KeyError, ValueError):
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return peak, peak


def reset_peak_rss() -> None:
    """Restart the kernel's peak-RSS counter (Linux), so the peak is per trial."""
    if os.path.exists("/proc/self/clear_refs"):
        try:
            with open("/proc/self/clear_refs", "w") as fh:
                fh.write("5")
        except OSError:
            pass
