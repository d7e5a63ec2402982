"""``keraslab server``: MLflow's tracking server over a shared database, artifacts proxied (clients need no shared
disk). Also the command line ``keraslab ui`` starts. SQLAlchemy and MLflow are imported inside functions."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path
from typing import Annotated

import typer

#: Database backends MLflow's SQL store supports.
BACKENDS = ("postgresql", "mysql", "sqlite")
#: The PyPI package of each SQLAlchemy driver module (``postgresql://`` means psycopg 3 since SQLAlchemy 2.1).
DRIVER_PACKAGES = {"psycopg": "'psycopg[binary]'", "psycopg2": "psycopg2-binary", "MySQLdb": "mysqlclient"}


class ServerError(ValueError):
    """A bad backend URI, an unreachable database, a missing driver or a port in use."""


def mlflow_server(backend_uri: str, host: str, port: int, *options: str) -> tuple[list[str], dict[str, str]]:
    """The ``mlflow server`` command line and environment, light settings: one worker, job execution off. The
    backend URI goes in the environment, so that a database password stays out of ``ps``."""
    from keraslab.processes import server_env

    env = {**server_env(backend_uri), "MLFLOW_BACKEND_STORE_URI": backend_uri}
    env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] = "false"
    mlflow_bin = shutil.which("mlflow", path=env["PATH"]) or "mlflow"
    return [mlflow_bin, "server", "--host", host, "--port", str(port), "--workers", "1", *options], env


def check_backend(uri: str) -> str:
    """Fail clearly unless ``uri`` is a postgresql/mysql/sqlite URI whose driver is installed and whose database
    answers; return it with the password masked, for messages."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError

    try:
        url = make_url(uri)
    except ArgumentError:
        raise ServerError(
            f"--backend-store-uri {uri!r} is not a database URI; expected postgresql://user@host:5432/db, "
            "mysql://user@host/db or sqlite:///path/mlflow.db"
        ) from None
    shown = url.render_as_string(hide_password=True)
    backend = url.get_backend_name()
    if backend not in BACKENDS:
        raise ServerError(f"--backend-store-uri {shown!r}: scheme {backend!r} is not one of {', '.join(BACKENDS)}")
    try:
        url.get_dialect().import_dbapi()
    except ImportError as exc:
        raise ServerError(
            f"--backend-store-uri {shown!r} needs the Python driver {exc.name!r}: "
            f"pip install {DRIVER_PACKAGES.get(exc.name or '', exc.name)}"
        ) from None
    connect_args = {"connect_timeout": 10} if backend != "sqlite" else {}
    engine = create_engine(url, connect_args=connect_args)
    try:
        with engine.connect():
            pass
    except SQLAlchemyError as exc:
        reason = str(exc.orig or exc).strip().splitlines()[0]
        raise ServerError(f"cannot open the database {shown!r}: {reason}") from None
    finally:
        engine.dispose()
    return shown


def check_port(host: str, port: int) -> None:
    """Fail clearly if ``host:port`` cannot be bound (in use, or not an address of this machine)."""
    if not 0 < port < 65536:
        raise ServerError(f"--port {port}: expected 1..65535")
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does: TIME_WAIT is no conflict
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise ServerError(f"cannot listen on {host}:{port}: {exc.strerror}; choose another --port") from None


def artifact_store(destination: str) -> str:
    """A URI (s3://…, gs://…) as given; a local folder made absolute and created."""
    if "://" in destination:
        return destination
    folder = Path(destination).expanduser().resolve()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ServerError(
            f"--artifacts-destination {destination!r}: cannot create the folder ({exc.strerror})"
        ) from None
    return str(folder)


def register(app: typer.Typer) -> None:
    app.command()(server)


def server(
    backend_store_uri: Annotated[
        str,
        typer.Option(
            envvar="MLFLOW_BACKEND_STORE_URI",
            help="Database of runs and models: postgresql://user[:password]@host:5432/db, mysql://… or sqlite:///…",
        ),
    ],
    artifacts_destination: Annotated[
        str, typer.Option(help="Folder (or s3://, gs://… URI) where the server stores the artifacts it proxies.")
    ],
    host: Annotated[str, typer.Option(help="Interface to bind (0.0.0.0 to serve a team: see README).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 5000,
    allowed_hosts: Annotated[
        str | None,
        typer.Option(
            help="Host[:port] names clients may use, comma-separated, * wildcards [default: localhost, LAN IPs]."
        ),
    ] = None,
) -> None:
    """Run a shared MLflow tracking server: every trainer, tuner and worker sets MLFLOW_TRACKING_URI to its URL."""
    from keraslab.console import console, fail
    from keraslab.processes import run_foreground

    try:
        check_port(host, port)
        shown = check_backend(backend_store_uri)
        artifacts = artifact_store(artifacts_destination)
    except ServerError as exc:
        raise fail(str(exc)) from None
    options = ["--serve-artifacts", "--artifacts-destination", artifacts]
    options += ["--allowed-hosts", allowed_hosts] if allowed_hosts else []
    command, env = mlflow_server(backend_store_uri, host, port, *options)
    console.print(
        f"MLflow tracking server on http://{host}:{port}  (runs: {shown}; artifacts: {artifacts}); Ctrl-C to stop\n"
        f"clients: export MLFLOW_TRACKING_URI=http://{socket.gethostname() if host == '0.0.0.0' else host}:{port}"
    )
    raise typer.Exit(run_foreground(command, env))
