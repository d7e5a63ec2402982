"""``keraslab server``: clear errors before starting; a tracking server on SQLite and on a throwaway PostgreSQL
cluster, the latter collecting a distributed search (chief + 2 workers) with every trial exactly once."""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from mlflow import MlflowClient
from typer.testing import CliRunner

from keraslab.cli import app
from keraslab.processes import stop, wait_ready
from keraslab.tuning.tuners import PARENT_TAG, TRIAL_TAG

from conftest import free_port, run_chief_and_two_workers

SEARCH = """
[tuner]
kind = "random"
max_trials = 4
epochs = 1

[space.units]
type = "choice"
values = [16, 32]

[space.learning_rate]
type = "float"
min = 1e-3
max = 1e-2
sampling = "log"
"""
PROJECT = ["training.batch_size=128", "training.early_stopping.enabled=false", "model.hidden_layers=1"]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--backend-store-uri", "http://host:5000"], "scheme 'http' is not one of postgresql, mysql, sqlite"),
        (["--backend-store-uri", "no uri"], "'no uri' is not a database URI"),
        (["--backend-store-uri", "mysql://me@localhost/db"], "needs the Python driver 'MySQLdb': pip install"),
        (["--backend-store-uri", "sqlite:////no/such/dir/m.db"], "cannot open the database"),
        (["--backend-store-uri", "postgresql://me@127.0.0.1:1/db"], "port 1 failed: Connection refused"),
        (["--port", "70000"], "--port 70000: expected 1..65535"),
    ],
)
def test_bad_options_fail_before_starting(workdir: Path, options: list[str], message: str) -> None:
    arguments = ["server", "--backend-store-uri", "sqlite:///ok.db", "--artifacts-destination", "art", *options]
    result = CliRunner().invoke(app, arguments)
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())


def test_a_port_in_use_is_named(workdir: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        arguments = ["server", "--backend-store-uri", "sqlite:///ok.db", "--artifacts-destination", "art"]
        result = CliRunner().invoke(app, [*arguments, "--port", str(port)])
    assert result.exit_code == 2
    assert f"cannot listen on 127.0.0.1:{port}" in " ".join(result.output.split())


@contextlib.contextmanager
def running_server(backend: str, workdir: Path) -> Iterator[str]:
    """``keraslab server`` on ``backend`` with artifacts in ``workdir/artifacts``, stopped on exit; its URL."""
    port, log = free_port(), workdir / "server.log"
    command = [sys.executable, "-m", "keraslab", "server", "--backend-store-uri", backend]
    command += ["--artifacts-destination", str(workdir / "artifacts"), "--port", str(port)]
    process = subprocess.Popen(command, stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_ready(url, process, timeout=120, path="/health")
        except (RuntimeError, TimeoutError) as exc:
            raise AssertionError(f"{exc}\n{log.read_text()[-3000:]}") from None
        yield url
    finally:
        stop(process)


@pytest.fixture
def sqlite_server(workdir: Path) -> Iterator[str]:
    with running_server(f"sqlite:///{workdir / 'mlruns' / 'mlflow.db'}", workdir) as url:  # pre-migrated: fast
        yield url


def test_sqlite_server_stores_runs_and_proxies_artifacts(sqlite_server: str, workdir: Path) -> None:
    client = MlflowClient(sqlite_server)
    run = client.create_run(client.create_experiment("team"))
    client.log_metric(run.info.run_id, "accuracy", 0.5)
    (workdir / "note.txt").write_text("through the proxy")
    client.log_artifact(run.info.run_id, str(workdir / "note.txt"))
    assert client.get_run(run.info.run_id).data.metrics == {"accuracy": 0.5}
    assert run.info.artifact_uri.startswith("mlflow-artifacts:/")  # clients need no shared disk
    assert [p.read_text() for p in (workdir / "artifacts").rglob("note.txt")] == ["through the proxy"]


def postgres_bin() -> Path:
    """The folder of ``initdb``/``pg_ctl``, or a skip naming what is missing."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    initdb = found[-1] if found else shutil.which("initdb")
    if not initdb:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) not found: apt-get install postgresql")
    return Path(initdb).parent


@pytest.fixture
def postgres() -> Iterator[str]:
    """A throwaway PostgreSQL cluster on a free 127.0.0.1 port with database ``mlflow``; its URI.

    initdb refuses to run as root: as root the cluster runs as ``nobody`` in a folder it owns."""
    bin_dir, port, owner, as_user = postgres_bin(), free_port(), -1, []
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam("nobody").pw_uid
        except KeyError:
            pytest.skip("running as root without a 'nobody' user: initdb cannot run as root")
        if not shutil.which("runuser"):
            pytest.skip("running as root without runuser: initdb cannot run as root")
        as_user = ["runuser", "-u", "nobody", "--"]
    root = Path(tempfile.mkdtemp(prefix="keraslab-pg-"))
    os.chown(root, owner, -1)
    data, log = root / "data", root / "postgres.log"

    def pg(*args: str) -> None:
        subprocess.run([*as_user, *args], check=True, capture_output=True, timeout=60)

    settings = f"-k {root} -p {port} -c listen_addresses=127.0.0.1 -c fsync=off"
    try:
        try:
            pg(str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")
            pg(str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-o", settings, "start")
            pg(str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "mlflow")
        except subprocess.CalledProcessError as exc:
            pytest.skip(f"no PostgreSQL cluster here: {Path(exc.cmd[len(as_user)]).name} failed: {exc.stderr.decode()}")
        yield f"postgresql://postgres@127.0.0.1:{port}/mlflow"
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run([*as_user, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"], timeout=60)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def postgres_server(postgres: str, workdir: Path) -> Iterator[str]:
    with running_server(postgres, workdir) as url:
        yield url


def test_distributed_search_logs_every_trial_once_to_a_postgresql_server(
    postgres: str, postgres_server: str, workdir: Path, mnist_dir: Path
) -> None:
    (workdir / "space.toml").write_text(SEARCH)
    command = [sys.executable, "-m", "keraslab", "tune", "mnist-mlp", "--space", "space.toml", "--distributed"]
    command += ["--experiment", "team-search", "--data-dir", str(mnist_dir), *(f"--set={o}" for o in PROJECT)]
    run_chief_and_two_workers(command, workdir, {**os.environ, "MLFLOW_TRACKING_URI": postgres_server})

    client = MlflowClient(postgres_server)
    found = client.search_runs([client.get_experiment_by_name("team-search").experiment_id])
    parents = [r for r in found if PARENT_TAG not in r.data.tags]
    children = [r for r in found if PARENT_TAG in r.data.tags]
    assert len(parents) == 1 and parents[0].info.status == "FINISHED"
    assert sorted(c.data.tags[TRIAL_TAG] for c in children) == ["0", "1", "2", "3"]  # every trial exactly once
    assert {c.data.tags[PARENT_TAG] for c in children} == {parents[0].info.run_id}
    assert all(c.info.status == "FINISHED" and "val_accuracy" in c.data.metrics for c in children)
    assert {c.data.tags["keraslab.tuner_id"] for c in children} <= {"worker0", "worker1"}
    assert client.list_artifacts(parents[0].info.run_id)  # the best model, uploaded through the server
    assert any((workdir / "artifacts").rglob("MLmodel"))

    import psycopg

    with psycopg.connect(postgres) as connection:  # the runs live in PostgreSQL, not in a local store
        assert connection.execute("select count(*) from runs").fetchone() == (5,)
