"""The training loop for strategies under which Keras 3 ``fit`` fails (MultiWorkerMirroredStrategy,
keras-team/keras#20585): ``strategy.run`` over ``distribute_datasets_from_function``.

It is ``fit`` with the model's own pieces: each step is the compiled model's ``train_step``/``test_step`` (its
loss, metrics, optimizer and loss scaling), and the Keras callbacks the trainer built are driven through a
``CallbackList`` exactly as ``fit`` drives them, so early stopping, NaN stop, learning-rate reduction, the best
checkpoint and MLflow logging behave as they do there. The epoch backup (``backup.EpochBackup``) is the one
callback replaced: every worker saves a ``tf.train.Checkpoint`` each epoch (a collective), the chief into
``backup_dir`` and the others into their own scratch folders, as TensorFlow's multi-worker guide prescribes. The
chief then commits the epoch in ``backup_dir/state.json``, as ``EpochBackup`` does; a restarted cluster restores
the committed checkpoint and continues at the next epoch.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import keras

from keraslab.training.backup import BackupState, EpochBackup, finite_logs, read_state, write_state

if TYPE_CHECKING:
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
    scratch: Path | None = None,
    verbose: int = 2,
) -> dict[str, list[float]]:
    """Train ``model`` (built in ``strategy.scope()``) for ``epochs`` and return its Keras-style history.

    The chief passes no ``scratch``; every other worker passes its own folder, where its checkpoints go."""

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
    backup = Backup(model, backup_dir, scratch)
    in_place = [backup if isinstance(c, EpochBackup) else c for c in callbacks]
    callback_list = keras.callbacks.CallbackList(
        in_place if backup in in_place else [*in_place, backup],
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
    for epoch in range(backup.restore(epochs), epochs):
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
        callback_list.on_epoch_end(epoch, epoch_logs)
        if model.stop_training:
            break
    callback_list.on_train_end(logs=epoch_logs)
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


def scratch_dir(workdir: Path, strategy: tf.distribute.Strategy) -> Path:
    """A non-chief worker's own folder in the run's checkpoint folder (``worker-<index>``): the same one on a rerun,
    which removes it when it ends, so a killed worker leaves nothing behind in the system's temporary folder."""
    return workdir / f"worker-{strategy.cluster_resolver.task_id}"


class Backup(keras.callbacks.Callback):
    """``EpochBackup`` for this loop, in its place among the callbacks: a per-epoch ``tf.train.Checkpoint`` of model
    and optimizer, committed by the chief's ``state.json``. The chief writes to ``directory``, every other worker
    to ``scratch`` (saving is collective: every worker must save)."""

    def __init__(self, model: keras.Model, directory: Path, scratch: Path | None) -> None:
        import tensorflow as tf

        super().__init__()
        self.directory, self.is_chief = directory, scratch is None
        self.checkpoint = tf.train.Checkpoint(model=model, optimizer=model.optimizer)
        # Two kept: the committed one survives the save of the next, until state.json names the new one.
        self.manager = tf.train.CheckpointManager(self.checkpoint, str(scratch or directory), max_to_keep=2)
        self.history: list[dict[str, float]] = []

    def restore(self, epochs: int) -> int:
        """Restore the committed checkpoint, if any; the epoch to start at."""
        state = read_state(self.directory)
        if state is None:
            return 0
        self.checkpoint.restore(str(self.directory / state.weights)).expect_partial()
        self.history = state.history
        return epochs if state.complete else state.epoch

    def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        values = finite_logs(logs)
        if values is None:
            return  # a NaN epoch is never committed
        path = Path(self.manager.save())
        self.history = [*self.history[:epoch], values]
        if self.is_chief:
            complete = bool(self.model.stop_training) or epoch + 1 >= self.params["epochs"]
            write_state(self.directory, BackupState(epoch + 1, path.name, complete, self.history))
