"""Unpaired image translation (young <-> old faces with a CycleGAN).

Training batches are ``(young, old)`` pairs drawn independently from the two domains (labels 0 and 1 of the
data), images in [−1, 1], mirrored at random and shifted by up to ``jitter`` of their size (``data.options``); an
epoch covers the larger domain once. Per epoch: the learning rates decay linearly
to zero after ``training.lr_decay_start`` of the epochs, and a grid *input | aged | reconstructed* (and the way back) is
logged as ``samples/epoch_NNN.png``. The test metrics: on data with ages (UTKFace) an age regressor
(``age``, trained here on the training faces of all ages) gives the mean predicted age of young, aged,
real old and rejuvenated faces, the shift aged − young (years) and its own MAE on held-out faces; without ages the
wrinkle/grey detector score (``procedural``; meaningful on procedural faces) of the same four sets; on real faces
with the ``eval`` extra installed (``judges``), the same by an independent age estimator and the share of aged
faces a face-recognition model verifies as their input's person; cycle reconstruction L1 and SSIM; the Fréchet
distance of aged faces (and, as the baseline, of the unchanged young ones) to real old ones on pooled pixels; the
generator's images per second.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from keraslab.gan.images import apply, grid_figure, to_signed, to_uint8
from keraslab.projects.face_aging import judges
from keraslab.projects.face_aging.data import OLD, YOUNG, Options
from keraslab.tasks import Evaluation

if TYPE_CHECKING:
    import keras
    import tensorflow as tf
    from matplotlib.figure import Figure

    from keraslab.config import ProjectSpec
    from keraslab.data import Splits
    from keraslab.projects.face_aging.data import AgeSet
    from keraslab.tracking.runs import RunTracker

GRID_FACES = 6


def domains(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The young and the old images of a split."""
    return x[y == YOUNG], x[y == OLD]


def datasets(
    splits: Splits, spec: ProjectSpec, global_batch: int
) -> tuple[tf.data.Dataset, tf.data.Dataset | None, tf.data.Dataset]:
    """Unpaired ``(young, old)`` batches for training; validation and test pair the domains in order."""
    import tensorflow as tf

    seed = spec.training.seed
    augment = augmentation(Options.model_validate(spec.data.options), seed)

    def stream(images: np.ndarray, offset: int) -> tf.data.Dataset:
        ds = tf.data.Dataset.from_tensor_slices(images).shuffle(len(images), seed=seed + offset).repeat()
        return ds.map(lambda x: augment(tf.cast(x, tf.float32) / 127.5 - 1.0), num_parallel_calls=tf.data.AUTOTUNE)

    young, old = domains(splits.x_train, splits.y_train)
    steps = math.ceil(max(len(young), len(old)) / global_batch)
    train = tf.data.Dataset.zip(stream(young, 0), stream(old, 1)).batch(global_batch).take(steps)
    val = paired(*domains(splits.x_val, splits.y_val), global_batch)
    test = paired(*domains(splits.x_test, splits.y_test), global_batch)
    return train.prefetch(tf.data.AUTOTUNE), val, test if test is not None else train.take(1)


def augmentation(opts: Options, seed: int) -> Callable[[tf.Tensor], tf.Tensor]:
    """A random mirror (``flip``) and shift by up to ``jitter`` × size (reflect-padded, randomly cropped back) of
    one H×W×3 face: nothing that changes apparent age (no colour, blur or scale changes)."""
    import tensorflow as tf

    pad = round(opts.jitter * opts.image_size)

    def augment(face: tf.Tensor) -> tf.Tensor:
        if opts.flip:
            face = tf.image.random_flip_left_right(face, seed=seed)
        if pad:
            padded = tf.pad(face, [[pad, pad], [pad, pad], [0, 0]], mode="REFLECT")
            face = tf.image.random_crop(padded, tf.shape(face), seed=seed)
        return face

    return augment


def paired(young: np.ndarray, old: np.ndarray, batch: int) -> tf.data.Dataset | None:
    import tensorflow as tf

    n = min(len(young), len(old))
    if n == 0:
        return None
    return tf.data.Dataset.from_tensor_slices((to_signed(young[:n]), to_signed(old[:n]))).batch(batch)


def callbacks(spec: ProjectSpec, splits: Splits, tracker: RunTracker) -> list[keras.callbacks.Callback]:
    import keras

    from keraslab.training.schedules import LinearDecay

    params = spec.builder_params()
    young, old = domains(splits.x_val, splits.y_val) if len(splits.x_val) else domains(splits.x_train, splits.y_train)
    young, old = young[:GRID_FACES], old[:GRID_FACES]

    class SampleGrid(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            figure = translation_grid(self.model, young, old, f"epoch {epoch + 1}")
            tracker.log_figure(figure, f"samples/epoch_{epoch + 1:03d}.png")

    decay = LinearDecay(params["learning_rate"], spec.training.lr_decay_start, ("optimizer", "d_optimizer"))
    return [decay, SampleGrid()]


def translate(generator: keras.Model, images: np.ndarray) -> np.ndarray:
    """uint8 faces through a generator, uint8 out."""
    return to_uint8(apply(generator, to_signed(images), batch=64)) if len(images) else images


def translation_grid(model: keras.Model, young: np.ndarray, old: np.ndarray, title: str) -> Figure:
    aged = translate(model.young_to_old, young)
    rejuvenated = translate(model.old_to_young, old)
    rows = [
        ("young", young),
        ("aged", aged),
        ("reconstructed", translate(model.old_to_young, aged)),
        ("old", old),
        ("rejuvenated", rejuvenated),
        ("reconstructed", translate(model.young_to_old, rejuvenated)),
    ]
    return grid_figure([(label, images) for label, images in rows if len(images)], title)


def evaluate(model: keras.Model, test_ds: tf.data.Dataset, splits: Splits) -> Evaluation:
    import tensorflow as tf

    from keraslab.gan.metrics import features_fd, pooled_pixels
    from keraslab.projects.face_aging.cyclegan import FD_GRID

    young, old = domains(splits.x_test, splits.y_test)
    aged, rejuvenated = translate(model.young_to_old, young), translate(model.old_to_young, old)
    cycled = np.concatenate([translate(model.old_to_young, aged), translate(model.young_to_old, rejuvenated)])
    originals = np.concatenate([young, old])
    faces = {"young": young, "aged": aged, "old": old, "rejuvenated": rejuvenated}
    ages = splits.info.extra.get("ages")
    metrics = age_metrics(faces, ages) if ages is not None else detector_metrics(faces)
    if splits.info.extra.get("real_faces") and judges.available():
        metrics |= judge_metrics(faces, ages)
    metrics["test_cycle_l1"] = float(np.abs(cycled.astype(np.float32) - originals).mean() / 255.0)
    metrics["test_cycle_ssim"] = float(tf.reduce_mean(tf.image.ssim(tf.constant(cycled), tf.constant(originals), 255)))
    if len(young) > 1 and len(old) > 1:  # on pixels in [−1, 1], like the validation metric
        old_features = pooled_pixels(to_signed(old), FD_GRID).numpy()
        for name, images in (("aged", aged), ("young", young)):
            metrics[f"test_fd_{name}"] = features_fd(pooled_pixels(to_signed(images), FD_GRID).numpy(), old_features)
    metrics["test_images_per_second"] = images_per_second(model.young_to_old, originals)
    for reason, count in splits.info.extra.get("skipped", {}).items():
        metrics[f"data_skipped_{reason}"] = float(count)
    figures = {"translations.png": translation_grid(model, young[:GRID_FACES], old[:GRID_FACES], "test faces")}
    example = to_signed(originals[:2])  # the Keras model's: young faces -> aged
    return Evaluation(metrics=metrics, figures=figures, example=(example, model(example).numpy()))


def detector_metrics(faces: dict[str, np.ndarray]) -> dict[str, float]:
    """``test_age_score_<set>``: the mean wrinkle/grey detector score of each non-empty set of faces."""
    from keraslab.projects.face_aging.procedural import age_score

    return {f"test_age_score_{name}": float(age_score(images).mean()) for name, images in faces.items() if len(images)}


def age_metrics(faces: dict[str, np.ndarray], ages: AgeSet) -> dict[str, float]:
    """``test_age_<set>``: the mean predicted age (years) of each non-empty set of faces, ``test_age_shift`` =
    aged − young, and ``test_age_regressor_mae`` on the held-out faces (the regressor trains on the rest)."""
    from keraslab.projects.face_aging.age import predict_ages, train_age_regressor

    regressor = train_age_regressor(ages.x_train, ages.ages_train, ages.epochs)
    metrics = {f"test_age_{name}": float(predict_ages(regressor, x).mean()) for name, x in faces.items() if len(x)}
    if "test_age_young" in metrics:
        metrics["test_age_shift"] = metrics["test_age_aged"] - metrics["test_age_young"]
    if len(ages.x_test):
        metrics["test_age_regressor_mae"] = float(np.abs(predict_ages(regressor, ages.x_test) - ages.ages_test).mean())
    return metrics


def judge_metrics(faces: dict[str, np.ndarray], ages: AgeSet | None) -> dict[str, float]:
    """The pretrained judges (``judges``): ``test_identity_verified`` (share of aged faces verified as their
    input's person) and ``test_identity_distance``; ``test_age_independent_<set>``, its shift and, with ages,
    its MAE on the test faces."""
    metrics = {}
    if len(faces["young"]):
        identity = judges.identity_metrics(faces["young"], faces["aged"])
        metrics |= {f"test_identity_{name}": value for name, value in identity.items()}
    for name, images in faces.items():
        if len(images):
            metrics[f"test_age_independent_{name}"] = float(judges.estimated_ages(images).mean())
    if "test_age_independent_young" in metrics:
        metrics["test_age_independent_shift"] = (
            metrics["test_age_independent_aged"] - metrics["test_age_independent_young"]
        )
    if ages is not None and len(ages.x_test):
        errors = judges.estimated_ages(ages.x_test) - ages.ages_test
        metrics["test_age_independent_mae"] = float(np.abs(errors).mean())
    return metrics


def images_per_second(generator: keras.Model, images: np.ndarray, batch: int = 32) -> float:
    """Generator throughput (a compiled forward pass, after one warm-up call)."""
    import tensorflow as tf

    forward = tf.function(lambda x: generator(x, training=False))
    batches = [to_signed(images[i : i + batch]) for i in range(0, len(images), batch)]
    forward(batches[0])
    started = time.perf_counter()
    for b in batches:
        forward(b).numpy()
    return len(images) / (time.perf_counter() - started)
