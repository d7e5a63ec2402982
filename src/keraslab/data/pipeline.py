"""Arrays -> tf.data: scale to [0, 1], cache, shuffle, batch with the global batch size, prefetch."""

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
    shuffle_buffer: int = 0,
    cache: bool = True,
    seed: int | None = None,
) -> tf.data.Dataset:
    """A batched pipeline over ``(x, y)``; uint8 inputs are scaled to float32 in [0, 1].

    Shuffling (when ``shuffle_buffer`` > 0) happens after the cache, so every epoch sees a new order.
    """
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices((x, y))
    if x.dtype == np.uint8:
        ds = ds.map(lambda a, b: (tf.cast(a, tf.float32) / 255.0, b), num_parallel_calls=tf.data.AUTOTUNE)
    if cache:
        ds = ds.cache()
    if shuffle_buffer:
        ds = ds.shuffle(min(shuffle_buffer, len(x)), seed=seed, reshuffle_each_iteration=True)
    return ds.batch(global_batch_size).prefetch(tf.data.AUTOTUNE)
