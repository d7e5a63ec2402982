"""The project's own builder as a ``keras_tuner.HyperModel``: sampled values replace its default params."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import keras_tuner

from keraslab import models
from keraslab.training.callbacks import first_non_finite
from keraslab.training.trainer import apply_execution_options

if TYPE_CHECKING:
    import keras

    from keraslab.config import TrainingSpec
    from keraslab.tuning.space import Hp


class ProjectHyperModel(keras_tuner.HyperModel):
    """``build(hp)`` = ``keraslab.models.build(builder, {**base_params, **sampled})``: no second model definition.

    ``fit`` is Keras's ``model.fit``; it times itself (``fit_seconds``) and turns a NaN/inf history into a
    ``FailedTrialError`` so the trial ends FAILED and the search goes on.
    """

    def __init__(
        self, builder: str, base_params: Mapping[str, Any], space: Mapping[str, Hp], training: TrainingSpec
    ) -> None:
        super().__init__(name=builder)
        self.builder, self.base_params, self.space = builder, dict(base_params), dict(space)
        self.training = training  # XLA and steps per execution, as `keraslab train` runs the project
        self.fit_seconds = 0.0

    def params(self, hp: keras_tuner.HyperParameters) -> dict[str, Any]:
        """The builder params for ``hp``: declared hyperparameters over the project's defaults."""
        return {**self.base_params, **{name: spec.declare(hp, name) for name, spec in self.space.items()}}

    def build(self, hp: keras_tuner.HyperParameters) -> keras.Model:
        return apply_execution_options(models.build(self.builder, self.params(hp)), self.training)

    def fit(self, hp: keras_tuner.HyperParameters, model: keras.Model, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            history = model.fit(*args, **kwargs)
        finally:
            self.fit_seconds += time.perf_counter() - started
        if bad := first_non_finite(history.history):
            raise keras_tuner.errors.FailedTrialError(f"{bad[0]} became non-finite in epoch {bad[1] + 1}")
        return history
