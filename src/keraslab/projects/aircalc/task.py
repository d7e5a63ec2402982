"""AirCalc: its symbol classifier trains and evaluates exactly as a classification (the same functions); the task
differs only in how the model is served (``wrapper``: expressions in, readings out)."""

from __future__ import annotations

from keraslab.tasks.classification import callbacks, datasets, evaluate

__all__ = ["callbacks", "datasets", "evaluate"]
