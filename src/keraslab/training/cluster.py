"""``keraslab cluster``: the ``TF_CONFIG`` of a multi-worker cluster, and a cluster of local workers in one command.

Every worker of a ``MultiWorkerMirroredStrategy`` cluster is its own process with the same cluster list and its
own index in ``TF_CONFIG``; worker 0 is the chief (it tracks the run and writes the checkpoints). Imports no
TensorFlow.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Annotated

import typer


def tf_config(workers: list[str], index: int) -> dict:
    """``TF_CONFIG`` for worker ``index`` of a cluster of ``workers`` (``host:port`` each)."""
    for address in workers:
        host, sep, port = address.rpartition(":")
        if not sep or not host or not port.isdigit():
            raise ValueError(f"worker address {address!r} is not host:port (e.g. 10.0.0.2:12345)")
    if not 0 <= index < len(workers):
        raise ValueError(f"index {index} is not a worker of a {len(workers)}-worker cluster (0..{len(workers) - 1})")
    return {"cluster": {"worker": list(workers)}, "task": {"type": "worker", "index": index}}


def free_ports(count: int) -> list[int]:
    """``count`` ports on 127.0.0.1 that are free now (held open together so they differ)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def launch_local(train_args: list[str], workers: int, log_dir: Path, timeout: float | None = None) -> int:
    """Run ``keraslab train <train_args> --strategy multiworker`` as ``workers`` local processes on 127.0.0.1.

    The chief prints to this terminal; worker ``i`` writes ``log_dir/worker-i.log``. When one process fails, the
    others (which would wait for it in the next all-reduce) are terminated. Returns the first failing exit code,
    else 0. Rerunning the same command resumes from the chief's last checkpoint.
    """
    addresses = [f"127.0.0.1:{port}" for port in free_ports(workers)]
    log_dir.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "keraslab", "train", *train_args, "--strategy", "multiworker"]
    processes = []
    for index in range(workers):
        env = {**os.environ, "TF_CONFIG": json.dumps(tf_config(addresses, index))}
        output = None if index == 0 else (log_dir / f"worker-{index}.log").open("w")
        processes.append(
            subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT if output else None)
        )
    try:
        return wait_all(processes, timeout)
    finally:
        for process in processes:  # SIGTERM ends a run KILLED; one stuck in a collective with a dead peer is killed
            if process.poll() is None:
                process.terminate()
        for process in processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def wait_all(processes: list[subprocess.Popen], timeout: float | None) -> int:
    """Wait for every process; on the first failure (or ``timeout`` seconds) return its code at once."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        codes = [p.poll() for p in processes]
        if failed := [c for c in codes if c not in (None, 0)]:
            return failed[0]
        if all(c == 0 for c in codes):
            return 0
        if deadline is not None and time.monotonic() > deadline:
            return 124
        time.sleep(0.2)


def register(app: typer.Typer) -> None:
    cluster = typer.Typer(help="Multi-worker training: TF_CONFIG for a cluster, or N local workers.")
    app.add_typer(cluster, name="cluster")

    @cluster.command("tf-config")
    def print_tf_config(
        workers: Annotated[str, typer.Argument(help="The cluster's workers, comma-separated host:port, chief first.")],
        index: Annotated[int, typer.Option(help="This machine's position in the list.")] = 0,
    ) -> None:
        """Print the `export TF_CONFIG=...` line for one worker; run it there, then `keraslab train ...
        --strategy multiworker` on every worker."""
        try:
            config = tf_config([w.strip() for w in workers.split(",") if w.strip()], index)
        except ValueError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
        typer.echo(f"export TF_CONFIG='{json.dumps(config)}'")

    @cluster.command(
        "train", context_settings={"allow_extra_args": True, "ignore_unknown_options": True}, add_help_option=True
    )
    def train_local(
        ctx: typer.Context,
        project: Annotated[str, typer.Argument(help="Project name or TOML path, as for `keraslab train`.")],
        workers: Annotated[int, typer.Option(min=1, help="Local worker processes.")] = 2,
        log_dir: Annotated[Path | None, typer.Option(help="Where workers 1.. write their logs.")] = None,
    ) -> None:
        """Train PROJECT on WORKERS local processes under MultiWorkerMirroredStrategy; any other option is passed
        to `keraslab train` (e.g. --epochs 3 --set training.batch_size=64)."""
        logs = log_dir or Path(tempfile.mkdtemp(prefix="keraslab-cluster-"))
        typer.echo(f"{workers} workers on 127.0.0.1; worker logs in {logs}")
        raise typer.Exit(launch_local([project, *ctx.args], workers, logs))
