"""Which model to serve, and MLflow's own scoring server (``mlflow models serve``) on it."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from keraslab.processes import server_env

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
