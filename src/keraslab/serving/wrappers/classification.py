"""Classifiers: arrays, or (for single-channel image models) PNG/JPEG drawings in; label and probabilities out.

Each request row holds one of two columns:

- ``image``: base64 PNG/JPEG of any size, normalised like an MNIST digit (``keraslab.serving.images``);
  only for models whose input is a single-channel image;
- ``array``: nested lists of the model's input shape (for images also H×W without the channel axis; pixel
  values in [0, 1] or [0, 255]).

The answer per row: ``label`` (class name), ``probability`` (of that class) and ``probabilities`` (all classes,
in the order of the class names).
"""

from __future__ import annotations

import base64
import io
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from mlflow.models import ModelSignature
from mlflow.types.schema import AnyType, Array, ColSpec, Schema

from keraslab.serving.images import ImageError, decode_image, mnist_digit
from keraslab.serving.pyfunc import KerasPyfunc, Wrapper, as_numbers, bad_input, check_finite, present

if TYPE_CHECKING:
    import keras

    from keraslab.config import ProjectSpec
    from keraslab.data import Splits

IMAGE, ARRAY = "image", "array"
MAX_BATCH = 1024


class Classifier(KerasPyfunc):
    def __init__(self, class_names: list[str], accepts_images: bool) -> None:
        self.class_names = list(class_names)
        self.accepts_images = accepts_images

    def expected(self) -> str:
        shape = self.input_shape[:-1] if self.accepts_images else self.input_shape
        text = f"'{ARRAY}' (numbers, shape {'×'.join(map(str, shape))})"
        if self.accepts_images:
            text = f"'{IMAGE}' (base64 PNG/JPEG) or {text}, pixel values in [0, 1] or [0, 255]"
        return f"each row needs {text}"

    def preprocess(self, model_input: Any) -> np.ndarray:
        frame = model_input if isinstance(model_input, pd.DataFrame) else pd.DataFrame(model_input)
        if len(frame) == 0:
            raise bad_input(f"the batch is empty; {self.expected()}")
        if len(frame) > MAX_BATCH:
            raise bad_input(f"the batch holds {len(frame)} rows; at most {MAX_BATCH} are accepted")
        images = frame[IMAGE] if self.accepts_images and IMAGE in frame else [None] * len(frame)
        arrays = frame[ARRAY] if ARRAY in frame else [None] * len(frame)
        return np.stack(
            [self.item(i, image, array) for i, (image, array) in enumerate(zip(images, arrays, strict=True))]
        )

    def item(self, row: int, image: Any, array: Any) -> np.ndarray:
        has_image, has_array = present(image), present(array)
        if has_image == has_array:
            raise bad_input(f"row {row}: {'both given' if has_image else 'nothing given'}; {self.expected()}")
        if has_array:
            return self.from_array(row, array)
        if not isinstance(image, str):
            raise bad_input(f"row {row}: '{IMAGE}' is a {type(image).__name__}; expected base64 text")
        try:
            digit = mnist_digit(decode_image(image), size=self.input_shape[0])
        except ImageError as exc:
            raise bad_input(f"row {row}: {exc}") from None
        return digit.reshape(self.input_shape).astype(self.input_dtype)

    def from_array(self, row: int, array: Any) -> np.ndarray:
        what = f"row {row}: '{ARRAY}'"
        values = as_numbers(array, self.input_dtype, what)
        if self.accepts_images and values.shape == self.input_shape[:-1]:
            values = values[..., None]
        if values.shape != self.input_shape:
            raise bad_input(f"{what} has shape {values.shape}; {self.expected()}")
        check_finite(values, what)
        if self.accepts_images:
            low, high = float(values.min()), float(values.max())
            if low < 0 or high > 255:
                raise bad_input(f"{what}: pixel values span [{low:g}, {high:g}]; expected [0, 1] or [0, 255]")
            if high > 1:
                values = values / np.array(255, values.dtype)
        return values

    def postprocess(self, outputs: np.ndarray) -> pd.DataFrame:
        best = outputs.argmax(axis=1)
        return pd.DataFrame(
            {
                "label": [self.class_names[i] for i in best],
                "probability": outputs[np.arange(len(best)), best].astype(float),
                "probabilities": outputs.astype(float).tolist(),
            }
        )


def wrapper(spec: ProjectSpec, splits: Splits, model: keras.Model) -> Wrapper:
    shape = tuple(model.inputs[0].shape[1:])
    accepts_images = len(shape) == 3 and shape[-1] == 1 and shape[0] == shape[1]
    class_names = splits.info.class_names or [str(i) for i in range(model.outputs[0].shape[-1])]
    inputs = [ColSpec(AnyType(), ARRAY, required=False)]
    if accepts_images:
        inputs.insert(0, ColSpec("string", IMAGE, required=False))
    outputs = [ColSpec("string", "label"), ColSpec("double", "probability"), ColSpec(Array("double"), "probabilities")]
    signature = ModelSignature(inputs=Schema(inputs), outputs=Schema(outputs))
    first = np.asarray(splits.x_test[0])
    example = (
        pd.DataFrame({IMAGE: [png_base64(first[..., 0])]})
        if accepts_images
        else pd.DataFrame({ARRAY: [first.tolist()]})
    )
    return Wrapper(Classifier(class_names, accepts_images), signature, example)


def png_base64(image: np.ndarray) -> str:
    """A 2-D uint8 (or [0, 1] float) image as base64 PNG text: how a client sends an image."""
    from PIL import Image

    pixels = image if image.dtype == np.uint8 else (np.clip(image, 0, 1) * 255).round().astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")
