"""Face aging: a photo (base64 PNG/JPEG) per row in, the same photo with the face aged (or rejuvenated) out.

Params: ``direction`` = ``older`` (default) or ``younger``; ``crop`` = ``face`` (default: find every face with
OpenCV's Haar cascade, change each and paste it back; a photo without a face is refused with HTTP 400) or ``none``
(the image is already a face crop). The answer per row: ``image`` (base64 PNG, the input's size) and ``box``
([x, y, width, height] of each changed region, one after the other).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from mlflow.models import ModelSignature
from mlflow.types.schema import Array, ColSpec, ParamSchema, ParamSpec, Schema

import keraslab.projects.face_aging.cyclegan  # noqa: F401 - registers the CycleGAN classes before the .keras artifact loads
from keraslab.gan.images import png_base64, to_signed, to_uint8
from keraslab.projects.face_aging.photo import transform_photo
from keraslab.serving.images import ImageError, decode_rgb
from keraslab.serving.pyfunc import KerasPyfunc, Wrapper, bad_input

if TYPE_CHECKING:
    import keras

    from keraslab.config import ProjectSpec
    from keraslab.data import Splits

IMAGE, BOX = "image", "box"
DIRECTIONS = {"older": "young_to_old", "younger": "old_to_young"}
CROPS = ("face", "none")
MAX_BATCH = 16
PARAMS = ParamSchema([ParamSpec("direction", "string", "older"), ParamSpec("crop", "string", "face")])


class FaceAging(KerasPyfunc):
    def load_keras(self, model: keras.Model) -> None:
        """Compile both generators of the CycleGAN."""
        import tensorflow as tf

        self.model = model
        self.size = int(model.young_to_old.inputs[0].shape[1])
        spec = tf.TensorSpec((None, self.size, self.size, 3), tf.float32)
        self.generators = {
            direction: tf.function(getattr(model, name), input_signature=[spec], reduce_retracing=True)
            for direction, name in DIRECTIONS.items()
        }
        for forward in self.generators.values():
            forward(np.zeros((1, self.size, self.size, 3), np.float32))

    def predict(self, context, model_input, params=None):
        direction, crop = (params or {}).get("direction", "older"), (params or {}).get("crop", "face")
        if direction not in DIRECTIONS or crop not in CROPS:
            raise bad_input(
                f"params: direction = {direction!r}, crop = {crop!r}; expected direction in {sorted(DIRECTIONS)} "
                f"and crop in {list(CROPS)}"
            )
        frame = model_input if isinstance(model_input, pd.DataFrame) else pd.DataFrame(model_input)
        if IMAGE not in frame or not 0 < len(frame) <= MAX_BATCH:
            raise bad_input(f"send 1 to {MAX_BATCH} rows with an '{IMAGE}' column (base64 PNG or JPEG)")
        forward = self.generators[direction]

        def generate(face: np.ndarray) -> np.ndarray:
            return to_uint8(forward(to_signed(face[None])).numpy())[0]

        images, boxes = [], []
        for row, data in enumerate(frame[IMAGE]):
            if not isinstance(data, str | bytes):
                raise bad_input(f"row {row}: '{IMAGE}' is a {type(data).__name__}; expected base64 text")
            try:
                photo, changed = transform_photo(decode_rgb(data), generate, self.size, detect=crop == "face")
            except ImageError as exc:
                raise bad_input(f"row {row}: {exc}") from None
            images.append(png_base64(photo))
            boxes.append([int(v) for box in changed for v in box])
        return pd.DataFrame({IMAGE: images, BOX: boxes})


def signature() -> ModelSignature:
    return ModelSignature(
        inputs=Schema([ColSpec("string", IMAGE)]),
        outputs=Schema([ColSpec("string", IMAGE), ColSpec(Array("long"), BOX)]),
        params=PARAMS,
    )


def wrapper(spec: ProjectSpec, splits: Splits, model: keras.Model) -> Wrapper:
    """No input example: MLflow would run it with ``crop = 'face'``, and a test face need not hold a Haar face."""
    return Wrapper(FaceAging(), signature(), None)
