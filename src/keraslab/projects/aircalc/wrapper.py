"""AirCalc: a handwritten expression per row in, its reading out (the AirCalc pipeline around the CNN).

Each request row holds one of two columns:

- ``trace``: the strokes, as JSON text or as the list itself: ``[[[x, y] or [x, y, t], ...], ...]`` (any scale
  and origin, y down), or ``{"strokes": [...]}``;
- ``image``: base64 PNG/JPEG of the written line (dark on light or light on dark).

The answer per row: ``expression``, ``value`` (exact, as text; null on error), ``error``, ``note`` (set when the
beam search replaced the most likely symbols) and ``symbols``: per symbol its ``box``, ``label``, ``top`` (the
classifier's best labels with probabilities) and ``confidence``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from mlflow.models import ModelSignature
from mlflow.types.schema import AnyType, ColSpec, Schema

from keraslab.projects.aircalc.inputs import InputError
from keraslab.projects.aircalc.pipeline import AirCalc, Reading
from keraslab.serving.images import ImageError, decode_image
from keraslab.serving.pyfunc import KerasPyfunc, Wrapper, bad_input, present
from keraslab.serving.wrappers.classification import png_base64

if TYPE_CHECKING:
    import keras

    from keraslab.config import ProjectSpec
    from keraslab.data import Splits

TRACE, IMAGE = "trace", "image"
MAX_BATCH = 256
EXPECTED = f"each row needs '{TRACE}' (JSON strokes of [x, y] or [x, y, t] points) or '{IMAGE}' (base64 PNG/JPEG)"


class AirCalcPyfunc(KerasPyfunc):
    """The symbol CNN behind a compiled function, read through ``AirCalc`` (``self.calc``)."""

    def __init__(self, class_names: list[str]) -> None:
        self.class_names = list(class_names)

    def load_keras(self, model: keras.Model) -> None:
        super().load_keras(model)
        self.calc = AirCalc(self.classify, self.class_names)

    def classify(self, images: np.ndarray) -> np.ndarray:
        """(N, 28, 28) symbol images in [0, 1] -> (N, classes) probabilities."""
        return self.infer(images.reshape(len(images), *self.input_shape).astype(self.input_dtype))

    def predict(self, context, model_input, params=None):
        frame = model_input if isinstance(model_input, pd.DataFrame) else pd.DataFrame(model_input)
        if len(frame) == 0:
            raise bad_input(f"the batch is empty; {EXPECTED}")
        if len(frame) > MAX_BATCH:
            raise bad_input(f"the batch holds {len(frame)} rows; at most {MAX_BATCH} are accepted")
        traces = frame[TRACE] if TRACE in frame else [None] * len(frame)
        images = frame[IMAGE] if IMAGE in frame else [None] * len(frame)
        readings = [self.read(i, trace, image) for i, (trace, image) in enumerate(zip(traces, images, strict=True))]
        return pd.DataFrame([reading.to_dict() for reading in readings])

    def read(self, row: int, trace: Any, image: Any) -> Reading:
        has_trace, has_image = present(trace), present(image)
        if has_trace == has_image:
            raise bad_input(f"row {row}: {'both given' if has_trace else 'nothing given'}; {EXPECTED}")
        try:
            if has_image:
                if not isinstance(image, str):
                    raise bad_input(f"row {row}: '{IMAGE}' is a {type(image).__name__}; expected base64 text")
                return self.calc.read_image((decode_image(image) * 255).round().astype(np.uint8))
            return self.calc.read_trace(json.loads(trace) if isinstance(trace, str) else to_lists(trace))
        except json.JSONDecodeError as exc:
            raise bad_input(f"row {row}: '{TRACE}' is not valid JSON ({exc}); {EXPECTED}") from None
        except (InputError, ImageError) as exc:
            raise bad_input(f"row {row}: {exc}") from None


def to_lists(value: Any) -> Any:
    """Nested arrays (as MLflow may hand a JSON list column over) -> nested lists of Python numbers."""
    if isinstance(value, np.ndarray | list | tuple):
        return [to_lists(v) for v in value]
    return value.item() if isinstance(value, np.generic) else value


def wrapper(spec: ProjectSpec, splits: Splits, model: keras.Model) -> Wrapper:
    class_names = splits.info.class_names or []
    if len(class_names) != model.outputs[0].shape[-1]:
        raise ValueError(f"the aircalc task needs the data's class names, one per model output; got {class_names}")
    inputs = Schema([ColSpec(AnyType(), TRACE, required=False), ColSpec("string", IMAGE, required=False)])
    outputs = Schema(
        [
            ColSpec("string", "expression"),
            ColSpec(AnyType(), "value"),
            ColSpec(AnyType(), "error"),
            ColSpec("string", "note"),
            ColSpec(AnyType(), "symbols"),
        ]
    )
    example = pd.DataFrame({IMAGE: [png_base64(255 - np.asarray(splits.x_test[0])[..., 0])]})
    return Wrapper(AirCalcPyfunc(class_names), ModelSignature(inputs=inputs, outputs=outputs), example)
