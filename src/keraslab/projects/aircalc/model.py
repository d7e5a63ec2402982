"""The trained AirCalc model, from MLflow: a given model URI, or the best finished ``aircalc`` run.

The logged model is the pyfunc of ``wrapper``; the CLI and the canvas page use the
``AirCalc`` pipeline it carries, so they read exactly as the served model does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from keraslab.projects.aircalc.pipeline import AirCalc

EXPERIMENT = "aircalc"


class ModelNotFound(RuntimeError):
    """No trained AirCalc model where we looked."""


def best_model_uri(tracking_uri: str | None = None) -> str:
    """``runs:/<id>/model`` of the finished ``aircalc`` run with the highest test accuracy."""
    from keraslab.tracking.runs import finished_model_uri
    from keraslab.tracking.store import tracking_uri as resolve_uri

    uri = resolve_uri(tracking_uri)
    found = finished_model_uri(uri, EXPERIMENT, "metrics.test_accuracy DESC")
    if found is None:
        raise ModelNotFound(f"no finished {EXPERIMENT!r} run in {uri}: run `keraslab train aircalc` or pass --model")
    return found


def load_calc(model_uri: str | None = None, tracking_uri: str | None = None) -> AirCalc:
    """The ``AirCalc`` pipeline of the logged pyfunc (its compiled Keras forward pass classifies the symbols)."""
    import mlflow

    from keraslab.projects.aircalc.wrapper import AirCalcPyfunc
    from keraslab.tracking.store import tracking_uri as resolve_uri

    mlflow.set_tracking_uri(resolve_uri(tracking_uri))
    uri = model_uri or best_model_uri(tracking_uri)
    try:
        served = mlflow.pyfunc.load_model(uri).unwrap_python_model()
    except Exception as exc:  # MLflow raises several types for a missing or unreadable model
        raise ModelNotFound(f"cannot load model {uri}: {exc}") from exc
    if not isinstance(served, AirCalcPyfunc):
        raise ModelNotFound(
            f"model {uri} is a {type(served).__name__}, not an AirCalc model: train it with the aircalc project "
            "(task = 'aircalc'), e.g. `keraslab train aircalc`"
        )
    return served.calc
