"""``keraslab export``: a served model's Keras network as a TF SavedModel for TF Serving, checked by reloading."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from keraslab.serving.pyfunc import KerasPyfunc

SIGNATURE = "serving_default"


@dataclass
class ExportCheck:
    directory: Path
    input_shape: tuple[int, ...]
    max_abs_difference: float


def load_served(uri: str) -> KerasPyfunc:
    """The ``KerasPyfunc`` inside the pyfunc model at ``uri``, with its Keras model loaded."""
    import mlflow

    from keraslab.serving.pyfunc import KerasPyfunc

    served = mlflow.pyfunc.load_model(uri).unwrap_python_model()
    if not isinstance(served, KerasPyfunc):
        raise ValueError(f"{uri} is not a keraslab model (its pyfunc is a {type(served).__name__})")
    return served


def export_saved_model(uri: str, directory: Path, tolerance: float = 1e-5, seed: int = 0) -> ExportCheck:
    """Write the model at ``uri`` as a SavedModel with a ``serving_default`` signature, reload it with
    ``tf.saved_model.load`` and compare its outputs with the Keras model's on a random batch."""
    import tensorflow as tf

    served = load_served(uri)
    directory = Path(directory)
    served.model.export(str(directory), format="tf_saved_model", verbose=False)
    batch = np.random.default_rng(seed).uniform(size=(4, *served.input_shape)).astype(served.input_dtype)
    reloaded = tf.saved_model.load(str(directory)).signatures[SIGNATURE]
    (name,) = reloaded.structured_input_signature[1]
    exported = next(iter(reloaded(**{name: tf.constant(batch)}).values())).numpy()
    difference = float(np.max(np.abs(exported - served.infer(batch))))
    if not difference <= tolerance:
        raise RuntimeError(f"the reloaded SavedModel differs from the Keras model by {difference:g} (> {tolerance:g})")
    return ExportCheck(directory, served.input_shape, difference)
