"""Tasks: what a project *does* with its data and model, one module per task (the core has ``classification``;
projects register their own).

A task module defines:

- ``datasets(splits, spec, global_batch) -> (train, validation, test)``: tf.data pipelines from the arrays;
- ``callbacks(spec, splits, tracker) -> list[keras.callbacks.Callback]``: extra per-epoch logging;
- ``evaluate(model, test_ds, splits) -> Evaluation``: test metrics, figures, texts and a model input/output
  example.

The trainer (``keraslab.training.trainer``) is the same for every task.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.figure import Figure


@dataclass
class Evaluation:
    metrics: dict[str, float]
    figures: dict[str, Figure] = field(default_factory=dict)  # artifact file -> figure
    texts: dict[str, str] = field(default_factory=dict)  # artifact file -> text
    # (inputs, outputs) of the Keras model on two examples: the logged flavor's signature is inferred from it
    # when (and only when) the run is tracked, so an untracked run never imports MLflow
    example: tuple[Any, Any] | None = None


def get(name: str) -> ModuleType:
    """The module of task ``name`` (a name the registry knows)."""
    from keraslab import registry

    return registry.module("tasks", name)
