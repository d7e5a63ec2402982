"""Arrays -> tf.data: shuffle, batch with the global batch size, scale to [0, 1], prefetch."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import tensorflow as tf


def make_dataset(
    x: np.ndarray,
    y: np.ndarray,
    global_batch_size: int,
    *,
    shuffle: bool = False,
    seed: int | None = None,
) -> tf.data.Dataset:
    """A batched pipeline over in-memory ``(x, y)``; uint8 inputs are scaled to float32 in [0, 1].

    Like Keras's own array adapter it shuffles *indices* (the whole split, anew each epoch) and gathers
    whole batches, so the per-example work is vectorised; scaling happens per batch, after the gather.
    """
    import tensorflow as tf

    features, labels = tf.constant(x), tf.constant(y)
    indices = tf.data.Dataset.range(len(x))
    if shuffle:
        indices = indices.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)

    def gather(batch: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        xb = tf.gather(features, batch)
        return (tf.cast(xb, tf.float32) / 255.0 if x.dtype == np.uint8 else xb), tf.gather(labels, batch)

    ds = indices.batch(global_batch_size).map(gather, num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)
