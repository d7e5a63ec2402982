"""Loss reduction under a distribution strategy, shared by the GANs' ``train_step``s."""

from __future__ import annotations

import tensorflow as tf


def replica_mean(values: tf.Tensor) -> tf.Tensor:
    """The mean over this replica's batch divided by the replicas: summed across replicas, the global mean."""
    return tf.reduce_mean(values) / tf.distribute.get_strategy().num_replicas_in_sync
