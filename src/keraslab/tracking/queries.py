"""Every question keraslab asks the MLflow store, each against an explicit tracking URI (never MLflow's global one).

A search asks for its parent run and its trials' child runs, a rerun for the run it resumes, ``keraslab runs`` for
a project's runs. Each query that lists unfinished runs first retires the dead ones (see ``stale``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from keraslab.tracking.stale import FAILURE_TAG, is_gone, retire_dead_runs

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities import Run

RESUME_KEY_TAG = "keraslab.resume_key"
PARENT_TAG = "mlflow.parentRunId"


def _client(uri: str) -> MlflowClient:
    from mlflow import MlflowClient

    return MlflowClient(uri)


def experiment_id(uri: str, name: str) -> str | None:
    """The id of experiment ``name``, or None when the store has none of that name."""
    found = _client(uri).get_experiment_by_name(name)
    return found.experiment_id if found else None


def keyed_run(uri: str, experiment_id: str, key: str, status: str) -> str | None:
    """A run with resume key ``key`` in ``status`` (RUNNING, FINISHED, ...), if any."""
    runs = _client(uri).search_runs(
        [experiment_id],
        filter_string=f"tags.`{RESUME_KEY_TAG}` = '{key}' and attributes.status = '{status}'",
        max_results=1,
    )
    return runs[0].info.run_id if runs else None


def find_resumable(uri: str, experiment_id: str, key: str, progress_ok: bool = True) -> str | None:
    """The newest unfinished run (KILLED, FAILED, or RUNNING with its process gone) with resume key ``key``.

    A RUNNING run whose process is alive on this host belongs to it and is skipped. Without ``progress_ok`` (no
    checkpoint to continue from) only a run that logged no metric yet qualifies: nothing in it would repeat.
    """
    retire_dead_runs(uri, [experiment_id])
    runs = _client(uri).search_runs(
        [experiment_id],
        filter_string=f"tags.`{RESUME_KEY_TAG}` = '{key}' and attributes.status != 'FINISHED'",
        order_by=["attributes.start_time DESC"],
    )
    for run in runs:
        alive_here = run.info.status == "RUNNING" and not is_gone(run.data.tags)
        if not alive_here and (progress_ok or not run.data.metrics):
            return run.info.run_id
    return None


def end_unfinished(uri: str, experiment_id: str, key: str) -> list[str]:
    """End KILLED every unfinished run with resume key ``key`` and take the key off, so that none is resumed
    (``tune --overwrite``); their ids."""
    client = _client(uri)
    runs = client.search_runs(
        [experiment_id],
        filter_string=f"tags.`{RESUME_KEY_TAG}` = '{key}' and attributes.status != 'FINISHED'",
    )
    for run in runs:
        client.set_tag(run.info.run_id, FAILURE_TAG, "superseded: the same search was started again (--overwrite)")
        client.delete_tag(run.info.run_id, RESUME_KEY_TAG)
        client.set_terminated(run.info.run_id, "KILLED")
    return [run.info.run_id for run in runs]


def child_runs(uri: str, experiment_id: str, parent_run_id: str, condition: str = "") -> list[Run]:
    """The nested runs of ``parent_run_id`` (a search's trials), oldest first, optionally filtered further."""
    where = f"tags.`{PARENT_TAG}` = '{parent_run_id}'" + (f" and {condition}" if condition else "")
    return _client(uri).search_runs([experiment_id], filter_string=where, order_by=["attributes.start_time ASC"])


@dataclass(frozen=True)
class RunRow:
    """One line of ``keraslab runs``."""

    run_id: str
    status: str
    start_time: int | None
    epochs: str
    metrics: dict[str, float]
    reason: str


def project_runs(
    uri: str, experiment: str, metric: str, ascending: bool = False, limit: int = 10, every_status: bool = False
) -> list[RunRow] | None:
    """A project's FINISHED runs (``every_status``: all runs) best first by ``metric``; None without the
    experiment. Dead RUNNING runs of this host are retired first, so the table says KILLED, not RUNNING."""
    found = experiment_id(uri, experiment)
    if found is None:
        return None
    retire_dead_runs(uri, [found])
    runs = _client(uri).search_runs(
        [found],
        filter_string="" if every_status else "attributes.status = 'FINISHED'",
        order_by=[f"metrics.`{metric}` {'ASC' if ascending else 'DESC'}", "attributes.start_time DESC"],
        max_results=limit,
    )
    return [
        RunRow(
            run.info.run_id,
            run.info.status,
            run.info.start_time,
            run.data.params.get("training.epochs", ""),
            dict(run.data.metrics),
            run.data.tags.get(FAILURE_TAG, ""),
        )
        for run in runs
    ]
