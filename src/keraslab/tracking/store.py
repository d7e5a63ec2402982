"""Where runs live: ``$MLFLOW_TRACKING_URI``, else an embedded SQLite store in ``./mlruns``."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote, urlparse

STORE_DIR = Path("mlruns")


def store_dir() -> Path:
    """The local folder holding the embedded store, artifacts and checkpoints (``./mlruns``)."""
    return (Path.cwd() / STORE_DIR).resolve()


def tracking_uri(explicit: str | None = None) -> str:
    """``explicit`` (``--tracking-uri``), else ``$MLFLOW_TRACKING_URI``, else ``sqlite:///<cwd>/mlruns/mlflow.db``."""
    uri = explicit or os.environ.get("MLFLOW_TRACKING_URI")
    if uri:
        return uri
    store_dir().mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{store_dir() / 'mlflow.db'}"


def artifact_location(uri: str, experiment: str) -> str | None:
    """Artifacts of a SQLite store go next to its database; a server decides for itself (None)."""
    parsed = urlparse(uri)
    if parsed.scheme != "sqlite":
        return None
    db_path = Path(unquote(parsed.path[1:]))  # sqlite:///rel.db -> rel.db, sqlite:////abs.db -> /abs.db
    return (db_path.parent / "artifacts" / experiment).resolve().as_uri()


def ensure_experiment(uri: str, name: str) -> str:
    """The id of experiment ``name`` in the store at ``uri``, creating it if needed."""
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    return client.create_experiment(name, artifact_location=artifact_location(uri, name))
