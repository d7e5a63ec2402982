"""Shared fixtures: an isolated working directory and MLflow store, tiny synthetic MNIST-format data."""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")  # as the CLI does: no phoning home, no env race


def pytest_configure(config: pytest.Config) -> None:
    """Split the CPU into 2 logical devices before TensorFlow starts, so MirroredStrategy has 2 replicas."""
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)


@pytest.fixture(scope="session")
def empty_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An MLflow SQLite database with its schema created once (creating one costs seconds per test)."""
    from mlflow import MlflowClient

    path = tmp_path_factory.mktemp("store-template") / "mlflow.db"
    MlflowClient(f"sqlite:///{path}").search_experiments()
    return path


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, empty_store: Path) -> Path:
    """A fresh working directory whose ``./mlruns`` (store, artifacts, checkpoints) starts as an empty store."""
    (tmp_path / "mlruns").mkdir()
    shutil.copyfile(empty_store, tmp_path / "mlruns" / "mlflow.db")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("KERASLAB_DATA_DIR", raising=False)
    return tmp_path


def experiments(workdir: Path) -> set[str]:
    """Names of the experiments in ``workdir``'s store."""
    from mlflow import MlflowClient

    return {e.name for e in MlflowClient(f"sqlite:///{workdir / 'mlruns' / 'mlflow.db'}").search_experiments()}


def write_idx(path: Path, array: np.ndarray) -> None:
    """Write ``array`` (uint8) as a gzipped IDX file, the format of the official MNIST files."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    with gzip.open(path, "wb") as fh:
        fh.write(header + array.astype(np.uint8).tobytes())


def synthetic_digits(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Learnable 28×28 "digits": class k is a bright 6×6 square at a class-specific place, plus noise."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, size=n)
    images = rng.integers(0, 60, size=(n, 28, 28)).astype(np.uint8)
    for i, k in enumerate(labels):
        row, col = 2 + 8 * (k // 4), 2 + 6 * (k % 4)
        images[i, row : row + 6, col : col + 6] = 255
    return images, labels.astype(np.uint8)


@pytest.fixture(scope="session")
def mnist_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir laid out like ``../shared/data``: ``mnist/`` with the four official IDX file names."""
    root = tmp_path_factory.mktemp("data")
    (root / "mnist").mkdir()
    for split, n, seed in (("train", 1200, 1), ("t10k", 300, 2)):
        images, labels = synthetic_digits(n, seed)
        write_idx(root / "mnist" / f"{split}-images-idx3-ubyte.gz", images)
        write_idx(root / "mnist" / f"{split}-labels-idx1-ubyte.gz", labels)
    return root


def interrupt_at(epoch: int):
    """A Keras callback that simulates Ctrl-C at the start of ``epoch`` (0-based)."""
    import keras

    class InterruptAt(keras.callbacks.Callback):
        def on_epoch_begin(self, current: int, logs=None) -> None:
            if current == epoch:
                raise KeyboardInterrupt

    return InterruptAt()


def free_port() -> int:
    """A port on 127.0.0.1 that is free now."""
    from keraslab.training.cluster import free_ports

    return free_ports(1)[0]


def run_chief_and_two_workers(command: list[str], cwd: Path, env: dict[str, str]) -> dict[str, str]:
    """Run ``command`` as Keras Tuner's chief and two workers on 127.0.0.1 (oracle on a free port); wait for all
    three, assert each exited 0, and return each one's output by tuner id."""
    oracle = {"KERASTUNER_ORACLE_IP": "127.0.0.1", "KERASTUNER_ORACLE_PORT": str(free_port()), "COLUMNS": "200"}
    processes = {
        tuner_id: subprocess.Popen(
            command,
            cwd=cwd,
            env={**env, **oracle, "KERASTUNER_TUNER_ID": tuner_id},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for tuner_id in ("chief", "worker0", "worker1")
    }
    try:
        outputs = {tuner_id: process.communicate(timeout=240)[0] for tuner_id, process in processes.items()}
    finally:
        for process in processes.values():
            process.kill()
    for tuner_id, process in processes.items():
        assert process.returncode == 0, outputs[tuner_id][-3000:]
    return outputs
