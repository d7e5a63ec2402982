"""Pieces shared by the builders: optimizer choices with the course's defaults, regularisers, compile."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    import keras

Optimizer = Literal["sgd", "sgd_momentum", "rmsprop", "adam"]
Activation = Literal["relu", "leaky_relu", "elu", "gelu", "tanh", "sigmoid"]
Initializer = Literal["glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "lecun_normal"]

#: The course's defaults per optimizer: learning rate and extra arguments.
OPTIMIZER_DEFAULTS: dict[str, tuple[float, dict[str, Any]]] = {
    "sgd": (0.01, {}),
    "sgd_momentum": (0.01, {"momentum": 0.9}),
    "rmsprop": (0.001, {"rho": 0.9}),
    "adam": (0.001, {"beta_1": 0.9, "beta_2": 0.999}),
}


class ClassifierParams(BaseModel):
    """Parameters every classifier builder shares. ``input_shape``/``num_classes`` come from the data."""

    model_config = ConfigDict(extra="forbid")

    input_shape: tuple[int, ...] = (28, 28, 1)
    num_classes: int = Field(10, ge=2)
    optimizer: Optimizer = "adam"
    learning_rate: float | None = Field(None, gt=0, le=10, description="None: the optimizer's course default")
    l1: float = Field(0.0, ge=0)
    l2: float = Field(0.0, ge=0)


def make_optimizer(name: str, learning_rate: float | None) -> keras.optimizers.Optimizer:
    import keras

    default_lr, extra = OPTIMIZER_DEFAULTS[name]
    lr = default_lr if learning_rate is None else learning_rate
    if name in ("sgd", "sgd_momentum"):
        return keras.optimizers.SGD(learning_rate=lr, **extra)
    if name == "rmsprop":
        return keras.optimizers.RMSprop(learning_rate=lr, **extra)
    return keras.optimizers.Adam(learning_rate=lr, **extra)


def regularizer(params: Mapping[str, Any]) -> keras.regularizers.Regularizer | None:
    import keras

    if params["l1"] or params["l2"]:
        return keras.regularizers.L1L2(l1=params["l1"], l2=params["l2"])
    return None


def activation(name: str) -> keras.layers.Layer:
    import keras

    return keras.layers.Activation(name)


def compile_classifier(model: keras.Model, params: Mapping[str, Any]) -> keras.Model:
    """Compile with sparse categorical cross-entropy on softmax outputs and accuracy."""
    model.compile(
        optimizer=make_optimizer(params["optimizer"], params["learning_rate"]),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model
