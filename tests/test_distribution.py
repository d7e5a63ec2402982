"""Distribution: two local workers under MultiWorkerMirroredStrategy, the custom loop against fit, its resume,
mixed precision, and the cluster helper."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import keras
import mlflow
import numpy as np
import pytest
from mlflow import MlflowClient

from keraslab import registry
from keraslab.tasks import classification
from keraslab.training import cluster, distributed
from keraslab.training.backup import read_state
from keraslab.training.trainer import TrackingOptions, train

from conftest import interrupt_at

TINY = ["model.hidden_layers=1", "model.units=32", "model.dropout=0.0", "training.batch_size=32"]

WORKER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    import numpy as np
    from keraslab import registry
    from keraslab.training.trainer import train
    spec = registry.load("mnist-mlp", sys.argv[3:])
    result = train(spec, data_dir=Path(sys.argv[1]), verbose=0)
    np.savez(sys.argv[2], *result.model.get_weights())
    """
)


def scratch_folders() -> set[Path]:
    return set(Path(tempfile.gettempdir()).glob("keraslab-worker-*"))


def test_two_workers_train_identical_weights_and_log_one_run(workdir: Path, mnist_dir: Path) -> None:
    scratch_before = scratch_folders()
    addresses = [f"127.0.0.1:{port}" for port in cluster.free_ports(2)]
    overrides = [*TINY, "training.epochs=2", "training.strategy=multiworker"]
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(mnist_dir), str(workdir / f"w{i}.npz"), *overrides],
            env={**os.environ, "TF_CONFIG": json.dumps(cluster.tf_config(addresses, i))},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for i in range(2)
    ]
    try:
        outputs = [p.communicate(timeout=150)[0] for p in processes]
    finally:
        for p in processes:
            p.kill()
    assert [p.returncode for p in processes] == [0, 0], outputs[0][-3000:] + outputs[1][-3000:]

    chief, worker = np.load(workdir / "w0.npz"), np.load(workdir / "w1.npz")
    assert len(chief.files) == 4
    for name in chief.files:
        np.testing.assert_array_equal(chief[name], worker[name])

    client = MlflowClient(f"sqlite:///{workdir / 'mlruns' / 'mlflow.db'}")
    (run,) = client.search_runs([client.get_experiment_by_name("mnist-mlp").experiment_id])
    assert run.info.status == "FINISHED" and run.data.tags["strategy"] == "multiworker"
    assert run.data.params["replicas"] == "2" and run.data.params["training.global_batch_size"] == "64"
    assert [m.step for m in client.get_metric_history(run.info.run_id, "val_loss")] == [0, 1]
    assert run.data.metrics["test_accuracy"] > 0.5
    assert not list((workdir / "mlruns" / "checkpoints").rglob("backup"))  # the backup ends with the run
    assert not list((workdir / "mlruns" / "checkpoints").rglob("worker-*"))  # so does the worker's scratch folder
    assert scratch_folders() <= scratch_before  # and nothing was left in the system's temporary folder


def tiny_model_and_data(mnist_dir: Path, epochs: int = 2):
    from keraslab import data as datasets
    from keraslab import models

    spec = registry.load("mnist-mlp", [*TINY, f"training.epochs={epochs}"])
    splits = datasets.load(spec.data, mnist_dir, spec.training.seed)
    params = {**spec.builder_params(), **splits.info.model_params}
    keras.utils.set_random_seed(spec.training.seed)
    model = models.build("mlp", params)
    return model, (lambda batch: classification.datasets(splits, spec, batch)[:2])


def test_custom_loop_matches_fit_on_one_device(mnist_dir: Path, tmp_path: Path) -> None:
    import tensorflow as tf

    fitted, data = tiny_model_and_data(mnist_dir)
    train_ds, val_ds = data(32)
    expected = fitted.fit(train_ds, validation_data=val_ds, epochs=2, verbose=0, shuffle=False).history

    model, data = tiny_model_and_data(mnist_dir)
    history = distributed.fit(
        model, tf.distribute.get_strategy(), data, global_batch=32, epochs=2, callbacks=[],
        backup_dir=tmp_path / "backup", verbose=0,
    )  # fmt: skip
    assert sorted(history) == sorted(expected)
    for key, values in expected.items():  # the same steps: epoch 1 equal; epoch 2 close (batch order may differ)
        np.testing.assert_allclose(history[key][0], values[0], rtol=1e-4, err_msg=key)
        np.testing.assert_allclose(history[key][1], values[1], rtol=0.05, err_msg=key)
    state = read_state(tmp_path / "backup")  # kept: the trainer removes it once its run has ended FINISHED
    assert state is not None and state.complete and state.epoch == 2 and len(state.history) == 2


def test_custom_loop_resumes_from_its_checkpoint_and_stops_early(mnist_dir: Path, tmp_path: Path) -> None:
    import tensorflow as tf

    strategy = tf.distribute.get_strategy()
    model, data = tiny_model_and_data(mnist_dir, epochs=4)
    with pytest.raises(KeyboardInterrupt):
        distributed.fit(model, strategy, data, global_batch=32, epochs=4, callbacks=[interrupt_at(1)],
                        backup_dir=tmp_path / "backup", verbose=0)  # fmt: skip
    assert (tmp_path / "backup" / "checkpoint").exists()
    after_one_epoch = model.get_weights()

    fresh, data = tiny_model_and_data(mnist_dir, epochs=4)
    stop_early = keras.callbacks.EarlyStopping(monitor="val_loss", patience=0, min_delta=10.0)  # only 1st improves
    history = distributed.fit(fresh, strategy, data, global_batch=32, epochs=4, callbacks=[stop_early],
                              backup_dir=tmp_path / "backup", verbose=0)  # fmt: skip
    assert len(history["loss"]) == 2  # resumed at epoch 2 of 4; early stopping ended it after epoch 3
    assert stop_early.stopped_epoch == 2
    assert int(fresh.optimizer.iterations.numpy()) == 3 * 34  # 1080 samples / 32 = 34 steps an epoch
    assert not np.allclose(fresh.get_weights()[0], after_one_epoch[0])


def test_mixed_precision_is_recorded_and_the_output_stays_float32(workdir: Path, mnist_dir: Path) -> None:
    spec = registry.load("mnist-mlp", [*TINY, "training.epochs=1", "training.mixed_precision=true"])
    result = train(spec, data_dir=mnist_dir, tracking=TrackingOptions(), verbose=0)
    params = MlflowClient(mlflow.get_tracking_uri()).get_run(result.run_id).data.params
    assert params["training.mixed_precision"] == "True" and params["dtype_policy"] == "mixed_bfloat16"
    assert result.model.layers[1].compute_dtype == "bfloat16" and result.model.output.dtype == "float32"
    assert keras.config.dtype_policy().name == "float32"  # restored after the run
    assert result.test_metrics["test_accuracy"] > 0.3


def test_cluster_helper(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from keraslab.cli import app

    out = CliRunner().invoke(app, ["cluster", "tf-config", "10.0.0.1:2222,10.0.0.2:2222", "--index", "1"])
    assert out.exit_code == 0
    config = json.loads(out.stdout.strip().removeprefix("export TF_CONFIG=").strip("'"))
    assert config == {"cluster": {"worker": ["10.0.0.1:2222", "10.0.0.2:2222"]}, "task": {"type": "worker", "index": 1}}
    bad = CliRunner().invoke(app, ["cluster", "tf-config", "10.0.0.1", "--index", "0"])
    assert bad.exit_code == 2 and "'10.0.0.1' is not host:port" in bad.output
    with pytest.raises(ValueError, match="index 2 is not a worker of a 2-worker cluster"):
        cluster.tf_config(["a:1", "b:2"], 2)

    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    failing = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    try:
        assert cluster.wait_all([sleeper, failing], timeout=30) == 3  # one failure ends the wait at once
    finally:
        sleeper.kill()
