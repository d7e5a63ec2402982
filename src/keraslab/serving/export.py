"""``keraslab export``: a served model's Keras network as a TF SavedModel for TF Serving, or as TFLite for phones,
checked against the Keras model."""

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
    batch = np.random.default_rng(0).uniform(size=(4, *served.input_shape)).astype(served.input_dtype)
    reloaded = tf.saved_model.load(str(directory)).signatures[SIGNATURE]
    (name,) = reloaded.structured_input_signature[1]
    exported = next(iter(reloaded(**{name: tf.constant(batch)}).values())).numpy()
    difference = float(np.max(np.abs(exported - served.infer(batch))))
    if not difference <= tolerance:
        raise RuntimeError(f"the reloaded SavedModel differs from the Keras model by {difference:g} (> {tolerance:g})")
    return ExportCheck(directory, served.input_shape, difference)


@dataclass
class TfliteCheck:
    path: Path
    size_bytes: int
    windows: int
    label_agreement: float
    max_abs_difference: float
    latency_ms: float


def export_tflite(
    uri: str, directory: Path, inputs: np.ndarray | None = None, tolerance: float = 1e-4, agreement: float = 0.999
) -> TfliteCheck:
    """Write the model at ``uri`` (its preprocessing layers included) as ``model.tflite`` with builtin ops only,
    and run TensorFlow Lite's interpreter (one thread, batch 1) on ``inputs`` (default: 16 random ones): at least
    ``agreement`` of the labels must equal the Keras model's, and every output lie within ``tolerance`` of it.
    The latency is the median per input."""
    import tempfile
    import time

    import tensorflow as tf

    served = load_served(uri)
    directory = Path(directory)
    directory.mkdir(parents=True)
    with tempfile.TemporaryDirectory() as saved:  # a batch of 1 lowers recurrent layers to builtin WHILE loops
        signature = [tf.TensorSpec((1, *served.input_shape), served.model.inputs[0].dtype)]
        served.model.export(saved, format="tf_saved_model", input_signature=signature, verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(saved)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        blob = converter.convert()
    path = directory / "model.tflite"
    path.write_bytes(blob)
    if inputs is None:
        inputs = np.random.default_rng(0).uniform(size=(16, *served.input_shape))
    inputs = np.asarray(inputs, served.input_dtype)
    interpreter = tf.lite.Interpreter(model_content=blob, num_threads=1)
    interpreter.allocate_tensors()
    (entry,), (exit_,) = interpreter.get_input_details(), interpreter.get_output_details()
    outputs, latencies = [], []
    for item in inputs:
        interpreter.set_tensor(entry["index"], item[None])
        started = time.perf_counter()
        interpreter.invoke()
        latencies.append(time.perf_counter() - started)
        outputs.append(interpreter.get_tensor(exit_["index"])[0])
    lite, keras_out = np.stack(outputs), served.infer(inputs)
    agreed = float(np.mean(lite.argmax(-1) == keras_out.argmax(-1)))
    difference = float(np.max(np.abs(lite - keras_out)))
    if agreed < agreement or not difference <= tolerance:
        raise RuntimeError(
            f"the TFLite model disagrees with the Keras model: labels agree on {agreed:.2%} of {len(inputs)} "
            f"inputs, max |difference| {difference:g} (expected >= {agreement:.1%}, <= {tolerance:g})"
        )
    latency = 1e3 * float(np.median(latencies))
    return TfliteCheck(path, len(blob), len(inputs), agreed, difference, latency)
