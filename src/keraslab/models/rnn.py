"""Recurrent sequence classifier: (Masking) -> (Normalization) -> (Conv1D front end) -> N × recurrent layer
[SimpleRNN | LSTM | GRU, optionally bidirectional, then optionally LayerNormalization] -> dense head -> softmax.

The input is ``(T, C)`` raw readings. ``channel_mean``/``channel_std`` (set by the sequence datasets from the
training split) standardise them inside the model; ``mask_value`` makes the recurrent layers skip padded or
missing timesteps. With ``cell="lstm", layers=2, units=32`` it is the 2-layer LSTM of
guillaume-chevalier/LSTM-Human-Activity-Recognition.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, model_validator

from keraslab.models._blocks import ClassifierParams, compile_classifier, regularizer

if TYPE_CHECKING:
    import keras

Cell = Literal["simple", "lstm", "gru"]


class Params(ClassifierParams):
    input_shape: tuple[int, ...] = Field((128, 9), description="(timesteps, channels)")
    num_classes: int = Field(6, ge=2)
    cell: Cell = "lstm"
    layers: int = Field(2, ge=1, le=6, description="stacked recurrent layers")
    units: int | list[int] = Field(64, description="one width for every recurrent layer, or one per layer")
    bidirectional: bool = False
    dropout: float = Field(0.2, ge=0.0, lt=1.0, description="on the inputs of each recurrent and head layer")
    recurrent_dropout: float = Field(0.0, ge=0.0, lt=1.0, description="on the recurrent state")
    layer_norm: bool = Field(False, description="LayerNormalization after each recurrent layer")
    conv_filters: list[int] = Field([], description="Conv1D front end: one Conv1D-ReLU-pool per width ([]: none)")
    conv_kernel_size: int = Field(5, ge=1, le=15)
    conv_pool_size: int = Field(2, ge=1, le=4, description="max pooling after each Conv1D (1: none)")
    dense_units: list[int] = Field([], description="hidden ReLU layers of the head")
    mask_value: float | None = Field(None, description="timesteps with every channel equal to this are skipped")
    channel_mean: list[float] | None = Field(None, description="per-channel mean for standardisation")
    channel_std: list[float] | None = Field(None, description="per-channel standard deviation (> 0)")

    @model_validator(mode="after")
    def _consistent(self) -> Params:
        if len(self.input_shape) != 2 or min(self.input_shape) < 1:
            raise ValueError(f"input_shape must be (timesteps, channels), got {self.input_shape}")
        widths = self.units if isinstance(self.units, list) else [self.units]
        if isinstance(self.units, list) and len(self.units) != self.layers:
            raise ValueError(f"units has {len(self.units)} widths but layers = {self.layers}")
        if any(w < 1 for w in [*widths, *self.conv_filters, *self.dense_units]):
            raise ValueError("units, conv_filters and dense_units must be positive")
        if (self.channel_mean is None) != (self.channel_std is None):
            raise ValueError("channel_mean and channel_std go together")
        channels = self.input_shape[1]
        for name in ("channel_mean", "channel_std"):
            stats = getattr(self, name)
            if stats is not None and len(stats) != channels:
                raise ValueError(f"{name} has {len(stats)} values but the input has {channels} channels")
        if self.channel_std is not None and min(self.channel_std) <= 0:
            raise ValueError("channel_std must be > 0")
        if self.mask_value is not None and self.conv_filters:
            raise ValueError("masking (mask_value) cannot pass a Conv1D front end: set conv_filters = []")
        if self.input_shape[0] < self.conv_pool_size ** len(self.conv_filters):
            raise ValueError(f"{self.input_shape[0]} timesteps are too few for {len(self.conv_filters)} poolings")
        return self


def recurrent_widths(params: Mapping[str, Any]) -> list[int]:
    units = params["units"]
    return list(units) if isinstance(units, list) else [units] * params["layers"]


def build(params: Mapping[str, Any]) -> keras.Model:
    """Build and compile the recurrent classifier described by ``params`` (a plain mapping of ``Params`` fields)."""
    import keras

    reg = regularizer(params)
    inputs = keras.Input(shape=tuple(params["input_shape"]), name="signals")
    x = inputs
    if params["mask_value"] is not None:
        x = keras.layers.Masking(mask_value=params["mask_value"])(x)
    if params["channel_mean"] is not None:
        variance = [s * s for s in params["channel_std"]]
        x = keras.layers.Normalization(axis=-1, mean=params["channel_mean"], variance=variance, name="standardize")(x)
    for filters in params["conv_filters"]:
        x = keras.layers.Conv1D(
            filters, params["conv_kernel_size"], padding="same", activation="relu", kernel_regularizer=reg
        )(x)
        if params["conv_pool_size"] > 1:
            x = keras.layers.MaxPooling1D(params["conv_pool_size"])(x)
    cell = {"simple": keras.layers.SimpleRNN, "lstm": keras.layers.LSTM, "gru": keras.layers.GRU}[params["cell"]]
    widths = recurrent_widths(params)
    for i, width in enumerate(widths):
        layer = cell(
            width,
            return_sequences=i < len(widths) - 1,
            dropout=params["dropout"],
            recurrent_dropout=params["recurrent_dropout"],
            kernel_regularizer=reg,
        )
        x = (keras.layers.Bidirectional(layer) if params["bidirectional"] else layer)(x)
        if params["layer_norm"]:
            x = keras.layers.LayerNormalization()(x)
    for units in params["dense_units"]:
        if params["dropout"]:
            x = keras.layers.Dropout(params["dropout"])(x)
        x = keras.layers.Dense(units, activation="relu", kernel_regularizer=reg)(x)
    if params["dropout"]:
        x = keras.layers.Dropout(params["dropout"])(x)
    outputs = keras.layers.Dense(params["num_classes"], activation="softmax", name="probabilities")(x)
    return compile_classifier(keras.Model(inputs, outputs, name=f"rnn_{params['cell']}"), params)
