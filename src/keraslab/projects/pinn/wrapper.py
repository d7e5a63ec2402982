"""PINNs: points in, the solution u out. Each request row names the problem's inputs, e.g. ``x`` and ``t``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd
from mlflow.models import ModelSignature
from mlflow.types.schema import ColSpec, Schema

from keraslab.serving.pyfunc import KerasPyfunc, Wrapper, bad_input, checked_batch

if TYPE_CHECKING:
    import keras
    import mlflow
    import numpy as np

    from keraslab.config import ProjectSpec
    from keraslab.data import Splits


class PointsPyfunc(KerasPyfunc):
    """Serves the PINN's network: columns ``inputs`` (numbers) -> column ``u``."""

    def __init__(self, inputs: list[str]) -> None:
        self.inputs = list(inputs)

    def load_context(self, context: mlflow.pyfunc.PythonModelContext) -> None:
        import keraslab.projects.pinn.model  # noqa: F401 - registers PinnModel for deserialisation

        super().load_context(context)

    def load_keras(self, model: keras.Model) -> None:
        super().load_keras(model.network)

    def preprocess(self, model_input: Any) -> np.ndarray:
        frame = model_input if isinstance(model_input, pd.DataFrame) else pd.DataFrame(model_input)
        missing = [name for name in self.inputs if name not in frame.columns]
        if missing:
            raise bad_input(f"missing column(s) {missing}: each row needs {', '.join(self.inputs)} (numbers)")
        return checked_batch(frame[self.inputs].to_numpy(), (len(self.inputs),), self.input_dtype, "points")

    def postprocess(self, outputs: np.ndarray) -> pd.DataFrame:
        return pd.DataFrame({"u": outputs[:, 0].astype(float)})


def wrapper(spec: ProjectSpec, splits: Splits, model: keras.Model) -> Wrapper:
    inputs = list(splits.info.extra["problem"].inputs)
    signature = ModelSignature(
        inputs=Schema([ColSpec("double", name) for name in inputs]), outputs=Schema([ColSpec("double", "u")])
    )
    example = pd.DataFrame(splits.x_test[:3], columns=inputs)
    return Wrapper(PointsPyfunc(inputs), signature, example)
