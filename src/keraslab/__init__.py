"""keraslab: the projects of a deep-learning course, end to end with Keras, Keras Tuner and MLflow.

The Python API (the CLI is a thin layer over it; TensorFlow is imported only when a model is)::

    import keraslab
    keraslab.projects()                                    # ['activity-rnn', 'aircalc', ...]
    run = keraslab.train("mnist-cnn", epochs=3, overrides={"model.dropout": 0.3})
    run.metrics["test_accuracy"], run.run_id, run.model_uri
    run.keras_model(), run.load_model()                    # the network, the served pyfunc
    best = keraslab.tune("mnist-mlp", max_trials=4)        # parent run, best trial, best model
    model = keraslab.load("models:/mnist@champion")
"""

import importlib
from typing import Any

__version__ = "0.1.0"
__all__ = ["ConfigError", "TrainResult", "TuneResult", "load", "projects", "show", "train", "tune"]
_API_MODULES = {"ConfigError": "keraslab.config", **dict.fromkeys(__all__[1:], "keraslab.api")}


def __getattr__(name: str) -> Any:
    """The API's names, imported when first used (``import keraslab`` stays light)."""
    if name in _API_MODULES:
        return getattr(importlib.import_module(_API_MODULES[name]), name)
    raise AttributeError(f"module 'keraslab' has no attribute {name!r}")


class _Projects:
    """``keraslab.projects()`` lists the project names; as a namespace it is still the ``keraslab.projects``
    package of the course-project packages (``keraslab.projects.__path__``, ``keraslab.projects.pinn``)."""

    def __call__(self) -> list[str]:
        return importlib.import_module("keraslab.api").projects()

    def __getattr__(self, name: str) -> Any:
        return getattr(_package, name)

    def __repr__(self) -> str:
        return "<function keraslab.projects() and package keraslab.projects>"


_package = importlib.import_module("keraslab.projects")  # loaded first, so that the name below stays ours
projects = _Projects()
