"""The lifecycle of an MLflow run: start or resume, log, and always end in a final state.

A run that raises ends FAILED with the reason in the ``keraslab.failure_reason`` tag; Ctrl-C or SIGTERM
ends it KILLED. A run records its host and process id: one whose process was killed outright (kill -9) is ended
KILLED by the next ``train``, ``tune`` or ``runs`` on that host (``stale``), and a rerun of the same configuration
picks it up by its ``keraslab.resume_key`` tag and continues it.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from keraslab.processes import sigterm_as_interrupt
from keraslab.tracking.queries import RESUME_KEY_TAG, find_resumable
from keraslab.tracking.stale import FAILURE_TAG, process_tags
from keraslab.tracking.store import ensure_experiment

if TYPE_CHECKING:
    import keras
    from matplotlib.figure import Figure

RESUMED_AFTER_TAG = "keraslab.resumed_after"
MAX_PARAM_LENGTH = 6000


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite."""


class RunTracker:
    """Logs one run to MLflow. ``enabled=False`` gives the same interface doing nothing (``--no-track``)."""

    def __init__(self, uri: str, experiment: str, enabled: bool = True) -> None:
        self.uri, self.experiment, self.enabled = uri, experiment, enabled
        self.run_id: str | None = None
        self.resumed = False
        # Opening a store checks its schema (seconds): do it in the background while data and model load.
        self._experiment_id = ThreadPoolExecutor(1).submit(open_store, uri, experiment) if enabled else None

    # ------------------------------------------------------------------ lifecycle

    @contextlib.contextmanager
    def start(self, run_name: str, tags: Mapping[str, str], resume_key: str, resumable: bool) -> Iterator[RunTracker]:
        """Open (or reopen) the run; end it FINISHED, FAILED or KILLED. An unfinished run of ``resume_key`` is
        reopened when ``resumable`` (its progress was checkpointed), or else when it logged no metric yet."""
        if not self.enabled:
            yield self
            return
        # MLflow's async metric logger (used by its Keras callback) otherwise blocks on its queue for up to 1 s
        # between polls, and ending the run waits that second out. Buffering makes it wait on its stop event.
        os.environ.setdefault("MLFLOW_ASYNC_LOGGING_BUFFERING_SECONDS", "1")
        import mlflow

        mlflow.set_tracking_uri(self.uri)
        experiment_id = self._experiment_id.result()
        previous = find_resumable(self.uri, experiment_id, resume_key, progress_ok=resumable)
        self.resumed = previous is not None
        run = mlflow.start_run(
            run_id=previous,
            experiment_id=None if previous else experiment_id,
            run_name=None if previous else run_name,
            tags={**tags, RESUME_KEY_TAG: resume_key, **process_tags()},
        )
        self.run_id = run.info.run_id
        if previous and FAILURE_TAG in run.data.tags:  # why the last attempt ended: kept, but no longer current
            mlflow.set_tag(RESUMED_AFTER_TAG, run.data.tags[FAILURE_TAG])
            mlflow.delete_tag(FAILURE_TAG)
        status, reason = "FINISHED", None
        try:
            with sigterm_as_interrupt():
                yield self
        except KeyboardInterrupt:
            status, reason = "KILLED", "interrupted (Ctrl-C or SIGTERM)"
            raise
        except BaseException as exc:
            status, reason = "FAILED", f"{type(exc).__name__}: {exc}"
            raise
        finally:
            if reason:
                mlflow.set_tag(FAILURE_TAG, reason[:5000])
            mlflow.end_run(status)

    # ------------------------------------------------------------------ logging

    def log_params(self, params: Mapping[str, Any]) -> None:
        if self.enabled:
            import mlflow

            mlflow.log_params({k: _param_value(v) for k, v in params.items()})

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        if self.enabled:
            import mlflow

            mlflow.log_metrics({k: float(v) for k, v in metrics.items()}, step=step)

    def set_tags(self, tags: Mapping[str, str]) -> None:
        if self.enabled:
            import mlflow

            mlflow.set_tags(tags)

    def log_text(self, text: str, artifact_file: str) -> None:
        if self.enabled:
            import mlflow

            mlflow.log_text(text, artifact_file)

    def log_figure(self, figure: Figure, artifact_file: str) -> None:
        if self.enabled:
            import mlflow

            mlflow.log_figure(figure, artifact_file)

    def keras_callbacks(self) -> list[keras.callbacks.Callback]:
        """MLflow's own Keras callback: per-epoch metrics, optimizer params, model summary."""
        if not self.enabled:
            return []
        return [epoch_metrics_callback()]

    def log_missing_epochs(self, history: list[dict[str, float]]) -> int:
        """Log each epoch's metrics (``history[epoch]``, as a checkpoint recorded them) that the run lacks: the
        epochs a kill cut off between their checkpoint and their logging. Returns how many values it logged."""
        if not self.enabled or not history:
            return 0
        import mlflow

        logged = self.metric_history(sorted({key for logs in history for key in logs}))
        missing = 0
        for epoch, logs in enumerate(history):
            values = {k: v for k, v in logs.items() if all(step != epoch for step, _ in logged.get(k, []))}
            if values:
                mlflow.log_metrics(values, step=epoch)
                missing += len(values)
        return missing

    def metric_history(self, keys: list[str]) -> dict[str, list[tuple[int, float]]]:
        """``(step, value)`` pairs of each metric in this run, across resumed attempts."""
        if not self.enabled:
            return {}
        import mlflow

        mlflow.flush_async_logging()  # the last epoch's metrics may still be queued
        client = mlflow.MlflowClient(self.uri)
        return {key: [(m.step, m.value) for m in client.get_metric_history(self.run_id, key)] for key in keys}


def open_store(uri: str, experiment: str) -> str:
    """The experiment's id, after opening the store; then warm what logging the model needs at the end.

    MLflow checks a logged model's requirements against the installed packages, first mapping every installed
    distribution to its modules (0.2 s here, more with many packages), once per process. Done here, it
    overlaps the data loading instead of adding to the run's end.
    """
    experiment_id = ensure_experiment(uri, experiment)
    from mlflow.utils import requirements_utils

    # Private MLflow API (the requirement inference of mlflow/mlflow#4518, with no public warm-up): skipped if it
    # moves, and tests/test_upstream_private_apis.py fails loudly so that we notice.
    warm = getattr(requirements_utils, "_init_packages_to_modules_map", None)
    if warm is not None:
        warm()
    return experiment_id


def epoch_metrics_callback() -> keras.callbacks.Callback:
    """MLflow's Keras callback without its step-less ``validation_*`` copies of the epoch's ``val_*``."""
    from mlflow.keras import MlflowCallback

    class EpochMetrics(MlflowCallback):
        def on_test_end(self, logs=None) -> None:
            """Validation metrics already arrive, with their epoch, in ``on_epoch_end``'s logs."""

    return EpochMetrics()


def finished_model_uri(uri: str, experiment: str, order_by: str) -> str | None:
    """``runs:/<id>/model`` of the first FINISHED run of ``experiment`` by ``order_by`` (an MLflow order
    clause such as ``metrics.test_accuracy DESC``), or None when there is none."""
    from mlflow import MlflowClient

    client = MlflowClient(uri)
    found = client.get_experiment_by_name(experiment)
    if found is None:
        return None
    runs = client.search_runs(
        [found.experiment_id], filter_string="attributes.status = 'FINISHED'", order_by=[order_by], max_results=1
    )
    return f"runs:/{runs[0].info.run_id}/model" if runs else None


def pinned_requirements() -> list[str]:
    """What a logged model needs, pinned to this environment (skips MLflow's slow inference)."""
    from importlib.metadata import PackageNotFoundError, version

    pins = []
    for name in ("keras", "tensorflow", "tensorflow-cpu", "numpy"):
        with contextlib.suppress(PackageNotFoundError):
            pins.append(f"{name}=={version(name)}")
    return pins


def _param_value(value: Any) -> str:
    text = str(value)
    return text if len(text) <= MAX_PARAM_LENGTH else text[: MAX_PARAM_LENGTH - 3] + "..."
