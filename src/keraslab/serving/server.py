"""Which model to serve, and MLflow's own scoring server (``mlflow models serve``) on it."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

RUN_ID = re.compile(r"[0-9a-f]{32}")
LOGGED_MODEL_ID = re.compile(r"m-[0-9a-f]{32}")


class ModelNotFound(ValueError):
    """MODEL names no run, logged model, registered model or model folder."""


def model_uri(model: str) -> str:
    """MODEL as an MLflow model URI: a run id, ``runs:/``, ``models:/name/version|@alias``, a logged model id
    (``m-…``) or a local model folder."""
    if model.startswith(("runs:/", "models:/")):
        return model
    if RUN_ID.fullmatch(model):
        return f"runs:/{model}/model"
    if LOGGED_MODEL_ID.fullmatch(model):
        return f"models:/{model}"
    if (Path(model) / "MLmodel").is_file():
        return str(Path(model).resolve())
    raise ModelNotFound(
        f"MODEL {model!r} is not a run id (32 hex digits), a runs:/ or models:/ URI (models:/name/1, "
        "models:/name@alias), a logged model id (m-…) or a folder with an MLmodel file"
    )


def server_env(tracking_uri: str) -> dict[str, str]:
    """This process's environment with the venv's ``bin`` first on PATH (the server starts ``uvicorn``)."""
    env = {**os.environ, "MLFLOW_TRACKING_URI": tracking_uri}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def serve_command(uri: str, host: str, port: int, env: dict[str, str], workers: int = 1) -> list[str]:
    mlflow_bin = shutil.which("mlflow", path=env["PATH"]) or "mlflow"
    return [
        mlflow_bin, "models", "serve", "--model-uri", uri, "--env-manager", "local",
        "--host", host, "--port", str(port), "--workers", str(workers),
    ]  # fmt: skip


def start(uri: str, host: str, port: int, tracking_uri: str, log: Path | None = None) -> subprocess.Popen:
    """Start the scoring server in the background (output to ``log``); see ``wait_ready``."""
    env = server_env(tracking_uri)
    out = log.open("wb") if log else subprocess.DEVNULL
    return subprocess.Popen(
        serve_command(uri, host, port, env), env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
    )


def wait_ready(url: str, process: subprocess.Popen, timeout: float = 120.0, path: str = "/ping") -> None:
    """Poll ``url + path`` (the scoring server's ``/ping``, the tracking server's ``/health``) until the server
    answers; fail if it exits or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with code {process.returncode} before answering")
        try:
            with urllib.request.urlopen(f"{url}{path}", timeout=2) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            time.sleep(0.5)
    raise TimeoutError(f"the server did not answer {url}{path} within {timeout:.0f} s")


def stop(process: subprocess.Popen) -> None:
    """Terminate the server's whole process group (MLflow's CLI, uvicorn and its workers) and wait for it."""
    for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def run_foreground(command: list[str], env: dict[str, str]) -> int:
    """Run a server until it exits, or until Ctrl-C/SIGTERM stops it and everything it started."""
    from keraslab.tracking.runs import sigterm_as_interrupt

    process = subprocess.Popen(command, env=env, start_new_session=True)
    try:
        with sigterm_as_interrupt():
            return process.wait()
    except KeyboardInterrupt:
        stop(process)
        return 0
