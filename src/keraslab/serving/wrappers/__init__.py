"""Task wrappers: ``keraslab.serving.wrappers.<task>`` says how a model of that task is served.

A wrapper module defines ``wrapper(spec, splits, model) -> keraslab.serving.pyfunc.Wrapper``: the
``KerasPyfunc`` subclass instance with the task's pre- and post-processing, the MLflow signature and an input
example (built from the data's test split). Tasks without a module of their own are served by ``tensors``:
arrays of the model's input shape in, raw outputs out.
"""

from __future__ import annotations

import importlib
from types import ModuleType

DEFAULT = "tensors"


def get(task: str) -> ModuleType:
    """The wrapper module of ``task``, or the default one."""
    try:
        return importlib.import_module(f"{__name__}.{task}")
    except ModuleNotFoundError as exc:
        if exc.name != f"{__name__}.{task}":
            raise
        return importlib.import_module(f"{__name__}.{DEFAULT}")
