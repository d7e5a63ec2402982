"""The default wrapper: a batch of arrays of the model's input shape in, the model's outputs out."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from mlflow.models import infer_signature

from keraslab.serving.pyfunc import KerasPyfunc, Wrapper

if TYPE_CHECKING:
    import keras

    from keraslab.config import ProjectSpec
    from keraslab.data import Splits


def wrapper(spec: ProjectSpec, splits: Splits, model: keras.Model) -> Wrapper:
    example = np.asarray(splits.x_test[:2], dtype=np.dtype(model.inputs[0].dtype))
    return Wrapper(KerasPyfunc(), infer_signature(example, model(example, training=False).numpy()), example)
