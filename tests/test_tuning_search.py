"""Searches on tiny synthetic MNIST: parent/child runs per tuner kind, NaN trials, resume after kill -9."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from mlflow import MlflowClient

from keraslab import registry
from keraslab.tracking.store import tracking_uri
from keraslab.tuning.search import SearchComplete, SearchOptions, run_search
from keraslab.tuning.space import load_search
from keraslab.tuning.tuners import PARENT_TAG, TRIAL_TAG

from conftest import run_chief_and_two_workers

PROJECT = ["training.batch_size=128", "training.early_stopping.enabled=false"]
SPACE = """
[tuner]
kind = "{kind}"
max_trials = {trials}
epochs = {epochs}
factor = 2

[space.units]
type = "choice"
values = [16, 32]

[space.optimizer]
type = "choice"
values = ["adam", "rmsprop"]

[space.learning_rate]
type = "{lr_type}"
{lr}
"""
LOG_LR = 'min = 1e-3\nmax = 1e-2\nsampling = "log"'


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One migrated MLflow store for this module (creating one costs ~10 s); each test has its experiment."""
    uri = f"sqlite:///{tmp_path_factory.mktemp('store') / 'mlflow.db'}"
    MlflowClient(uri).search_experiments()
    return uri


@pytest.fixture
def experiment(workdir: Path, store: str, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> str:
    """This test's experiment in the shared store (``$MLFLOW_TRACKING_URI``, also seen by subprocesses)."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store)
    return request.node.name


def search_file(path: Path, kind: str, trials: int = 2, epochs: int = 1, lr: str = LOG_LR) -> Path:
    lr_type = "choice" if lr.startswith("values") else "float"
    path.write_text(SPACE.format(kind=kind, trials=trials, epochs=epochs, lr_type=lr_type, lr=lr))
    return path


def project():
    return registry.load("mnist-mlp", [*PROJECT, "model.hidden_layers=1"])


def custom_gradients() -> set[str]:
    """TensorFlow's process-wide ``tf.custom_gradient`` registrations (each keeps a traced step alive)."""
    from tensorflow.python.framework import ops

    return {name for name in ops._gradient_registry.list() if name.startswith("CustomGradient-")}


def runs(experiment: str) -> tuple[list, list]:
    """(parent runs, child runs) of ``experiment``."""
    client = MlflowClient(tracking_uri())
    found = client.search_runs([client.get_experiment_by_name(experiment).experiment_id])
    children = [r for r in found if PARENT_TAG in r.data.tags]
    return [r for r in found if PARENT_TAG not in r.data.tags], children


@pytest.mark.parametrize(("kind", "trials"), [("random", 2), ("hyperband", 3), ("bayesian", 2), ("grid", 3)])
def test_search_logs_a_parent_and_one_child_per_trial(
    workdir: Path, experiment: str, mnist_dir: Path, kind: str, trials: int
) -> None:
    lr = "values = [0.001, 0.01]" if kind == "grid" else LOG_LR
    spec = project()
    search = load_search(search_file(workdir / "space.toml", kind, trials, epochs=2, lr=lr), spec)
    before = custom_gradients()
    result = run_search(spec, search, SearchOptions(data_dir=mnist_dir, experiment=experiment))

    assert custom_gradients() == before  # trials' traced steps are released (they leaked ~8 MB per trial)
    parents, children = runs(experiment)
    assert [p.info.run_id for p in parents] == [result.parent_run_id]
    parent = parents[0]
    assert parent.info.status == "FINISHED"
    assert sorted(c.data.tags[TRIAL_TAG] for c in children) == sorted(row["trial_id"] for row in result.trials)
    assert len(children) == trials
    assert all(c.info.status == "FINISHED" and c.data.tags[PARENT_TAG] == parent.info.run_id for c in children)
    for child in children:
        assert {"units", "optimizer", "learning_rate"} <= set(child.data.params)
        assert not any(k.startswith("tuner/") for k in child.data.params)  # Hyperband bookkeeping: tags only
        assert {"loss", "val_accuracy", "score", "overhead_seconds", "peak_rss_mb"} <= set(child.data.metrics)
    if kind == "hyperband":
        assert all("tuner/epochs" in c.data.tags for c in children)
        assert any("tuner/trial_id" in c.data.tags for c in children)  # a second-round trial stays linked
        history = MlflowClient(tracking_uri()).get_metric_history
        resumed = next(c for c in children if "tuner/trial_id" in c.data.tags)
        assert [m.step for m in history(resumed.info.run_id, "loss")] == [1]  # continues at its initial epoch
    assert parent.data.params["best.units"] in ("16", "32")
    assert parent.data.metrics["best_val_accuracy"] == pytest.approx(max(r["score"] for r in result.trials))
    assert "test_accuracy" in parent.data.metrics
    artifacts = {a.path for a in MlflowClient(tracking_uri()).list_artifacts(parent.info.run_id)}
    assert {"trials.csv", "objective.png", "parallel_coordinates.png", "search.toml"} <= artifacts
    assert result.model_uri.startswith("models:/")


def test_nan_trial_fails_and_the_search_goes_on(workdir: Path, experiment: str, mnist_dir: Path) -> None:
    spec = registry.load("mnist-mlp", [*PROJECT, "model.hidden_layers=4", "model.units=256", "model.dropout=0.0"])
    path = workdir / "nan.toml"
    path.write_text(
        '[tuner]\nkind = "grid"\nmax_trials = 2\nepochs = 1\n'
        '[space.optimizer]\ntype = "fixed"\nvalue = "sgd"\n'
        '[space.learning_rate]\ntype = "choice"\nvalues = [0.01, 10.0]\n'
    )
    result = run_search(spec, load_search(path, spec), SearchOptions(data_dir=mnist_dir, experiment=experiment))

    _, children = runs(experiment)
    status = {c.data.params["learning_rate"]: c.info.status for c in children}
    assert status == {"0.01": "FINISHED", "10.0": "FAILED"}
    failed = next(c for c in children if c.info.status == "FAILED")
    assert "non-finite" in failed.data.tags["keraslab.failure_reason"]
    assert result.best_hyperparameters["learning_rate"] == 0.01


def test_killed_search_resumes_without_rerunning_or_duplicating(
    workdir: Path, experiment: str, mnist_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    space = search_file(workdir / "space.toml", "random", trials=3)
    command = [sys.executable, "-m", "keraslab", "tune", "mnist-mlp", "--space", str(space), "--experiment", experiment]
    command += ["--data-dir", str(mnist_dir), *(f"--set={o}" for o in [*PROJECT, "model.hidden_layers=1"])]
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "200"}
    process = subprocess.Popen(
        command, cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    lines = []
    try:
        for line in process.stdout:
            lines.append(line)
            if "trial 2 of 3 started" in line:
                process.send_signal(signal.SIGKILL)  # mid-trial: its child run stays RUNNING
                break
    finally:
        process.kill()
        process.wait(timeout=60)
    assert "trial 2 of 3 started" in lines[-1], "".join(lines[-20:])
    parents, children = runs(experiment)
    assert [c.info.status for c in children if c.data.tags[TRIAL_TAG] == "1"] == ["RUNNING"]

    spec = project()
    result = run_search(spec, load_search(space, spec), SearchOptions(data_dir=mnist_dir, experiment=experiment))

    out = capsys.readouterr().out
    assert "trial 1 of 3 started" not in out  # the completed trial is not run again
    after_parents, children = runs(experiment)
    assert [p.info.run_id for p in after_parents] == [parents[0].info.run_id] == [result.parent_run_id]
    assert after_parents[0].info.status == "FINISHED"
    by_trial: dict[str, list[str]] = {}
    for child in children:
        by_trial.setdefault(child.data.tags[TRIAL_TAG], []).append(child.info.status)
    assert by_trial == {"0": ["FINISHED"], "1": ["FINISHED", "KILLED"], "2": ["FINISHED"]}
    with pytest.raises(SearchComplete, match="already finished"):
        run_search(spec, load_search(space, spec), SearchOptions(data_dir=mnist_dir, experiment=experiment))


def test_distributed_chief_and_two_workers_log_every_trial_once(
    workdir: Path, experiment: str, mnist_dir: Path
) -> None:
    space = search_file(workdir / "space.toml", "random", trials=4)
    command = [sys.executable, "-m", "keraslab", "tune", "mnist-mlp", "--space", str(space), "--experiment", experiment]
    command += [
        "--distributed",
        "--data-dir",
        str(mnist_dir),
        *(f"--set={o}" for o in [*PROJECT, "model.hidden_layers=1"]),
    ]
    outputs = run_chief_and_two_workers(command, workdir, dict(os.environ))

    parents, children = runs(experiment)
    assert len(parents) == 1 and parents[0].info.status == "FINISHED"
    assert parents[0].data.tags["keraslab.distributed"] == "true"
    assert sorted(c.data.tags[TRIAL_TAG] for c in children) == ["0", "1", "2", "3"]  # each trial exactly once
    assert all(c.info.status == "FINISHED" for c in children)
    assert {c.data.tags["keraslab.tuner_id"] for c in children} <= {"worker0", "worker1"}  # only workers train
    assert "started" not in outputs["chief"]
