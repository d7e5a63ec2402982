"""Runs left RUNNING by a process that died without ending them (``kill -9``, a crash, a power cut).

Every run records where it runs: the host, the process id and the process's start time (so a reused pid is not
mistaken for the run's process). A RUNNING run of this host whose process is gone is ended KILLED with the reason
in the ``keraslab.failure_reason`` tag. Runs of other hosts are left alone: their processes cannot be seen here.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable
from pathlib import Path

HOST_TAG = "keraslab.host"
PID_TAG = "keraslab.pid"
STARTED_TAG = "keraslab.process_start"
FAILURE_TAG = "keraslab.failure_reason"


def process_tags(pid: int | None = None) -> dict[str, str]:
    """The tags that identify process ``pid`` (default: this one) on this host."""
    pid = os.getpid() if pid is None else pid
    return {HOST_TAG: socket.gethostname(), PID_TAG: str(pid), STARTED_TAG: process_start(pid)}


def process_start(pid: int) -> str:
    """``<boot id>:<start time in clock ticks>`` of ``pid`` on Linux; "" where /proc does not tell or it is gone."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return f"{boot}:{stat.rpartition(')')[2].split()[19]}"  # field 22; the name in (...) may hold spaces


def is_gone(tags: dict[str, str]) -> bool:
    """Whether the process a run's tags name ran on this host and no longer exists (False when unknown)."""
    if tags.get(HOST_TAG) != socket.gethostname() or not tags.get(PID_TAG, "").isdigit():
        return False
    pid = int(tags[PID_TAG])
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        pass
    recorded = tags.get(STARTED_TAG, "")
    return bool(recorded) and process_start(pid) not in ("", recorded)  # the pid now belongs to another process


def retire_dead_runs(uri: str, experiment_ids: Iterable[str]) -> list[str]:
    """End KILLED every RUNNING run of these experiments whose process on this host is gone; their ids."""
    from mlflow import MlflowClient

    client = MlflowClient(uri)
    ids = list(experiment_ids)
    running = client.search_runs(ids, filter_string="attributes.status = 'RUNNING'") if ids else []
    retired = []
    for run in running:
        if is_gone(run.data.tags):
            tags = run.data.tags
            reason = f"process {tags[PID_TAG]} on {tags[HOST_TAG]} ended without ending its run (killed or crashed)"
            client.set_tag(run.info.run_id, FAILURE_TAG, reason)
            client.set_terminated(run.info.run_id, "KILLED")
            retired.append(run.info.run_id)
    return retired
