"""GAN task: real images in [−1, 1] for the generator/discriminator game, sample grids per epoch, and test
metrics from a scorer CNN trained on the same data: the MNIST "Inception Score" and the Fréchet distance of the
samples, next to the same numbers for real test images (the ceiling).

A training batch holds ``d_steps × batch_size`` images: one minibatch per discriminator step.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from keraslab.data.pipeline import make_dataset
from keraslab.gan.images import apply, grid_figure, to_uint8
from keraslab.tasks import Evaluation

if TYPE_CHECKING:
    import keras
    import tensorflow as tf
    from matplotlib.figure import Figure

    from keraslab.config import ProjectSpec
    from keraslab.data import Splits
    from keraslab.tracking.runs import RunTracker

GRID = 8  # samples per grid row and rows per grid
EVAL_SAMPLES = 2000
SCORER_EPOCHS = 1


def images(x: np.ndarray, batch: int, shuffle: bool = False, seed: int | None = None) -> tf.data.Dataset:
    """Batches of images only, scaled to [−1, 1]."""
    return make_dataset(x, np.zeros(len(x), np.int8), batch, shuffle=shuffle, seed=seed).map(lambda x, _: x * 2 - 1)


def datasets(
    splits: Splits, spec: ProjectSpec, global_batch: int
) -> tuple[tf.data.Dataset, tf.data.Dataset | None, tf.data.Dataset]:
    d_steps = spec.builder_params()["d_steps"]
    train = images(splits.x_train, global_batch * d_steps, shuffle=True, seed=spec.training.seed)
    val = images(splits.x_val, global_batch) if len(splits.x_val) else None
    return train, val, images(splits.x_test, global_batch)


def callbacks(spec: ProjectSpec, splits: Splits, tracker: RunTracker) -> list[keras.callbacks.Callback]:
    return [sample_grids(tracker, spec.training.seed)]


def sample_grids(tracker: RunTracker, seed: int) -> keras.callbacks.Callback:
    """Log ``samples/epoch_NNN.png``: the same noise through the generator after every epoch."""
    import keras

    class SampleGrid(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            noise = np.random.default_rng(seed).standard_normal((GRID * GRID, self.model.latent_dim), np.float32)
            tracker.log_figure(
                sample_figure(self.model, noise, f"epoch {epoch + 1}"), f"samples/epoch_{epoch + 1:03d}.png"
            )

    return SampleGrid()


def sample_figure(model: keras.Model, noise: np.ndarray, title: str) -> Figure:
    samples = to_uint8(apply(model.generator, noise))
    return grid_figure([("", samples[i : i + GRID]) for i in range(0, len(samples), GRID)], title)


def evaluate(model: keras.Model, test_ds: tf.data.Dataset, splits: Splits) -> Evaluation:
    """``test_mnist_is`` / ``test_fid`` of generated samples and ``*_real`` of real test images (the ceiling)."""
    from keraslab.projects.gan_mnist.scorer import scores, train_scorer

    n = min(EVAL_SAMPLES, len(splits.x_test))
    noise = np.random.default_rng(0).standard_normal((n, model.latent_dim), np.float32)
    generated = to_uint8(apply(model.generator, noise))
    scorer = train_scorer(splits.x_train, splits.y_train, splits.info.num_classes or 10, SCORER_EPOCHS)
    reference = splits.x_train[:n]
    metrics = {f"test_{k}": v for k, v in scores(scorer, generated, reference).items()}
    metrics.update({f"test_{k}_real": v for k, v in scores(scorer, splits.x_test[:n], reference).items()})
    figures = {"samples.png": sample_figure(model, noise[: GRID * GRID], "samples after training")}
    example = (noise[:2], apply(model.generator, noise[:2]))  # the Keras model's
    return Evaluation(metrics=metrics, figures=figures, example=example)
