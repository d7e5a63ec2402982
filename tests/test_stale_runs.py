"""Runs whose process died (kill -9) do not stay RUNNING: the next ``runs``, ``train`` or ``tune`` on the host
ends them KILLED with the reason; live processes' and other hosts' runs are left alone."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from mlflow import MlflowClient
from typer.testing import CliRunner

from keraslab.cli import app
from keraslab.tracking import queries
from keraslab.tracking.stale import FAILURE_TAG, HOST_TAG, PID_TAG, STARTED_TAG, process_tags, retire_dead_runs


@pytest.fixture
def store(workdir: Path) -> tuple[str, str]:
    """The working directory's store and an experiment named like the mnist-mlp project."""
    uri = f"sqlite:///{workdir / 'mlruns' / 'mlflow.db'}"
    return uri, MlflowClient(uri).create_experiment("mnist-mlp")


def dead_pid() -> int:
    """The id of a process that has exited (and been reaped)."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def running_run(uri: str, experiment_id: str, tags: dict[str, str], **metrics: float) -> str:
    client = MlflowClient(uri)
    run_id = client.create_run(experiment_id, tags={**tags, queries.RESUME_KEY_TAG: "k"}).info.run_id
    for key, value in metrics.items():
        client.log_metric(run_id, key, value)
    return run_id


def test_a_dead_process_run_is_killed_with_the_reason_and_live_ones_stay(store: tuple[str, str]) -> None:
    uri, experiment_id = store
    dead = running_run(uri, experiment_id, process_tags(dead_pid()))
    alive = running_run(uri, experiment_id, process_tags())
    elsewhere = running_run(uri, experiment_id, {**process_tags(dead_pid()), HOST_TAG: "another-host"})
    untagged = running_run(uri, experiment_id, {})
    reused = running_run(uri, experiment_id, {**process_tags(), STARTED_TAG: "another-boot:1"})  # pid reused

    assert sorted(retire_dead_runs(uri, [experiment_id])) == sorted([dead, reused])
    client = MlflowClient(uri)
    status = {run_id: client.get_run(run_id).info.status for run_id in (dead, alive, elsewhere, untagged, reused)}
    assert status == {dead: "KILLED", alive: "RUNNING", elsewhere: "RUNNING", untagged: "RUNNING", reused: "KILLED"}
    reason = client.get_run(dead).data.tags[FAILURE_TAG]
    assert "ended without ending its run" in reason and client.get_run(dead).data.tags[PID_TAG] in reason
    assert retire_dead_runs(uri, [experiment_id]) == []  # nothing left to retire


def test_process_tags_name_this_process() -> None:
    tags = process_tags()
    assert tags[PID_TAG] == str(os.getpid()) and tags[HOST_TAG]
    assert tags[STARTED_TAG] == process_tags(os.getpid())[STARTED_TAG] != ""


def test_resume_skips_live_runs_and_needs_a_checkpoint_to_continue_progress(store: tuple[str, str]) -> None:
    uri, experiment_id = store
    running_run(uri, experiment_id, process_tags())  # this process's own run: never taken over
    assert queries.find_resumable(uri, experiment_id, "k") is None
    with_progress = running_run(uri, experiment_id, process_tags(dead_pid()), loss=0.5)
    assert queries.find_resumable(uri, experiment_id, "k", progress_ok=False) is None  # would repeat epochs
    assert queries.find_resumable(uri, experiment_id, "k") == with_progress
    assert MlflowClient(uri).get_run(with_progress).info.status == "KILLED"
    empty = running_run(uri, experiment_id, process_tags(dead_pid()))
    assert queries.find_resumable(uri, experiment_id, "k", progress_ok=False) == empty


def test_runs_marks_dead_runs_killed_and_all_shows_them(store: tuple[str, str], workdir: Path) -> None:
    uri, experiment_id = store
    dead = running_run(uri, experiment_id, process_tags(dead_pid()))
    finished = running_run(uri, experiment_id, {}, test_accuracy=0.9)
    MlflowClient(uri).set_terminated(finished, "FINISHED")

    best = CliRunner().invoke(app, ["runs", "mnist-mlp"], env={"COLUMNS": "250"})
    assert best.exit_code == 0, best.output
    assert finished[:8] in best.output and dead[:8] not in best.output
    assert MlflowClient(uri).get_run(dead).info.status == "KILLED"  # retired by the listing

    every = CliRunner().invoke(app, ["runs", "mnist-mlp", "--all"], env={"COLUMNS": "250"})
    assert every.exit_code == 0, every.output
    assert dead[:8] in every.output and "KILLED" in every.output and "ended without ending its run" in every.output


def test_overwritten_runs_end_killed_and_are_never_resumed(store: tuple[str, str]) -> None:
    uri, experiment_id = store
    old = running_run(uri, experiment_id, process_tags(dead_pid()))
    assert queries.end_unfinished(uri, experiment_id, "k") == [old]
    run = MlflowClient(uri).get_run(old)
    assert run.info.status == "KILLED" and "--overwrite" in run.data.tags[FAILURE_TAG]
    assert queries.find_resumable(uri, experiment_id, "k", progress_ok=False) is None


def test_runs_table_fits_80_columns(store: tuple[str, str], workdir: Path) -> None:
    uri, experiment_id = store
    finished = running_run(uri, experiment_id, {}, test_accuracy=0.9)
    MlflowClient(uri).set_terminated(finished, "FINISHED")
    listed = CliRunner().invoke(app, ["runs", "mnist-mlp"], env={"COLUMNS": "80"})
    assert listed.exit_code == 0, listed.output
    (row,) = [line for line in listed.output.splitlines() if finished[:8] in line]
    assert "0.9000" in row and len(row) <= 80  # one line per run: no cell wrapped
