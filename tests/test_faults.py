"""Faults: a training process killed with SIGKILL resumes its own run with every epoch logged once; checkpoint
and Keras Tuner writes are atomic (a kill mid-write leaves the last committed file); bad data and checkpoint files
give errors that name them."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import keras
import numpy as np
import pytest
from mlflow import MlflowClient

from keraslab import registry
from keraslab.data import DataUnavailable
from keraslab.projects.activity.basicmotions import read_ts
from keraslab.projects.mnist.data import read_idx
from keraslab.tracking.runs import RESUMED_AFTER_TAG, RunTracker
from keraslab.tracking.stale import FAILURE_TAG, PID_TAG
from keraslab.training.backup import CheckpointError, EpochBackup, atomic_path, load_weights, read_state
from keraslab.training.trainer import train
from keraslab.tuning.tuners import atomic_json_saves

from conftest import write_idx

TINY = ["model.hidden_layers=1", "model.units=16", "training.batch_size=64", "training.early_stopping.enabled=false"]


def client(workdir: Path) -> MlflowClient:
    return MlflowClient(f"sqlite:///{workdir / 'mlruns' / 'mlflow.db'}")


def test_a_run_killed_mid_training_resumes_with_every_epoch_logged_once(workdir: Path, mnist_dir: Path) -> None:
    overrides = [*TINY, "training.epochs=4"]
    command = [sys.executable, "-m", "keraslab", "train", "mnist-mlp", "--data-dir", str(mnist_dir)]
    command += [f"--set={o}" for o in overrides]
    process = subprocess.Popen(command, cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and process.poll() is None:
            states = list((workdir / "mlruns" / "checkpoints").rglob("state.json"))
            if states and json.loads(states[0].read_text())["epoch"] >= 2:
                break
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)  # mid-training, at no particular point of the epoch
        process.wait(timeout=30)
    finally:
        process.kill()
    (killed,) = client(workdir).search_runs(["1"])
    assert killed.info.status == "RUNNING" and killed.data.tags[PID_TAG] == str(process.pid)

    result = train(registry.load("mnist-mlp", overrides), data_dir=mnist_dir, verbose=0)
    assert result.resumed and result.run_id == killed.info.run_id
    assert 0 < result.epochs_run <= 2  # continued from a committed epoch, not from the start
    for key in ("loss", "val_loss", "accuracy"):
        assert [m.step for m in client(workdir).get_metric_history(result.run_id, key)] == [0, 1, 2, 3], key
    (run,) = client(workdir).search_runs(["1"])
    assert run.info.status == "FINISHED" and run.data.tags[PID_TAG] == str(os.getpid())
    assert FAILURE_TAG not in run.data.tags and "ended without ending its run" in run.data.tags[RESUMED_AFTER_TAG]
    assert not list((workdir / "mlruns" / "checkpoints").rglob("backup"))  # removed once the run finished


def test_epochs_a_kill_cut_off_between_commit_and_logging_are_logged_on_resume(workdir: Path) -> None:
    tracker = RunTracker(f"sqlite:///{workdir / 'mlruns' / 'mlflow.db'}", "repair")
    with tracker.start("r", {}, resume_key="k", resumable=False):
        tracker.log_metrics({"loss": 0.9}, step=0)
        assert tracker.log_missing_epochs([{"loss": 0.9, "lr": 1.0}, {"loss": 0.5, "lr": 1.0}]) == 3
        assert tracker.log_missing_epochs([{"loss": 0.9, "lr": 1.0}, {"loss": 0.5, "lr": 1.0}]) == 0
        history = tracker.metric_history(["loss", "lr"])
    assert history == {"loss": [(0, 0.9), (1, 0.5)], "lr": [(0, 1.0), (1, 1.0)]}


KILLED_MID_WRITE = textwrap.dedent(
    """
    import os, signal, sys
    from pathlib import Path
    import keras, numpy as np
    from keraslab.training.backup import EpochBackup

    x, y = np.random.default_rng(0).random((64, 4)), np.arange(64) % 2
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy")
    real_save, saves = model.save_weights, []

    def save_then_die(filepath, **kwargs):  # epoch 1 is saved whole; epoch 2 half, then the process dies (kill -9)
        saves.append(filepath)
        if len(saves) == 1:
            return real_save(filepath, **kwargs)
        Path(filepath).write_bytes(b"\\x89HDF\\r\\n\\x1a\\n" + b"\\0" * 100)
        os.kill(os.getpid(), signal.SIGKILL)

    model.save_weights = save_then_die
    model.fit(x, y, epochs=3, verbose=0, callbacks=[EpochBackup(Path(sys.argv[1]))])
    """
)


SIGTERM_IN_A_FINALIZER = """
import gc, os, signal, time, weakref
from keraslab.processes import sigterm_as_interrupt

class Tensor: ...

def in_finalizer():  # the handler runs here; its KeyboardInterrupt is printed and dropped
    os.kill(os.getpid(), signal.SIGTERM)
    for _ in range(100_000):
        pass

started = time.monotonic()
try:
    with sigterm_as_interrupt(redeliver_s=0.5):
        weakref.finalize(tensor := Tensor(), in_finalizer)
        del tensor
        gc.collect()
        while time.monotonic() - started < 20:  # training goes on
            sum(range(1000))
    print("not interrupted")
except KeyboardInterrupt:
    print(f"interrupted after {time.monotonic() - started:.1f} s")
"""


def test_a_sigterm_dropped_inside_a_finalizer_is_delivered_again() -> None:
    done = subprocess.run([sys.executable, "-c", SIGTERM_IN_A_FINALIZER], capture_output=True, text=True, timeout=60)
    assert "Exception ignored" in done.stderr and "KeyboardInterrupt" in done.stderr  # the first one was dropped
    assert done.stdout.startswith("interrupted after"), done.stdout + done.stderr
    assert float(done.stdout.split()[2]) < 5


def test_a_kill_while_the_backup_is_written_leaves_the_last_commit_usable(tmp_path: Path) -> None:
    backup_dir = tmp_path / "backup"
    process = subprocess.run(
        [sys.executable, "-c", KILLED_MID_WRITE, str(backup_dir)],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert process.returncode == -signal.SIGKILL, process.stderr[-2000:]
    assert any(p.name.endswith(".partial.weights.h5") for p in backup_dir.iterdir())  # the torn write
    state = read_state(backup_dir)
    assert state is not None and state.epoch == 1 and len(state.history) == 1

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    x, y = rng.random((64, 4)), np.arange(64) % 2
    history = model.fit(x, y, epochs=3, verbose=0, callbacks=[EpochBackup(backup_dir)]).history
    assert len(history["loss"]) == 2  # resumed at epoch 2 of 3 from the committed weights
    assert read_state(backup_dir).complete and [p.name for p in backup_dir.glob("epoch-*")] == ["epoch-3.weights.h5"]


def test_atomic_path_replaces_whole_or_not_at_all(tmp_path: Path) -> None:
    target = tmp_path / "state.json"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as temporary:
        temporary.write_text("half")
        raise RuntimeError("died mid-write")
    assert target.read_text() == "old" and list(tmp_path.iterdir()) == [target]
    with atomic_path(target) as temporary:
        temporary.write_text("new")
    assert target.read_text() == "new" and list(tmp_path.iterdir()) == [target]


def test_keras_tuner_json_is_written_atomically(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Fails loudly if KT stops routing its saves through keras_tuner.src.utils.save_json (tuners.py patches it)."""
    import keras_tuner
    from keras_tuner.src import utils

    original = utils.save_json
    trial = keras_tuner.engine.trial.Trial(keras_tuner.HyperParameters(), trial_id="0")
    path = tmp_path / "trial.json"
    with atomic_json_saves():
        assert utils.save_json is not original
        trial.save(str(path))
        saved = path.read_text()
        monkeypatch.setattr(os, "replace", lambda *a: (_ for _ in ()).throw(KeyboardInterrupt()))
        with pytest.raises(KeyboardInterrupt):  # killed between the write and the rename
            trial.save(str(path))
    assert utils.save_json is original
    assert path.read_text() == saved and json.loads(saved)["trial_id"] == "0"
    assert [p.name for p in tmp_path.iterdir()] == ["trial.json"]


# ---------------------------------------------------------------------- bad files name themselves


def test_truncated_and_corrupted_idx_files_are_named(tmp_path: Path) -> None:
    good = tmp_path / "images.gz"
    write_idx(good, np.zeros((5, 28, 28), np.uint8))
    truncated = tmp_path / "truncated.gz"
    truncated.write_bytes(good.read_bytes()[:-30])
    corrupt = tmp_path / "corrupt.gz"
    data = bytearray(good.read_bytes())
    data[20:40] = b"\xff" * 20
    corrupt.write_bytes(bytes(data))
    short = tmp_path / "short"
    short.write_bytes(gzip.decompress(good.read_bytes())[:-5])
    for path in (truncated, corrupt, short):
        with pytest.raises(DataUnavailable, match=path.name):
            read_idx(path)


@pytest.mark.parametrize(
    "header", ["@dimensions two", "@seriesLength -4", "@dimensions 0"], ids=["words", "negative", "zero"]
)
def test_bad_ts_headers_are_named(tmp_path: Path, header: str) -> None:
    path = tmp_path / "bad.ts"
    path.write_text(f"@problemName x\n{header}\n@classLabel true a b\n@data\n1,2,3,4:a\n")
    with pytest.raises(DataUnavailable, match=r"bad\.ts"):
        read_ts(path)


def test_a_torn_weights_file_is_named(tmp_path: Path) -> None:
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    torn = tmp_path / "best.weights.h5"
    model.save_weights(torn)
    torn.write_bytes(torn.read_bytes()[:200])
    with pytest.raises(CheckpointError, match=r"best\.weights\.h5"):
        load_weights(model, torn)
    (tmp_path / "backup").mkdir()
    (tmp_path / "backup" / "state.json").write_text('{"epoch": 2, "weig')
    with pytest.raises(CheckpointError, match=r"state\.json"):
        read_state(tmp_path / "backup")


def test_unreadable_faces_are_skipped_and_named(tmp_path: Path) -> None:
    from collections import Counter

    from PIL import Image

    from keraslab.projects.face_aging import data as faces

    path = tmp_path / "25_0_0_20170116174525125.jpg.chip.jpg"
    Image.fromarray(np.full((64, 64, 3), 128, np.uint8)).save(path)
    path.write_bytes(path.read_bytes()[:300])  # a truncated JPEG
    skipped: Counter[str] = Counter()
    opts = faces.Options(source="utkface")
    with pytest.warns(UserWarning, match=path.name):
        assert faces.read_face(path, opts, skipped) is None
    assert skipped["unreadable"] == 1


def test_a_half_written_keras_model_file_names_itself(tmp_path: Path) -> None:
    import keras
    import pytest

    from keraslab.serving.pyfunc import load_keras_file

    whole = tmp_path / "model.keras"
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.save(whole)
    half = tmp_path / "half.keras"
    half.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    assert load_keras_file(str(whole)).count_params() == 3
    with pytest.raises(ValueError, match=r"half\.keras: not a readable \.keras model file"):
        load_keras_file(str(half))
