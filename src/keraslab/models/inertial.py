"""Fixed (untrained) layers for inertial windows, so a model takes a phone's raw readings.

``InertialFeatures`` turns a window of 6 raw channels ``acc_x, acc_y, acc_z`` (g) and ``gyro_x, gyro_y, gyro_z``
(rad/s) into 14: total acceleration, body acceleration (total minus gravity, gravity being the window's mean
acceleration), angular velocity, the unit vector of gravity (the phone's orientation), and the magnitudes of body
acceleration and of angular velocity. ``WindowStats`` summarises a window by each channel's mean and standard
deviation over time. Both are registered, so a saved model loads once this module is imported.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import ops

EPSILON = 1e-6
#: acc (3), body acc (3), gyro (3), gravity direction (3), |body acc|, |gyro|: ``rnn.FEATURE_CHANNELS`` names them
OUTPUT_CHANNELS = 14


def _norm(x: Any) -> Any:
    return ops.sqrt(ops.sum(x * x, axis=-1, keepdims=True) + EPSILON)


@keras.saving.register_keras_serializable("keraslab")
class InertialFeatures(keras.layers.Layer):
    """``(B, T, 6)`` raw accelerometer + gyroscope -> ``(B, T, 14)`` (``rnn.FEATURE_CHANNELS``)."""

    def call(self, x: Any) -> Any:
        acc, gyro = x[..., :3], x[..., 3:]
        gravity = ops.mean(acc, axis=1, keepdims=True) + ops.zeros_like(acc)
        body = acc - gravity
        return ops.concatenate([acc, body, gyro, gravity / _norm(gravity), _norm(body), _norm(gyro)], axis=-1)

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        return (*input_shape[:-1], OUTPUT_CHANNELS)


@keras.saving.register_keras_serializable("keraslab")
class WindowStats(keras.layers.Layer):
    """``(B, T, C)`` -> ``(B, 2C)``: each channel's mean, then its standard deviation, over time."""

    def call(self, x: Any) -> Any:
        mean = ops.mean(x, axis=1)
        variance = ops.mean(ops.square(x - ops.expand_dims(mean, 1)), axis=1)
        return ops.concatenate([mean, ops.sqrt(variance + EPSILON)], axis=-1)

    def compute_output_shape(self, input_shape: tuple[int | None, ...]) -> tuple[int | None, ...]:
        return (input_shape[0], 2 * input_shape[-1])


def inertial_features(x: np.ndarray, batch: int = 4096) -> np.ndarray:
    """``InertialFeatures`` of ``(N, T, 6)`` windows as a float32 numpy array (for statistics of the training set)."""
    layer = InertialFeatures()
    return np.concatenate([np.asarray(layer(x[i : i + batch])) for i in range(0, len(x), batch)])


def random_rotations(n: int, max_degrees: float, seed: Any = None) -> Any:
    """``(n, 3, 3)`` rotations ``Rz @ Ry @ Rx``, each angle uniform in ±``max_degrees`` (a TensorFlow tensor)."""
    import tensorflow as tf

    angles = tf.random.uniform((n, 3), -1.0, 1.0, seed=seed) * (max_degrees * np.pi / 180.0)
    c, s = tf.cos(angles), tf.sin(angles)
    one, zero = tf.ones_like(c[:, 0]), tf.zeros_like(c[:, 0])

    def matrix(rows: list[Any]) -> Any:
        return tf.reshape(tf.stack(rows, axis=1), (-1, 3, 3))

    rx = matrix([one, zero, zero, zero, c[:, 0], -s[:, 0], zero, s[:, 0], c[:, 0]])
    ry = matrix([c[:, 1], zero, s[:, 1], zero, one, zero, -s[:, 1], zero, c[:, 1]])
    rz = matrix([c[:, 2], -s[:, 2], zero, s[:, 2], c[:, 2], zero, zero, zero, one])
    return rz @ ry @ rx


def rotate(x: Any, max_degrees: float) -> Any:
    """Windows ``(B, T, 6)`` with acc and gyro turned together by one random rotation per window (augmentation)."""
    import tensorflow as tf

    rotation = random_rotations(tf.shape(x)[0], max_degrees)
    turned = [tf.einsum("bij,btj->bti", rotation, x[..., k : k + 3]) for k in (0, 3)]
    return tf.concat(turned, axis=-1)
