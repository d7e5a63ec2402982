"""Serving: every model keraslab logs is an MLflow pyfunc that carries its task's pre- and post-processing.

``log_model`` (called by the trainer and the tuner) saves the Keras model as a ``.keras`` artifact inside a
pyfunc built by the task's wrapper (``keraslab.serving.wrappers``), and beside it the stock ``mlflow.keras``
flavor for users who want the bare Keras model. ``keraslab serve`` runs MLflow's own scoring
server on it, ``keraslab predict`` the same model offline, ``keraslab export`` a TF SavedModel.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import keras

    from keraslab.config import ProjectSpec
    from keraslab.data import Splits
    from keraslab.tracking.runs import RunTracker


def log_model(
    tracker: RunTracker,
    spec: ProjectSpec,
    splits: Splits,
    model: keras.Model,
    register: str | None,
    keras_example: tuple[Any, Any] | None = None,
) -> str | None:
    """Log the run's models and return the served one's URI.

    ``model``: the pyfunc with the task's pre/post-processing (registered as ``register``);
    ``keras_model``: the plain ``mlflow.keras`` flavor, tensors in and out (its signature inferred from
    ``keras_example``, the model's ``(inputs, outputs)`` on a few examples).
    """
    if not tracker.enabled:
        return None
    import mlflow
    from mlflow.models import infer_signature

    from keraslab.serving import wrappers
    from keraslab.serving.pyfunc import KERAS_ARTIFACT, requirements
    from keraslab.tracking.runs import pinned_requirements

    signature = infer_signature(*keras_example) if keras_example is not None else None
    mlflow.keras.log_model(model, name="keras_model", signature=signature, pip_requirements=pinned_requirements())

    served = wrappers.get(spec.task).wrapper(spec, splits, model)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.keras"
        model.save(path)
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=served.python_model,
            artifacts={KERAS_ARTIFACT: str(path)},
            signature=served.signature,
            input_example=served.input_example,
            pip_requirements=requirements(),
            registered_model_name=register,
        )
    return info.model_uri
