"""Convolutional classifier: blocks of [Conv -> (BN) -> act] × k -> pool -> (dropout), then a dense head.

With ``blocks=2, filters=[32, 64], convs_per_block=1, padding="valid", batch_norm=false, block_dropout=0,
dense_units=[], dropout=0.5`` it is exactly keras-io's ``mnist_convnet``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

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
    blocks: int = Field(2, ge=1, le=6)
    filters: int | list[int] = Field([32, 64], description="per block, or a base width doubled each block")
    convs_per_block: int = Field(2, ge=1, le=4)
    kernel_size: int = Field(3, ge=1, le=9)
    padding: Literal["same", "valid"] = "same"
    strides: int = Field(1, ge=1, le=4)
    pooling: Literal["max", "avg", "none"] = "max"
    pool_size: int = Field(2, ge=1, le=4)
    batch_norm: bool = True
    block_dropout: float = Field(0.25, ge=0.0, lt=1.0, description="dropout after each block's pooling")
    dense_units: list[int] = Field([128], description="hidden dense layers of the head")
    dropout: float = Field(0.5, ge=0.0, lt=1.0, description="dropout before each head layer")
    activation: Activation = "relu"
    initializer: Initializer = "he_uniform"

    @model_validator(mode="after")
    def _filters_match_blocks(self) -> Params:
        if isinstance(self.filters, list) and len(self.filters) != self.blocks:
            raise ValueError(f"filters has {len(self.filters)} widths but blocks = {self.blocks}")
        return self


def block_filters(params: Mapping[str, Any]) -> list[int]:
    filters = params["filters"]
    if isinstance(filters, list):
        return list(filters)
    return [filters * 2**i for i in range(params["blocks"])]


def build(params: Mapping[str, Any]) -> keras.Model:
    """Build and compile the CNN described by ``params`` (a plain mapping of ``Params`` fields)."""
    import keras

    reg = regularizer(params)
    inputs = keras.Input(shape=tuple(params["input_shape"]), name="image")
    x = inputs
    for filters in block_filters(params):
        for _ in range(params["convs_per_block"]):
            x = keras.layers.Conv2D(
                filters,
                params["kernel_size"],
                strides=params["strides"],
                padding=params["padding"],
                kernel_initializer=params["initializer"],
                kernel_regularizer=reg,
                use_bias=not params["batch_norm"],
                activation=None if params["batch_norm"] else params["activation"],  # fused unless BN sits between
            )(x)
            if params["batch_norm"]:
                x = keras.layers.BatchNormalization()(x)
                x = activation(params["activation"])(x)
        if params["pooling"] != "none":
            pool = keras.layers.MaxPooling2D if params["pooling"] == "max" else keras.layers.AveragePooling2D
            x = pool(params["pool_size"])(x)
        if params["block_dropout"]:
            x = keras.layers.Dropout(params["block_dropout"])(x)
    x = keras.layers.Flatten()(x)
    for units in params["dense_units"]:
        if params["dropout"]:
            x = keras.layers.Dropout(params["dropout"])(x)
        x = keras.layers.Dense(
            units, activation=params["activation"], kernel_initializer=params["initializer"], kernel_regularizer=reg
        )(x)
    if params["dropout"]:
        x = keras.layers.Dropout(params["dropout"])(x)
    outputs = keras.layers.Dense(params["num_classes"], activation="softmax", name="probabilities", dtype="float32")(x)
    return compile_classifier(keras.Model(inputs, outputs, name="cnn"), params)
