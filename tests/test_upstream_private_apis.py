"""Every private upstream API keraslab leans on, checked directly: if an upgrade moves one, this fails loudly
(naming the workaround and its upstream issue) instead of a run leaking memory or miscounting in silence."""

from __future__ import annotations


def test_tensorflow_gradient_registry_is_where_released_custom_gradients_looks() -> None:
    """tuning.tuners.released_custom_gradients drops CustomGradient-N entries (tensorflow/tensorflow#97697)."""
    import tensorflow as tf
    from tensorflow.python.framework import ops

    from keraslab.tuning.tuners import released_custom_gradients

    registry = ops._gradient_registry._registry
    assert isinstance(registry, dict)

    @tf.custom_gradient
    def double(x: tf.Tensor) -> tuple[tf.Tensor, object]:
        return 2 * x, lambda upstream: 2 * upstream

    with released_custom_gradients():
        before = {name for name in registry if name.startswith("CustomGradient-")}
        tf.function(lambda x: double(x))(tf.constant(1.0))
        added = {name for name in registry if name.startswith("CustomGradient-")} - before
    assert added, "tracing a tf.custom_gradient no longer registers CustomGradient-N: revisit the workaround"
    assert not added & set(registry)


def test_keras_tuner_hyperband_schedule_helpers_still_exist() -> None:
    """tuning.tuners.planned_trials counts Hyperband's trials with its oracle's private helpers (keras-tuner#171)."""
    import keras_tuner

    oracle = keras_tuner.oracles.HyperbandOracle(objective="val_loss", max_epochs=9, factor=3)
    sizes = [
        oracle._get_size(bracket, round_num)
        for bracket in range(oracle._get_num_brackets())
        for round_num in range(oracle._get_num_rounds(bracket))
    ]
    assert sizes and all(isinstance(n, int) and n > 0 for n in sizes)


def test_mlflow_packages_map_warm_up_still_exists() -> None:
    """tracking.runs.open_store warms MLflow's installed-packages map (mlflow/mlflow#4518) while data loads."""
    from mlflow.utils import requirements_utils

    assert callable(requirements_utils._init_packages_to_modules_map)


def test_keras_private_model_methods_of_the_multiworker_loop_still_exist() -> None:
    """training.distributed builds and reads metrics like fit does (its custom loop exists for keras#20585)."""
    import keras

    assert callable(keras.Model._symbolic_build)
    assert callable(keras.Model._get_metrics_result_or_logs)


def test_keras_initial_epoch_attribute_still_steers_fit() -> None:
    """training.backup resumes like BackupAndRestore does, by setting the model's ``_initial_epoch`` in
    ``on_train_begin`` (a private attribute fit reads): if Keras renames it, a resumed run would start over."""
    import keras
    import numpy as np

    seen = []

    class Skip(keras.callbacks.Callback):
        def on_train_begin(self, logs: dict | None = None) -> None:
            self.model._initial_epoch = 2

        def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
            seen.append(epoch)

    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(np.zeros((4, 1)), np.zeros((4, 1)), epochs=4, verbose=0, callbacks=[Skip()])
    assert seen == [2, 3]
