"""AirCalc end to end on a tiny model: the dataset family, a tracked training run, and the CLI reading a trace
with the logged model (synthetic MNIST-format digits, so the test checks the plumbing, not the accuracy)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from keraslab import registry
from keraslab.config import ConfigError
from keraslab.data import load
from test_aircalc_pipeline import trace_of

TINY = [
    "data.options.operators_per_class=40",
    "data.options.test_operators_per_class=5",
    "data.options.max_digits=400",
    "model.filters=[4, 8]",
    "model.dense_units=[16]",
    "training.epochs=1",
    "training.batch_size=64",
    "training.strategy='default'",
]


def test_dataset_adds_operators_deterministically(mnist_dir: Path) -> None:
    spec = registry.load("aircalc", TINY)
    a, b = load(spec.data, mnist_dir, seed=3), load(spec.data, mnist_dir, seed=3)
    assert a.info.model_params == {"input_shape": (28, 28, 1), "num_classes": 18}
    assert a.info.class_names[10:] == ["+", "-", "×", "÷", "/", "(", ")", "."]
    assert len(a.x_train) == 400 + 8 * 40 and np.array_equal(a.x_train, b.x_train)
    assert np.bincount(a.y_test, minlength=18)[10:].tolist() == [5] * 8  # test operators: the unseen seed
    assert set(np.unique(a.y_train[:100])) & set(range(10, 18))  # shuffled: operators among the first rows


def test_bad_dataset_option_names_the_key(mnist_dir: Path) -> None:
    spec = registry.load("aircalc", ["data.options.operator_per_class=3"])
    with pytest.raises(ConfigError, match=r"data\.options\.operator_per_class"):
        load(spec.data, mnist_dir, seed=0)


def test_train_then_read_a_trace_with_the_cli(workdir: Path, mnist_dir: Path) -> None:
    from keraslab.cli import app
    from keraslab.training.trainer import train

    result = train(registry.load("aircalc", TINY), data_dir=mnist_dir, verbose=0)
    assert result.run_id and "test_accuracy" in result.test_metrics
    trace = workdir / "trace.json"
    trace.write_text(json.dumps(trace_of("12+7×3")))
    run = CliRunner().invoke(app, ["aircalc", str(trace), "--json"])
    assert run.exit_code in (0, 1), run.output  # 1: the tiny model's reading may not compute
    reading = json.loads(run.stdout[run.stdout.index("{") :])
    assert len(reading["symbols"]) == 6
    assert all(len(s["top"]) == 3 and s["label"] in [t["label"] for t in s["top"]] for s in reading["symbols"])
    missing = CliRunner().invoke(app, ["aircalc", str(workdir / "nope.png")])
    assert missing.exit_code == 2 and "file not found" in missing.output
