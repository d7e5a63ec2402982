"""The rnn builder: every cell type trains on tiny synthetic sequences; masking, validation errors."""

from __future__ import annotations

import numpy as np
import pytest

from keraslab.config import ConfigError, validate
from keraslab.models import build
from keraslab.models.rnn import Params


def synthetic_sequences(n: int, steps: int = 12, channels: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Class k is a sine wave of frequency k + 1 in channel 0 plus noise (offset 5, scale 2: raw readings)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, size=n)
    t = np.linspace(0, 2 * np.pi, steps)
    x = rng.normal(0, 0.3, size=(n, steps, channels))
    x[:, :, 0] += np.sin(np.outer(y + 1, t))
    return (5 + 2 * x).astype(np.float32), y.astype(np.int64)


BASE = {"input_shape": (12, 3), "num_classes": 2, "units": 8, "channel_mean": [5.0] * 3, "channel_std": [2.0] * 3}


@pytest.mark.parametrize(
    "variant",
    [
        {"cell": "simple", "layers": 1},
        {"cell": "lstm", "layers": 2, "bidirectional": True, "layer_norm": True, "recurrent_dropout": 0.1},
        {"cell": "gru", "layers": 1, "conv_filters": [8], "conv_kernel_size": 3, "dense_units": [8]},
    ],
    ids=["simple", "bilstm-layernorm", "cnn-gru"],
)
def test_each_cell_type_builds_and_trains_an_epoch(variant: dict) -> None:
    x, y = synthetic_sequences(32)
    model = build("rnn", {**BASE, **variant, "learning_rate": 0.01})
    model.jit_compile = False  # XLA doubles the compile time of recurrent layers on CPU; not what is tested here
    layer_types = {type(layer).__name__ for layer in model.layers}
    assert {"simple": "SimpleRNN", "lstm": "Bidirectional", "gru": "GRU"}[variant["cell"]] in layer_types
    assert ("Conv1D" in layer_types) == bool(variant.get("conv_filters"))
    assert ("LayerNormalization" in layer_types) == variant.get("layer_norm", False)
    before = model.evaluate(x, y, verbose=0, return_dict=True)["loss"]
    history = model.fit(x, y, epochs=1, batch_size=8, verbose=0).history
    assert np.isfinite(history["loss"][0])
    assert model.evaluate(x, y, verbose=0, return_dict=True)["loss"] < before
    assert model.output_shape == (None, 2)


def test_standardisation_is_inside_the_model() -> None:
    model = build("rnn", {**BASE, "cell": "gru", "layers": 1})
    normalized = model.get_layer("standardize")(np.full((1, 12, 3), 7.0, np.float32))
    np.testing.assert_allclose(np.asarray(normalized), 1.0, rtol=1e-5)  # (7 - 5) / 2


def test_masked_timesteps_are_skipped() -> None:
    params = {**BASE, "cell": "lstm", "layers": 2, "mask_value": -1e9, "dropout": 0.0}
    model = build("rnn", params)
    short = build("rnn", {**params, "input_shape": (8, 3)})
    short.set_weights(model.get_weights())
    x, _ = synthetic_sequences(2)
    padded = x.copy()
    padded[:, 8:] = -1e9  # a recording of 8 readings, padded to the model's 12
    expected = short.predict(x[:, :8], verbose=0)
    np.testing.assert_allclose(model.predict(padded, verbose=0), expected, rtol=1e-5, atol=1e-6)
    assert not np.allclose(model.predict(x, verbose=0), expected, atol=1e-4)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"input_shape": (12,)}, "input_shape must be"),
        ({"units": [8, 8]}, "units has 2 widths but layers = 1"),
        ({"channel_mean": [0.0, 0.0]}, "channel_mean has 2 values but the input has 3 channels"),
        ({"mask_value": 0.0, "conv_filters": [4]}, "cannot pass a Conv1D front end"),
        ({"cell": "transformer"}, "cell"),
        ({"features": "inertial"}, r"features = 'inertial' needs the 6 channels \['acc_x'"),
        (
            {"input_shape": (12, 6), "features": "inertial", "channel_mean": [0.0] * 6, "channel_std": [1.0] * 6},
            "channel_mean has 6 values but the inertial features have 14 channels",
        ),
    ],
)
def test_bad_params_are_named(params: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        validate(Params, {**BASE, "layers": 1, **params}, "test")


def test_inertial_cnn_bigru_with_statistics_branch_and_label_smoothing_trains() -> None:
    x, y = synthetic_sequences(32, steps=16, channels=6)
    params = {
        **BASE,
        "input_shape": (16, 6),
        "channel_mean": [0.0] * 14,
        "channel_std": [1.0] * 14,
        "features": "inertial",
        "cell": "gru",
        "layers": 1,
        "bidirectional": True,
        "conv_filters": [8, 8],
        "conv_batch_norm": True,
        "conv_dropout": 0.1,
        "head_dropout": 0.3,
        "stats_branch": 4,
        "label_smoothing": 0.1,
        "clipnorm": 1.0,
        "learning_rate": 0.01,
    }
    model = build("rnn", validate(Params, params, "test").model_dump())
    model.jit_compile = False
    layer_types = {type(layer).__name__ for layer in model.layers}
    assert {"InertialFeatures", "WindowStats", "BatchNormalization", "Bidirectional"} <= layer_types
    assert model.optimizer.clipnorm == 1.0
    loss = float(model.loss(np.array([0]), np.array([[0.9, 0.1]], np.float32)))
    assert loss == pytest.approx(-(0.95 * np.log(0.9) + 0.05 * np.log(0.1)), rel=1e-4)  # targets 0.95 / 0.05
    before = model.evaluate(x, y, verbose=0, return_dict=True)["loss"]
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    assert model.evaluate(x, y, verbose=0, return_dict=True)["loss"] < before
