"""Training end to end on tiny synthetic data: MLflow run contents, NaN -> FAILED, interrupt -> KILLED -> resume."""

from __future__ import annotations

from pathlib import Path

import keras
import mlflow
import numpy as np
import pytest
from mlflow import MlflowClient

from keraslab import registry
from keraslab.projects.mnist import data as mnist
from keraslab.tracking.runs import FAILURE_TAG, RunTracker, TrainingDiverged
from keraslab.training.trainer import TrackingOptions, train

from conftest import experiments, interrupt_at

TINY_MLP = ["model.hidden_layers=1", "model.units=32", "training.batch_size=64"]


def tiny(epochs: int = 1, *extra: str):
    return registry.load("mnist-mlp", [*TINY_MLP, f"training.epochs={epochs}", *extra])


def artifacts(client: MlflowClient, run_id: str) -> set[str]:
    return {a.path for a in client.list_artifacts(run_id)}


def test_one_epoch_run_is_fully_tracked_and_the_model_loads(workdir: Path, mnist_dir: Path) -> None:
    result = train(tiny(2), data_dir=mnist_dir, tracking=TrackingOptions(register="tiny-mnist"), verbose=0)

    client = MlflowClient(mlflow.get_tracking_uri())
    assert mlflow.get_tracking_uri() == f"sqlite:///{workdir / 'mlruns' / 'mlflow.db'}"
    run = client.get_run(result.run_id)
    assert run.info.status == "FINISHED"
    assert client.get_experiment(run.info.experiment_id).name == "mnist-mlp"
    params = run.data.params
    assert params["model.units"] == "32" and params["training.epochs"] == "2" and params["model.l2"] == "0.0"
    assert params["model.num_classes"] == "10" and params["training.global_batch_size"] == "64"
    assert {"test_accuracy", "test_loss", "test_macro_f1", "val_loss", "accuracy"} <= set(run.data.metrics)
    assert run.data.metrics["test_accuracy"] > 0.5  # the synthetic digits are learnable
    assert [m.step for m in client.get_metric_history(result.run_id, "val_loss")] == [0, 1]
    tags = run.data.tags
    assert tags["project"] == "mnist-mlp" and tags["strategy"] == "default" and tags["replicas"] == "1"
    assert tags["data_source"].startswith("idx:") and tags["keras_version"] == keras.__version__
    assert {"config.toml", "learning_curves.png", "confusion_matrix.png", "model_summary.txt"} <= artifacts(
        client, result.run_id
    )
    config_text = mlflow.artifacts.load_text(f"runs:/{result.run_id}/config.toml")
    assert "units = 32" in config_text and 'builder = "mlp"' in config_text

    import pandas as pd

    loaded = mlflow.pyfunc.load_model(result.model_uri)  # the logged model, pre/post-processing included
    images = mnist.read_idx(mnist_dir / "mnist" / "t10k-images-idx3-ubyte.gz")[:5]
    answers = loaded.predict(pd.DataFrame({"array": [image.tolist() for image in images]}))
    expected = result.model.predict(images[..., None] / 255.0, verbose=0)
    np.testing.assert_allclose(np.stack(answers["probabilities"]), expected, atol=1e-5)
    assert list(answers["label"]) == [str(i) for i in expected.argmax(axis=1)]
    bare = mlflow.keras.load_model(f"runs:/{result.run_id}/keras_model")  # the stock flavor, tensors in and out
    np.testing.assert_allclose(bare.predict(images[..., None] / 255.0, verbose=0), expected, atol=1e-6)
    assert client.get_registered_model("tiny-mnist").name == "tiny-mnist"


def test_tracking_off_logs_nothing(workdir: Path, mnist_dir: Path) -> None:
    result = train(tiny(1), data_dir=mnist_dir, tracking=TrackingOptions(enabled=False), verbose=0)
    assert result.run_id is None and result.test_metrics["test_accuracy"] > 0.2
    assert experiments(workdir) == {"Default"}


def test_queued_epoch_metrics_are_read_back_and_the_run_ends_without_waiting(workdir: Path) -> None:
    """MLflow's Keras callback logs asynchronously: the learning curves must still see the last epoch, and
    ending the run must not sit out the async logger's one-second poll."""
    import time

    from keraslab.tracking.store import tracking_uri

    tracker = RunTracker(tracking_uri(), "queued")
    with tracker.start(run_name="queued", tags={}, resume_key="k", resumable=False):
        for epoch in range(3):
            mlflow.log_metrics({"loss": 1.0 / (epoch + 1)}, step=epoch, synchronous=False)
        assert [step for step, _ in tracker.metric_history(["loss"])["loss"]] == [0, 1, 2]
        mlflow.log_metrics({"loss": 0.1}, step=3, synchronous=False)
        ending = time.perf_counter()
    assert time.perf_counter() - ending < 0.5
    assert len(MlflowClient(tracking_uri()).get_metric_history(tracker.run_id, "loss")) == 4


def test_nan_loss_ends_the_run_failed_with_the_reason(
    workdir: Path, mnist_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_load = mnist.load

    def poisoned(spec, data_dir, seed):
        splits = real_load(spec, data_dir, seed)
        x = splits.x_train.astype(np.float32) / 255.0
        x[::7] = np.nan
        return type(splits)(x, *(getattr(splits, f) for f in ("y_train", "x_val", "y_val", "x_test", "y_test", "info")))

    monkeypatch.setattr(mnist, "load", poisoned)
    # NaN inputs make NaN weights; the L2 penalty puts them into the loss (cross-entropy alone clips them away)
    with pytest.raises(TrainingDiverged, match="loss became non-finite in epoch 1"):
        train(tiny(3, "model.l2=1e-4"), data_dir=mnist_dir, verbose=0)
    (run,) = MlflowClient(mlflow.get_tracking_uri()).search_runs(["1"])
    assert run.info.status == "FAILED"
    assert "became non-finite" in run.data.tags[FAILURE_TAG]


def test_interrupted_run_ends_killed_and_a_rerun_resumes_it(
    workdir: Path, mnist_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_callbacks = RunTracker.keras_callbacks
    monkeypatch.setattr(RunTracker, "keras_callbacks", lambda self: [*real_callbacks(self), interrupt_at(2)])
    with pytest.raises(KeyboardInterrupt):
        train(tiny(4), data_dir=mnist_dir, verbose=0)
    client = MlflowClient(mlflow.get_tracking_uri())
    (killed,) = client.search_runs(["1"])
    assert killed.info.status == "KILLED"
    assert "interrupted" in killed.data.tags[FAILURE_TAG]

    monkeypatch.setattr(RunTracker, "keras_callbacks", real_callbacks)
    result = train(tiny(4), data_dir=mnist_dir, verbose=0)
    assert result.resumed and result.run_id == killed.info.run_id
    assert result.epochs_run == 2  # epochs 3 and 4 only: 1 and 2 were restored from the backup
    assert [m.step for m in client.get_metric_history(result.run_id, "loss")] == [0, 1, 2, 3]
    assert client.get_run(result.run_id).info.status == "FINISHED"
    assert len(client.search_runs(["1"])) == 1

    fresh = train(tiny(4), data_dir=mnist_dir, verbose=0)  # nothing left to resume: a new run
    assert not fresh.resumed and fresh.run_id != result.run_id


def test_mirrored_strategy_on_two_logical_cpus(workdir: Path, mnist_dir: Path) -> None:
    spec = tiny(1, "training.strategy=mirrored", "training.devices=['/cpu:0', '/cpu:1']", "training.batch_size=32")
    result = train(spec, data_dir=mnist_dir, verbose=0)
    run = MlflowClient(mlflow.get_tracking_uri()).get_run(result.run_id)
    assert run.data.tags["replicas"] == "2" and run.data.tags["strategy"] == "mirrored"
    assert run.data.params["training.global_batch_size"] == "64"  # 32 per replica × 2
    assert result.test_metrics["test_accuracy"] > 0.2
