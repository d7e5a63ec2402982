"""The core's classification, plus a text artifact."""

from __future__ import annotations

from typing import TYPE_CHECKING

from keraslab.tasks import classification
from keraslab.tasks.classification import callbacks, datasets

if TYPE_CHECKING:
    import keras
    import tensorflow as tf

    from keraslab.data import Splits
    from keraslab.tasks import Evaluation

__all__ = ["callbacks", "datasets", "evaluate"]


def evaluate(model: keras.Model, test_ds: tf.data.Dataset, splits: Splits) -> Evaluation:
    evaluation = classification.evaluate(model, test_ds, splits)
    evaluation.texts["quadrants.txt"] = f"test accuracy {evaluation.metrics['test_accuracy']:.3f}\n"
    return evaluation
