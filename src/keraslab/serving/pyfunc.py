"""The one serving mechanism: a Keras model inside an MLflow pyfunc, run through a compiled function.

``KerasPyfunc`` loads the ``.keras`` artifact once and traces a ``tf.function`` with a fixed input signature
(any batch size), so a request costs one graph call, not ``model.predict``'s per-call setup. A task's wrapper
(``keraslab.serving.wrappers.<task>``) subclasses it with ``preprocess`` (what users send -> a batch) and
``postprocess`` (model outputs -> an answer), and says which signature and input example to log.

Bad input raises ``bad_input(...)``: an ``MlflowException`` with ``INVALID_PARAMETER_VALUE``, which MLflow's
scoring server answers with HTTP 400 and the message.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import mlflow
import numpy as np
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE

if TYPE_CHECKING:
    import keras
    from mlflow.models import ModelSignature

KERAS_ARTIFACT = "keras_model"


def bad_input(message: str) -> MlflowException:
    """The exception for a request that cannot be answered; the scoring server returns it as HTTP 400."""
    return MlflowException(message, error_code=INVALID_PARAMETER_VALUE)


@dataclass
class Wrapper:
    """What a task's wrapper module hands to ``keraslab.serving.log_model``."""

    python_model: KerasPyfunc
    signature: ModelSignature
    input_example: Any


def load_keras_file(path: str) -> keras.Model:
    """Load a ``.keras`` file; a truncated or corrupted one (a half-written copy, say) names itself."""
    import zipfile

    import keras

    try:
        return keras.saving.load_model(path, compile=False)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:  # Keras: ValueError for a non-zip file
        raise ValueError(f"{path}: not a readable .keras model file ({type(exc).__name__}: {exc})") from exc


class KerasPyfunc(mlflow.pyfunc.PythonModel):
    """A single-input Keras model behind a compiled function; subclasses add pre- and post-processing."""

    def load_context(self, context: mlflow.pyfunc.PythonModelContext) -> None:
        self.load_keras(load_keras_file(context.artifacts[KERAS_ARTIFACT]))

    def load_keras(self, model: keras.Model) -> None:
        """Trace the model's forward pass for batches of its input shape (also used without MLflow)."""
        import tensorflow as tf

        if len(model.inputs) != 1:
            raise ValueError(
                f"model {model.name} has {len(model.inputs)} inputs; the default wrapper serves single-input "
                "models: add a wrapper for its task in keraslab/serving/wrappers/"
            )
        tensor = model.inputs[0]
        self.input_shape: tuple[int, ...] = tuple(tensor.shape[1:])
        self.input_dtype = np.dtype(tf.as_dtype(tensor.dtype).as_numpy_dtype)
        spec = tf.TensorSpec((None, *self.input_shape), tensor.dtype)
        self._forward = tf.function(lambda x: model(x, training=False), input_signature=[spec])
        self.model = model
        self.infer(np.zeros((1, *self.input_shape), self.input_dtype))  # trace now, not on the first request

    def infer(self, batch: np.ndarray) -> np.ndarray:
        """One call of the compiled forward pass on a batch of the model's input shape and dtype."""
        return self._forward(batch).numpy()

    # No type hints: MLflow would read them as the model's input schema (and warn that Any is not one).
    def predict(self, context, model_input, params=None):
        return self.postprocess(self.infer(self.preprocess(model_input)))

    def preprocess(self, model_input: Any) -> np.ndarray:
        """Default: a batch of the model's input shape, all values finite."""
        return checked_batch(model_input, self.input_shape, self.input_dtype)

    def postprocess(self, outputs: np.ndarray) -> Any:
        """Default: the model's outputs as they are."""
        return outputs


def present(value: Any) -> bool:
    """Whether a request cell holds a value (pandas fills missing ones with None or NaN)."""
    return value is not None and not (isinstance(value, float) and np.isnan(value))


def checked_batch(values: Any, shape: tuple[int, ...], dtype: np.dtype, what: str = "input") -> np.ndarray:
    """``values`` as an array of shape (N, *shape), N >= 1, finite numbers; otherwise ``bad_input``."""
    batch = as_numbers(values, dtype, what)
    if batch.ndim != len(shape) + 1 or batch.shape[1:] != shape:
        raise bad_input(f"{what}: expected a batch of shape (N, {', '.join(map(str, shape))}); got {batch.shape}")
    if len(batch) == 0:
        raise bad_input(f"{what}: the batch is empty; send at least one item")
    return check_finite(batch, what)


def as_numbers(values: Any, dtype: np.dtype, what: str) -> np.ndarray:
    """``values`` (nested lists) as an array of ``dtype``; otherwise ``bad_input``."""
    try:
        return np.asarray(values, dtype=dtype)
    except (ValueError, TypeError, OverflowError) as exc:
        raise bad_input(f"{what}: expected a regular array of numbers ({exc})") from None


def check_finite(values: np.ndarray, what: str) -> np.ndarray:
    if np.issubdtype(values.dtype, np.floating) and not np.isfinite(values).all():
        raise bad_input(f"{what}: values must be finite numbers (found NaN or infinity)")
    return values


def requirements() -> list[str]:
    """What a served model needs, pinned to this environment (skips MLflow's slow inference)."""
    from importlib.metadata import version

    from keraslab.tracking.runs import pinned_requirements

    return [*pinned_requirements(), f"mlflow=={version('mlflow')}", f"pillow=={version('pillow')}"]
