"""Classification: batched (x, y) pipelines, and test metrics with a confusion matrix."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from keraslab.data.pipeline import make_dataset
from keraslab.tasks import Evaluation
from keraslab.tracking.plots import confusion_matrix

if TYPE_CHECKING:
    import keras
    import tensorflow as tf

    from keraslab.config import ProjectSpec
    from keraslab.data import Splits
    from keraslab.tracking.runs import RunTracker


def datasets(
    splits: Splits, spec: ProjectSpec, global_batch: int
) -> tuple[tf.data.Dataset, tf.data.Dataset | None, tf.data.Dataset]:
    """Shuffled training batches; validation and test in order (validation None when the split is empty)."""
    train = make_dataset(splits.x_train, splits.y_train, global_batch, shuffle=True, seed=spec.training.seed)
    val = make_dataset(splits.x_val, splits.y_val, global_batch) if len(splits.x_val) else None
    return train, val, make_dataset(splits.x_test, splits.y_test, global_batch)


def callbacks(spec: ProjectSpec, splits: Splits, tracker: RunTracker) -> list[keras.callbacks.Callback]:
    """Classification needs no per-epoch logging beyond Keras's metrics."""
    return []


def evaluate(model: keras.Model, test_ds: tf.data.Dataset, splits: Splits) -> Evaluation:
    """``test_*`` metrics (Keras's plus macro-F1), the confusion matrix and an input/output example."""
    probabilities = model.predict(test_ds, verbose=0)
    predicted = probabilities.argmax(axis=1)
    metrics = {f"test_{k}": float(v) for k, v in model.evaluate(test_ds, verbose=0, return_dict=True).items()}
    metrics["test_macro_f1"] = macro_f1(splits.y_test, predicted, splits.info.num_classes)
    figures = {"confusion_matrix.png": confusion_matrix(splits.y_test, predicted, splits.info.class_names)}
    return Evaluation(metrics=metrics, figures=figures, example=(scaled(splits.x_test[:2]), probabilities[:2]))


def scaled(x: np.ndarray) -> np.ndarray:
    """Inputs as the model sees them: uint8 images scaled to float32 in [0, 1]."""
    return x.astype(np.float32) / 255.0 if x.dtype == np.uint8 else x


def per_class_f1(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> list[float]:
    """F1 of each class (0 for a class neither present nor predicted)."""
    scores = []
    for c in range(num_classes):
        tp = np.sum((y_pred == c) & (y_true == c))
        wrong = np.sum((y_pred == c) != (y_true == c))
        scores.append(float(2 * tp / (2 * tp + wrong)) if tp + wrong else 0.0)
    return scores


def macro_f1(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> float:
    """Unweighted mean of the per-class F1 scores."""
    return float(np.mean(per_class_f1(y_true, y_pred, num_classes)))
