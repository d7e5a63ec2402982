"""How good are generated images: Fréchet distance, an MNIST "Inception Score", and pooled-pixel features.

``frechet_distance`` compares two Gaussians fitted to features (Heusel et al. 2017's FID when the features are
Inception's; here a scorer CNN's penultimate layer, or average-pooled pixels). ``FrechetDistance`` is the same
number as a Keras metric, accumulated over batches (so ``fit`` can report it on the validation data).
``inception_score`` = exp(E_x KL(p(y|x) || p(y))): high when each sample is confidently one class and the
classes are spread; at most the number of classes.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
import tensorflow as tf


def frechet_distance(mu1: Any, cov1: Any, mu2: Any, cov2: Any) -> tf.Tensor:
    """‖μ1 − μ2‖² + tr(Σ1 + Σ2 − 2 (Σ1^½ Σ2 Σ1^½)^½), in float64 (symmetric square roots via eigh)."""
    mu1, cov1, mu2, cov2 = (tf.cast(v, tf.float64) for v in (mu1, cov1, mu2, cov2))
    root1 = _sqrtm(cov1)
    cross = tf.linalg.eigvalsh(root1 @ cov2 @ root1)
    trace_sqrt = tf.reduce_sum(tf.sqrt(tf.maximum(cross, 0.0)))
    return tf.reduce_sum(tf.square(mu1 - mu2)) + tf.linalg.trace(cov1) + tf.linalg.trace(cov2) - 2.0 * trace_sqrt


def _sqrtm(matrix: tf.Tensor) -> tf.Tensor:
    values, vectors = tf.linalg.eigh(matrix)
    return (vectors * tf.sqrt(tf.maximum(values, 0.0))) @ tf.transpose(vectors)


def moments(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and (unbiased) covariance of N×D features."""
    features = np.asarray(features, np.float64).reshape(len(features), -1)
    return features.mean(axis=0), np.cov(features, rowvar=False)


def features_fd(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance between two sets of N×D features."""
    return float(frechet_distance(*moments(a), *moments(b)))


def inception_score(probabilities: np.ndarray, eps: float = 1e-12) -> float:
    """exp(mean KL(p(y|x) ‖ p(y))) of N×C class probabilities."""
    p = np.asarray(probabilities, np.float64)
    marginal = p.mean(axis=0, keepdims=True)
    return float(np.exp(np.mean(np.sum(p * (np.log(p + eps) - np.log(marginal + eps)), axis=1))))


def pooled_pixels(images: tf.Tensor, grid: int) -> tf.Tensor:
    """Images average-pooled to ``grid``×``grid`` (all channels), flattened: cheap features for a Fréchet distance."""
    pooled = tf.image.resize(tf.cast(images, tf.float32), (grid, grid), method="area")
    return tf.reshape(pooled, (tf.shape(pooled)[0], -1))


class FrechetDistance(keras.metrics.Metric):
    """Fréchet distance between a *real* and a *generated* feature stream, from running sums (strategy-safe)."""

    def __init__(self, dim: int, name: str = "fd", **kwargs: Any) -> None:
        super().__init__(name=name, **kwargs)
        self.dim = dim
        zeros = keras.initializers.Zeros()
        self.sums = self.add_weight(name="sums", shape=(2, dim), initializer=zeros, dtype="float64")
        self.outer = self.add_weight(name="outer", shape=(2, dim, dim), initializer=zeros, dtype="float64")
        self.count = self.add_weight(name="count", shape=(2,), initializer=zeros, dtype="float64")

    def update_state(self, real: tf.Tensor, generated: tf.Tensor, sample_weight: Any = None) -> None:
        stacked = [tf.cast(real, tf.float64), tf.cast(generated, tf.float64)]
        self.sums.assign_add(tf.stack([tf.reduce_sum(f, axis=0) for f in stacked]))
        self.outer.assign_add(tf.stack([tf.transpose(f) @ f for f in stacked]))
        self.count.assign_add(tf.stack([tf.cast(tf.shape(f)[0], tf.float64) for f in stacked]))

    def result(self) -> tf.Tensor:
        n = tf.maximum(self.count, 2.0)
        mean = self.sums / n[:, None]
        cov = (self.outer - n[:, None, None] * mean[:, :, None] * mean[:, None, :]) / (n[:, None, None] - 1.0)
        return tf.cast(frechet_distance(mean[0], cov[0], mean[1], cov[1]), tf.float32)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "dim": self.dim}
