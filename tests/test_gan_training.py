"""GANs through the one trainer on tiny data: face aging on two replicas, tracked, served as a pyfunc and by
`keraslab age`; the MNIST GAN's test metrics, interrupt and resume, and its sampler."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import keras
import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from PIL import Image
from typer.testing import CliRunner

from keraslab import registry
from keraslab.cli import app
from keraslab.projects.face_aging.procedural import procedural_face
from keraslab.projects.gan_mnist import task as gan_task
from keraslab.projects.gan_mnist.wrapper import Sampler
from keraslab.training.trainer import TrackingOptions, train

from conftest import interrupt_at

TINY_AGING = [
    "training.epochs=1",
    "training.batch_size=4",
    "data.options.source=procedural",
    "data.options.count=20",  # validation: 2 faces per domain, at least one per replica
    "data.options.image_size=16",
    "data.options.test_fraction=0.25",
    "model.generator_width=4",
    "model.residual_blocks=1",
    "model.critic_width=4",
    "model.critic_layers=2",
]
TINY_GAN = [
    "training.batch_size=64",
    "model.latent_dim=8",
    "model.generator_width=4",
    "model.discriminator_width=4",
    "model.d_steps=2",
]


def png(image: np.ndarray) -> str:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def decoded(text: str) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(text))))


def test_face_aging_trains_mirrored_tracked_and_serves_older_and_younger(workdir: Path) -> None:
    mirrored = ["training.strategy=mirrored", "training.devices=['/cpu:0', '/cpu:1']"]
    result = train(registry.load("face-aging", [*TINY_AGING, *mirrored]), verbose=0)

    client = MlflowClient(mlflow.get_tracking_uri())
    assert client.get_run(result.run_id).data.tags["replicas"] == "2"
    artifacts = {a.path for a in client.list_artifacts(result.run_id)} | {
        a.path for a in client.list_artifacts(result.run_id, "samples")
    }
    assert {"translations.png", "samples/epoch_001.png"} <= artifacts
    metrics = result.test_metrics
    assert {"test_age_score_aged", "test_age_score_old", "test_cycle_ssim", "test_fd_aged"} <= set(metrics)
    assert all(np.isfinite(v) for v in metrics.values()) and 0 <= metrics["test_cycle_l1"] <= 1

    served = mlflow.pyfunc.load_model(result.model_uri)
    face = procedural_face(0, old=False, size=24)[:, 2:22]  # 24×20: any size goes in, the same size comes out
    for direction in ("older", "younger"):
        answer = served.predict(pd.DataFrame({"image": [png(face)]}), params={"direction": direction, "crop": "none"})
        assert decoded(answer["image"][0]).shape == (24, 20, 3) and list(answer["box"][0]) == [0, 0, 20, 24]
    with pytest.raises(MlflowException, match="direction = 'sideways'"):
        served.predict(pd.DataFrame({"image": [png(face)]}), params={"direction": "sideways"})
    with pytest.raises(MlflowException, match="no face found"):
        served.predict(pd.DataFrame({"image": [png(face)]}))

    photo = workdir / "face.png"
    Image.fromarray(face).save(photo)
    runner = CliRunner()
    aged = runner.invoke(app, ["age", str(photo), "-o", str(workdir / "older.png"), "--whole-image"])
    assert aged.exit_code == 0, aged.output
    assert np.asarray(Image.open(workdir / "older.png")).shape == (24, 20, 3)
    refused = runner.invoke(app, ["age", str(photo), "--younger", "--model", result.run_id])
    assert refused.exit_code != 0 and "no face found" in refused.output


class Snapshot(keras.callbacks.Callback):
    """Generator weights and optimizer steps at the end of each epoch / the start of training."""

    def __init__(self) -> None:
        super().__init__()
        self.ends: list[tuple[list[np.ndarray], int, int]] = []
        self.begin: tuple[list[np.ndarray], int, int] | None = None

    def state(self) -> tuple[list[np.ndarray], int, int]:
        model = self.model
        return model.generator.get_weights(), int(model.optimizer.iterations), int(model.d_optimizer.iterations)

    def on_epoch_begin(self, epoch: int, logs=None) -> None:
        self.begin = self.begin or self.state()

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        self.ends.append(self.state())


def test_mnist_gan_resumes_after_an_interrupt_and_reports_its_scores(
    workdir: Path, mnist_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = registry.load("gan-mnist", [*TINY_GAN, "training.epochs=2"])
    first, second = Snapshot(), Snapshot()
    monkeypatch.setattr(gan_task, "callbacks", lambda *_: [first, interrupt_at(1)])
    with pytest.raises(KeyboardInterrupt):
        train(spec, data_dir=mnist_dir, tracking=TrackingOptions(enabled=False), verbose=0)
    monkeypatch.setattr(gan_task, "callbacks", lambda *_: [second])
    result = train(spec, data_dir=mnist_dir, tracking=TrackingOptions(enabled=False), verbose=0)

    assert result.epochs_run == 1  # epoch 1 came back from the backup
    weights, g_steps, d_steps = first.ends[0]
    restored, g_restored, d_restored = second.begin
    assert all(np.array_equal(a, b) for a, b in zip(weights, restored, strict=True))
    assert (g_restored, d_restored) == (g_steps, d_steps) and d_steps == 2 * g_steps  # k = 2
    metrics = result.test_metrics
    assert {"test_mnist_is", "test_fid", "test_mnist_is_real", "test_fid_real"} <= set(metrics)
    assert metrics["test_mnist_is_real"] > metrics["test_mnist_is"] and metrics["test_fid_real"] < metrics["test_fid"]

    sampler = Sampler()
    sampler.load_keras(result.model)
    images = sampler.predict(None, pd.DataFrame({"seed": [3, 3, 4]}))["image"]
    assert decoded(images[0]).shape == (28, 28) and images[0] == images[1] != images[2]
    with pytest.raises(MlflowException, match="'seed' = 'x'"):
        sampler.predict(None, pd.DataFrame({"seed": ["x"]}))
