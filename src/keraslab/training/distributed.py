"""The training loop for strategies under which Keras 3 ``fit`` fails (MultiWorkerMirroredStrategy,
keras-team/keras#20585): ``strategy.run`` over ``distribute_datasets_from_function``.

It is ``fit`` with the model's own pieces: each step is the compiled model's ``train_step``/``test_step`` (its
loss, metrics, optimizer and loss scaling), and the Keras callbacks the trainer built are driven through a
``CallbackList`` exactly as ``fit`` drives them, so early stopping, NaN stop, learning-rate reduction, the best
checkpoint and MLflow logging behave as they do there. Keras's ``BackupAndRestore`` is the one callback replaced:
every worker saves a ``tf.train.Checkpoint`` each epoch (a collective), the chief into ``backup_dir`` and the
others into scratch directories, as TensorFlow's multi-worker guide prescribes; a restarted cluster restores the
chief's latest checkpoint and continues at the next epoch.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import keras
    import tensorflow as tf

#: ``per_replica_batch -> (train, validation or None)``: the task's pipelines batched for one replica.
DatasetsFn = Callable[[int], "tuple[tf.data.Dataset, tf.data.Dataset | None]"]


def fit(
    model: keras.Model,
    strategy: tf.distribute.Strategy,
    datasets: DatasetsFn,
    *,
    global_batch: int,
    epochs: int,
    callbacks: list[keras.callbacks.Callback],
    backup_dir: Path,
    is_chief: bool = True,
    verbose: int = 2,
) -> dict[str, list[float]]:
    """Train ``model`` (built in ``strategy.scope()``) for ``epochs`` and return its Keras-style history."""
    import keras

    def shard(ctx: tf.distribute.InputContext, index: int) -> tf.data.Dataset:
        ds = datasets(ctx.get_per_replica_batch_size(global_batch))[index]
        return ds.shard(ctx.num_input_pipelines, ctx.input_pipeline_id) if ctx.num_input_pipelines > 1 else ds

    train_ds, val_ds = datasets(global_batch // strategy.num_replicas_in_sync)
    # Private Keras API, as fit itself builds (this loop exists because of keras-team/keras#20585);
    # tests/test_upstream_private_apis.py fails loudly if it moves.
    with strategy.scope():  # the variables of model, metrics and optimizer, as fit creates them
        model._symbolic_build(data_batch=train_ds.element_spec)
    dist_train = strategy.distribute_datasets_from_function(lambda ctx: shard(ctx, 0))
    dist_val = strategy.distribute_datasets_from_function(lambda ctx: shard(ctx, 1)) if val_ds is not None else None

    train_step = step_function(model, strategy, model.train_step)
    test_step = step_function(model, strategy, model.test_step)
    backup = Backup(model, backup_dir, is_chief)
    callback_list = keras.callbacks.CallbackList(
        [c for c in callbacks if not isinstance(c, keras.callbacks.BackupAndRestore)],
        add_history=True,
        add_progbar=verbose != 0,
        verbose=verbose,
        epochs=epochs,
        steps=None,
        model=model,
    )
    model.stop_training = False
    callback_list.on_train_begin()
    logs: dict[str, float] = {}
    epoch_logs: dict[str, float] | None = None
    for epoch in range(backup.restore(), epochs):
        model.reset_metrics()
        callback_list.on_epoch_begin(epoch)
        for step, batch in enumerate(dist_train):
            callback_list.on_train_batch_begin(step)
            logs = train_step(batch)
            callback_list.on_train_batch_end(step, logs)
            if model.stop_training:
                break
        epoch_logs = dict(model._get_metrics_result_or_logs(logs))
        if dist_val is not None:
            epoch_logs.update({f"val_{k}": v for k, v in evaluate(model, dist_val, test_step).items()})
        backup.save(epoch)
        callback_list.on_epoch_end(epoch, epoch_logs)
        if model.stop_training:
            break
    callback_list.on_train_end(logs=epoch_logs)
    backup.finish()
    return model.history.history


def local_copy(model: keras.Model, build: Callable[[], keras.Model]) -> keras.Model:
    """The trained weights in a model built by ``build`` outside the strategy, for evaluation and logging on
    this process alone (``predict``/``evaluate`` under a multi-worker strategy would need every worker)."""
    copy = build()
    copy.optimizer.build(copy.trainable_variables)  # so best weights saved with optimizer state load whole
    copy.set_weights(model.get_weights())
    return copy


def step_function(
    model: keras.Model, strategy: tf.distribute.Strategy, step: Callable
) -> Callable[[object], dict[str, tf.Tensor]]:
    """``step`` on every replica in one ``tf.function``, its logs taken from the first (they are synced)."""
    import tensorflow as tf

    @tf.function(jit_compile=bool(model.jit_compile), reduce_retracing=True)
    def run(batch: object) -> dict[str, tf.Tensor]:
        outputs = strategy.run(step, args=(batch,))
        return tf.nest.map_structure(lambda v: strategy.experimental_local_results(v)[0], outputs)

    return run


def evaluate(model: keras.Model, dist_ds: tf.distribute.DistributedDataset, test_step: Callable) -> dict[str, float]:
    """The model's compiled metrics over a distributed dataset, as ``model.evaluate`` computes them."""
    model.reset_metrics()
    logs: dict[str, float] = {}
    for batch in dist_ds:
        logs = test_step(batch)
    return dict(model._get_metrics_result_or_logs(logs))


class Backup:
    """Per-epoch ``tf.train.Checkpoint`` of model, optimizer and epoch: the chief writes to ``directory``,
    the other workers to scratch directories (saving is collective: every worker must save)."""

    def __init__(self, model: keras.Model, directory: Path, is_chief: bool) -> None:
        import tensorflow as tf

        self.directory, self.is_chief = directory, is_chief
        self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False)
        self.checkpoint = tf.train.Checkpoint(model=model, optimizer=model.optimizer, epoch=self.epoch)
        write_dir = directory if is_chief else Path(tempfile.mkdtemp(prefix="keraslab-worker-"))
        self.manager = tf.train.CheckpointManager(self.checkpoint, str(write_dir), max_to_keep=1)

    def restore(self) -> int:
        """Restore the chief's latest checkpoint, if any; the epoch to start at."""
        import tensorflow as tf

        if latest := tf.train.latest_checkpoint(str(self.directory)):
            self.checkpoint.restore(latest).expect_partial()
        return int(self.epoch.numpy())

    def save(self, epoch: int) -> None:
        self.epoch.assign(epoch + 1)
        self.manager.save()

    def finish(self) -> None:
        """Training ended: the backup is no longer needed (as ``BackupAndRestore(delete_checkpoint=True)``)."""
        shutil.rmtree(self.directory if self.is_chief else self.manager.directory, ignore_errors=True)
