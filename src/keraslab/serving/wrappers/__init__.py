"""Task wrappers: the module the registry names for a task says how a model of that task is served.

A wrapper module defines ``wrapper(spec, splits, model) -> keraslab.serving.pyfunc.Wrapper``: the
``KerasPyfunc`` subclass instance with the task's pre- and post-processing, the MLflow signature and an input
example (built from the data's test split). Tasks without a module of their own are served by ``tensors``:
arrays of the model's input shape in, raw outputs out.
"""

from __future__ import annotations

from types import ModuleType


def get(task: str) -> ModuleType:
    """The wrapper module of ``task``, or the default one (``tensors``)."""
    from keraslab import registry

    return registry.module("wrappers", task)
