"""Builders: shapes, parameter counts, and every option builds."""

from __future__ import annotations

import numpy as np
import pytest

from keraslab import models

KERAS_IO_CONVNET = {
    "blocks": 2,
    "filters": [32, 64],
    "convs_per_block": 1,
    "padding": "valid",
    "batch_norm": False,
    "block_dropout": 0.0,
    "dense_units": [],
    "dropout": 0.5,
}


def test_cnn_reproduces_keras_io_mnist_convnet_exactly() -> None:
    model = models.build("cnn", KERAS_IO_CONVNET)
    assert model.count_params() == 34_826  # keras-io examples/vision/mnist_convnet.py
    assert [layer.__class__.__name__ for layer in model.layers] == [
        "InputLayer", "Conv2D", "MaxPooling2D", "Conv2D", "MaxPooling2D", "Flatten", "Dropout", "Dense",
    ]  # fmt: skip


def test_mlp_parameter_count_and_output() -> None:
    model = models.build("mlp", {"hidden_layers": 2, "units": [64, 32], "dropout": 0.0})
    assert model.count_params() == (784 * 64 + 64) + (64 * 32 + 32) + (32 * 10 + 10)
    probs = model.predict(np.zeros((3, 28, 28, 1), np.float32), verbose=0)
    assert probs.shape == (3, 10)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize("optimizer", ["sgd", "sgd_momentum", "rmsprop", "adam"])
def test_optimizers_use_course_defaults(optimizer: str) -> None:
    model = models.build("mlp", {"hidden_layers": 1, "units": 8, "optimizer": optimizer})
    expected_lr = {"sgd": 0.01, "sgd_momentum": 0.01, "rmsprop": 0.001, "adam": 0.001}[optimizer]
    assert float(model.optimizer.learning_rate) == pytest.approx(expected_lr)
    if optimizer == "sgd_momentum":
        assert model.optimizer.momentum == pytest.approx(0.9)


def test_every_mlp_option_builds_and_trains_a_step() -> None:
    params = {
        **{"hidden_layers": 2, "units": 16, "activation": "leaky_relu", "dropout": 0.3, "batch_norm": True},
        **{"l1": 1e-5, "l2": 1e-4, "initializer": "he_normal", "optimizer": "rmsprop", "learning_rate": 0.01},
    }
    model = models.build("mlp", params)
    assert any(layer.__class__.__name__ == "BatchNormalization" for layer in model.layers)
    assert len(model.losses) == 2  # one L1L2 penalty per hidden Dense layer
    history = model.fit(np.random.rand(32, 28, 28, 1), np.arange(32) % 10, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])


def test_cnn_base_filters_double_per_block_and_avg_pool_stride() -> None:
    model = models.build(
        "cnn", {"blocks": 3, "filters": 8, "pooling": "avg", "strides": 1, "dense_units": [16], "batch_norm": False}
    )
    convs = [layer for layer in model.layers if layer.__class__.__name__ == "Conv2D"]
    assert [c.filters for c in convs] == [8, 8, 16, 16, 32, 32]
    assert any(layer.__class__.__name__ == "AveragePooling2D" for layer in model.layers)
    assert model.output_shape == (None, 10)


def test_builder_rejects_bad_params_with_names() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="filters has 1 widths but blocks = 2"):
        models.build("cnn", {"filters": [32]})


def test_inertial_features_name_every_channel_they_make() -> None:
    from keraslab.models.inertial import OUTPUT_CHANNELS
    from keraslab.models.rnn import FEATURE_CHANNELS

    assert len(FEATURE_CHANNELS) == OUTPUT_CHANNELS
