"""Feed-forward classifier: Flatten -> N × [Dense -> (BatchNorm) -> activation -> (Dropout)] -> softmax."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import Field, model_validator

from keraslab.models._blocks import (
    Activation,
    ClassifierParams,
    Initializer,
    activation,
    compile_classifier,
    regularizer,
)

if TYPE_CHECKING:
    import keras


class Params(ClassifierParams):
    hidden_layers: int = Field(2, ge=0, le=20)
    units: int | list[int] = Field(512, description="one width for every layer, or one per layer")
    activation: Activation = "relu"
    dropout: float = Field(0.2, ge=0.0, lt=1.0)
    batch_norm: bool = False
    initializer: Initializer = "glorot_uniform"

    @model_validator(mode="after")
    def _units_match_layers(self) -> Params:
        widths = self.units if isinstance(self.units, list) else [self.units]
        if isinstance(self.units, list) and len(self.units) != self.hidden_layers:
            raise ValueError(f"units has {len(self.units)} widths but hidden_layers = {self.hidden_layers}")
        if any(w < 1 for w in widths):
            raise ValueError(f"units must be positive, got {self.units}")
        return self


def layer_widths(params: Mapping[str, Any]) -> list[int]:
    units = params["units"]
    return list(units) if isinstance(units, list) else [units] * params["hidden_layers"]


def build(params: Mapping[str, Any]) -> keras.Model:
    """Build and compile the MLP described by ``params`` (a plain mapping of ``Params`` fields)."""
    import keras

    inputs = keras.Input(shape=tuple(params["input_shape"]), name="image")
    x = keras.layers.Flatten()(inputs)
    for width in layer_widths(params):
        x = keras.layers.Dense(
            width,
            kernel_initializer=params["initializer"],
            kernel_regularizer=regularizer(params),
            use_bias=not params["batch_norm"],
        )(x)
        if params["batch_norm"]:
            x = keras.layers.BatchNormalization()(x)
        x = activation(params["activation"])(x)
        if params["dropout"]:
            x = keras.layers.Dropout(params["dropout"])(x)
    outputs = keras.layers.Dense(params["num_classes"], activation="softmax", name="probabilities", dtype="float32")(x)
    return compile_classifier(keras.Model(inputs, outputs, name="mlp"), params)
