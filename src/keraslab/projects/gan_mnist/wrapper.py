"""GAN generators: a ``seed`` per row in, a generated image (base64 PNG) out; the same seed, the same image."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from mlflow.models import ModelSignature
from mlflow.types.schema import ColSpec, Schema

from keraslab.gan.images import png_base64, to_uint8
from keraslab.serving.pyfunc import KerasPyfunc, Wrapper, bad_input

if TYPE_CHECKING:
    import keras

    from keraslab.config import ProjectSpec
    from keraslab.data import Splits

SEED, IMAGE = "seed", "image"
MAX_BATCH = 1024


class Sampler(KerasPyfunc):
    def load_keras(self, model: keras.Model) -> None:
        """Serve the GAN's generator (its input is the noise)."""
        super().load_keras(model.generator)

    def preprocess(self, model_input: Any) -> np.ndarray:
        frame = model_input if isinstance(model_input, pd.DataFrame) else pd.DataFrame(model_input)
        if SEED not in frame or not 0 < len(frame) <= MAX_BATCH:
            raise bad_input(f"send 1 to {MAX_BATCH} rows with a '{SEED}' column (an integer >= 0)")
        seeds = []
        for row, seed in enumerate(frame[SEED]):
            number = isinstance(seed, int | float | np.integer | np.floating) and not isinstance(seed, bool)
            if not number or not float(seed).is_integer() or seed < 0:
                raise bad_input(f"row {row}: '{SEED}' = {seed!r}; expected an integer >= 0")
            seeds.append(int(seed))
        latent = self.input_shape[0]
        return np.stack([np.random.default_rng(s).standard_normal(latent, np.float32) for s in seeds])

    def postprocess(self, outputs: np.ndarray) -> pd.DataFrame:
        return pd.DataFrame({IMAGE: [png_base64(image) for image in to_uint8(outputs)]})


def signature_and_example() -> tuple[ModelSignature, pd.DataFrame]:
    signature = ModelSignature(inputs=Schema([ColSpec("long", SEED)]), outputs=Schema([ColSpec("string", IMAGE)]))
    return signature, pd.DataFrame({SEED: [0, 1]})


def wrapper(spec: ProjectSpec, splits: Splits, model: keras.Model) -> Wrapper:
    return Wrapper(Sampler(), *signature_and_example())
