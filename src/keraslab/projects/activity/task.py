"""Activity recognition: classification of sensor sequences, with class weights as sample weights, random
rotations of the training windows (``data.options.rotation_degrees``), a per-epoch cosine learning rate
(``data.options.cosine_decay_to``), per-class F1 and a plot of one recording of each class."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.figure import Figure

from keraslab.models._blocks import OPTIMIZER_DEFAULTS
from keraslab.projects.activity.sequences import MASK_VALUE
from keraslab.tasks import Evaluation, classification
from keraslab.tasks.classification import per_class_f1

if TYPE_CHECKING:
    import keras
    import tensorflow as tf

    from keraslab.config import ProjectSpec
    from keraslab.data import Splits
    from keraslab.tracking.runs import RunTracker

__all__ = ["callbacks", "class_examples", "datasets", "evaluate", "per_class_f1"]


def datasets(
    splits: Splits, spec: ProjectSpec, global_batch: int
) -> tuple[tf.data.Dataset, tf.data.Dataset | None, tf.data.Dataset]:
    """The classification pipelines; training batches are turned by random rotations when
    ``rotation_degrees`` > 0 (never validation or test) and carry ``class_weights[y]`` as sample weights when set."""
    import tensorflow as tf

    from keraslab.models.inertial import rotate

    train, val, test = classification.datasets(splits, spec, global_batch)
    if degrees := spec.data.options.get("rotation_degrees"):
        train = train.map(lambda x, y: (rotate(x, degrees), y), num_parallel_calls=tf.data.AUTOTUNE)
    if weights := splits.info.extra.get("class_weights"):
        table = tf.constant(weights, dtype=tf.float32)
        train = train.map(lambda x, y: (x, y, tf.gather(table, y)))
    return train, val, test


def callbacks(spec: ProjectSpec, splits: Splits, tracker: RunTracker) -> list[keras.callbacks.Callback]:
    """A per-epoch cosine decay of the learning rate to ``cosine_decay_to`` over ``training.epochs``, when set."""
    import keras

    final = spec.data.options.get("cosine_decay_to")
    if final is None:
        return []
    params = spec.model.params
    first = params.get("learning_rate") or OPTIMIZER_DEFAULTS[params.get("optimizer", "adam")][0]
    epochs = max(1, spec.training.epochs - 1)

    def rate(epoch: int) -> float:
        return float(final + (first - final) * 0.5 * (1 + np.cos(np.pi * min(epoch, epochs) / epochs)))

    return [keras.callbacks.LearningRateScheduler(rate)]


def evaluate(model: keras.Model, test_ds: tf.data.Dataset, splits: Splits) -> Evaluation:
    """Classification's evaluation plus ``test_f1_<class>`` metrics, a per-class F1 table and class examples."""
    evaluation = classification.evaluate(model, test_ds, splits)
    predicted = model.predict(test_ds, verbose=0).argmax(axis=1)
    names = splits.info.class_names
    scores = per_class_f1(splits.y_test, predicted, len(names))
    evaluation.metrics.update({f"test_f1_{metric_name(n)}": s for n, s in zip(names, scores, strict=True)})
    rows = "\n".join(
        f"| {n} | {s:.4f} | {int(np.sum(splits.y_test == c))} |"
        for c, (n, s) in enumerate(zip(names, scores, strict=True))
    )
    evaluation.texts["per_class_f1.md"] = f"| class | F1 | test samples |\n|---|---:|---:|\n{rows}\n"
    channels = splits.info.extra.get("channels") or [f"channel_{c}" for c in range(splits.x_train.shape[-1])]
    evaluation.figures["class_examples.png"] = class_examples(splits.x_train, splits.y_train, names, channels)
    return evaluation


def metric_name(text: str) -> str:
    """A class name as MLflow accepts it in a metric key."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_").lower()


def class_examples(x: np.ndarray, y: np.ndarray, class_names: Sequence[str], channels: Sequence[str]) -> Figure:
    """One panel per class with the first recording of that class, a line per channel (masked steps left out)."""
    fig = Figure(figsize=(4.5 * len(class_names), 3.4), layout="constrained")
    axes = fig.subplots(1, len(class_names), squeeze=False, sharey=True)[0]
    for c, (ax, name) in enumerate(zip(axes, class_names, strict=True)):
        ax.set(title=name, xlabel="timestep")
        members = np.flatnonzero(y == c)
        if not len(members):
            ax.text(0.5, 0.5, "no example", ha="center", transform=ax.transAxes)
            continue
        example = np.where(x[members[0]] == MASK_VALUE, np.nan, x[members[0]])
        for channel, values in zip(channels, example.T, strict=True):
            ax.plot(values, linewidth=0.9, label=channel)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7, ncols=max(1, len(channels) // 6))
    return fig
