"""Recurrent sequence classifier: (Masking) -> (inertial features) -> (Normalization) -> (Conv1D front end) -> N ×
recurrent layer [SimpleRNN | LSTM | GRU, optionally bidirectional, then optionally LayerNormalization] -> (+ window
statistics branch) -> dense head -> softmax.

The input is ``(T, C)`` raw readings. ``channel_mean``/``channel_std`` (set by the sequence datasets from the
training split) standardise them inside the model; ``mask_value`` makes the recurrent layers skip padded or
missing timesteps. With ``cell="lstm", layers=2, units=32`` it is the 2-layer LSTM of
guillaume-chevalier/LSTM-Human-Activity-Recognition.

``features="inertial"`` (6 raw channels: acc in g, gyro in rad/s) puts the fixed ``InertialFeatures`` layer first,
so the statistics then describe its 14 channels. With ``conv_filters=[64, 64], conv_batch_norm=True,
cell="gru", layers=1, units=32, bidirectional=True, stats_branch=32`` it is the CNN-BiGRU of the hapt recipe
(``activity-rnn --set data.dataset=hapt``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, model_validator

from keraslab.models._blocks import ClassifierParams, compile_classifier, make_optimizer, regularizer

#: The input of ``features="inertial"`` (g, rad/s) and what ``keraslab.models.inertial.InertialFeatures`` makes of it.
RAW_CHANNELS = ["acc_x", "acc_y", "acc_z", "gyro_x", "gyro_y", "gyro_z"]
FEATURE_CHANNELS = [
    *(f"{kind}_{axis}" for kind in ("acc", "body_acc", "gyro", "gravity_dir") for axis in "xyz"),
    "body_acc_norm",
    "gyro_norm",
]

if TYPE_CHECKING:
    import keras

Cell = Literal["simple", "lstm", "gru"]
Features = Literal["raw", "inertial"]


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
    conv_batch_norm: bool = Field(False, description="Conv1D (no bias) -> BatchNormalization -> ReLU")
    conv_dropout: float = Field(0.0, ge=0.0, lt=1.0, description="dropout after the Conv1D front end")
    features: Features = Field(
        "raw", description="inertial: fixed gravity/body/orientation/magnitude features of 6 acc+gyro channels"
    )
    stats_branch: int = Field(
        0, ge=0, description="units of a Dense on each channel's window mean and std, joined before the head (0: none)"
    )
    stats_dropout: float = Field(0.2, ge=0.0, lt=1.0, description="dropout after the statistics branch")
    head_dropout: float | None = Field(None, ge=0.0, lt=1.0, description="dropout before the output (None: dropout)")
    label_smoothing: float = Field(0.0, ge=0.0, lt=1.0)
    clipnorm: float | None = Field(None, gt=0, description="clip each gradient to this norm")
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
        if self.features == "inertial":
            if channels != len(RAW_CHANNELS):
                raise ValueError(f"features = 'inertial' needs the {len(RAW_CHANNELS)} channels {RAW_CHANNELS}")
            channels = len(FEATURE_CHANNELS)
        for name in ("channel_mean", "channel_std"):
            stats = getattr(self, name)
            if stats is not None and len(stats) != channels:
                what = "the input has" if self.features == "raw" else "the inertial features have"
                raise ValueError(f"{name} has {len(stats)} values but {what} {channels} channels")
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

    from keraslab.models.inertial import InertialFeatures, WindowStats

    reg = regularizer(params)
    inputs = keras.Input(shape=tuple(params["input_shape"]), name="signals")
    x = inputs
    if params["mask_value"] is not None:
        x = keras.layers.Masking(mask_value=params["mask_value"])(x)
    if params["features"] == "inertial":
        x = InertialFeatures(name="inertial_features")(x)
    if params["channel_mean"] is not None:
        variance = [s * s for s in params["channel_std"]]
        x = keras.layers.Normalization(axis=-1, mean=params["channel_mean"], variance=variance, name="standardize")(x)
    standardized = x
    x = conv_front_end(x, params, reg)
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
    head_dropout = params["dropout"] if params["head_dropout"] is None else params["head_dropout"]
    if head_dropout:
        x = keras.layers.Dropout(head_dropout)(x)
    if params["stats_branch"]:
        stats = WindowStats(name="window_stats")(standardized)
        stats = keras.layers.Dense(params["stats_branch"], activation="relu", kernel_regularizer=reg)(stats)
        x = keras.layers.Concatenate()([x, keras.layers.Dropout(params["stats_dropout"])(stats)])
    outputs = keras.layers.Dense(params["num_classes"], activation="softmax", name="probabilities")(x)
    model = keras.Model(inputs, outputs, name=f"rnn_{params['cell']}")
    if not params["label_smoothing"] and params["clipnorm"] is None:
        return compile_classifier(model, params)
    optimizer = make_optimizer(params["optimizer"], params["learning_rate"])
    optimizer = type(optimizer).from_config({**optimizer.get_config(), "clipnorm": params["clipnorm"]})
    model.compile(
        optimizer=optimizer, loss=smoothed_sparse_crossentropy(params["label_smoothing"]), metrics=["accuracy"]
    )
    return model


def conv_front_end(x: Any, params: Mapping[str, Any], reg: Any) -> Any:
    """Conv1D [-> BatchNormalization] -> ReLU [-> max pooling] per width of ``conv_filters``, then dropout."""
    import keras

    batch_norm = params["conv_batch_norm"]
    for filters in params["conv_filters"]:
        x = keras.layers.Conv1D(
            filters, params["conv_kernel_size"], padding="same", use_bias=not batch_norm, kernel_regularizer=reg
        )(x)
        if batch_norm:
            x = keras.layers.BatchNormalization()(x)
        x = keras.layers.ReLU()(x)
        if params["conv_pool_size"] > 1:
            x = keras.layers.MaxPooling1D(params["conv_pool_size"])(x)
    if params["conv_filters"] and params["conv_dropout"]:
        x = keras.layers.Dropout(params["conv_dropout"])(x)
    return x


def smoothed_sparse_crossentropy(label_smoothing: float) -> Any:
    """Cross-entropy of softmax outputs against integer labels smoothed towards uniform by ``label_smoothing``."""
    import keras

    class SmoothedSparseCrossentropy(keras.losses.Loss):
        def __init__(self, label_smoothing: float = 0.0, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.label_smoothing = label_smoothing

        def call(self, y_true: Any, y_pred: Any) -> Any:
            classes = keras.ops.shape(y_pred)[-1]
            one_hot = keras.ops.one_hot(keras.ops.cast(keras.ops.reshape(y_true, (-1,)), "int32"), classes)
            return keras.losses.categorical_crossentropy(one_hot, y_pred, label_smoothing=self.label_smoothing)

        def get_config(self) -> dict[str, Any]:
            return {**super().get_config(), "label_smoothing": self.label_smoothing}

    return SmoothedSparseCrossentropy(label_smoothing)
