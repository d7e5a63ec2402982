"""The MNIST scorer: a spine CNN (``models.build("cnn", …)``) whose softmax gives the MNIST "Inception Score" and
whose penultimate layer gives the features of the Fréchet distance (FID with our CNN in Inception's place)."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np

from keraslab.gan.metrics import features_fd, inception_score

#: A small, quick CNN (≈ 98–99 % test accuracy on MNIST after one epoch).
SCORER_PARAMS: dict[str, Any] = {
    "blocks": 2,
    "filters": [16, 32],
    "convs_per_block": 1,
    "batch_norm": False,
    "block_dropout": 0.0,
    "dense_units": [64],
    "dropout": 0.25,
}


def train_scorer(x: np.ndarray, y: np.ndarray, num_classes: int, epochs: int = 1) -> keras.Model:
    """Fit the scorer CNN on uint8 images ``x`` with labels ``y``. Its initial weights come from the run's random
    stream (seeded once when the run starts); it never reseeds the global generators mid-run."""
    from keraslab import models

    scorer = models.build("cnn", {**SCORER_PARAMS, "input_shape": x.shape[1:], "num_classes": num_classes})
    scorer.fit(x.astype(np.float32) / 255.0, y, batch_size=128, epochs=epochs, verbose=0)
    return scorer


def probe(scorer: keras.Model) -> keras.Model:
    """The scorer with two outputs: softmax probabilities and penultimate activations."""
    return keras.Model(scorer.inputs, [scorer.outputs[0], scorer.get_layer("probabilities").input])


def scores(scorer: keras.Model, generated: np.ndarray, real: np.ndarray) -> dict[str, float]:
    """``mnist_is`` of ``generated`` and ``fid`` of ``generated`` against ``real`` (uint8 images)."""
    both = probe(scorer)
    probabilities, features = both.predict(generated.astype(np.float32) / 255.0, batch_size=256, verbose=0)
    _, real_features = both.predict(real.astype(np.float32) / 255.0, batch_size=256, verbose=0)
    return {"mnist_is": inception_score(probabilities), "fid": features_fd(features, real_features)}
