"""The Python API: the CLI's names and errors, a result with the run, its metrics and both models."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import keraslab
from keraslab.cli import app

from conftest import synthetic_digits

TINY_MLP = {"model.hidden_layers": 1, "model.units": 16}


def test_projects_lists_the_course_projects() -> None:
    names = keraslab.projects()
    assert {"mnist-cnn", "mnist-mlp", "aircalc", "transformer-lm"} <= set(names)


def test_a_bad_override_raises_config_error_with_the_cli_message(workdir: Path) -> None:
    with pytest.raises(keraslab.ConfigError) as caught:
        keraslab.train("mnist-mlp", overrides={"model.activation": "swish"})
    cli = CliRunner().invoke(app, ["train", "mnist-mlp", "--set", "model.activation=swish"])
    assert cli.exit_code == 2
    assert "model.activation = 'swish'" in str(caught.value)
    assert " ".join(str(caught.value).split()) in " ".join(cli.stderr.split())


def test_train_returns_the_run_its_metrics_and_both_models(workdir: Path, mnist_dir: Path) -> None:
    result = keraslab.train("mnist-mlp", epochs=1, seed=3, overrides=TINY_MLP, data_dir=mnist_dir, verbose=0)
    assert result.run_id and result.model_uri and result.epochs_run == 1
    assert 0.0 <= result.metrics["test_accuracy"] <= 1.0 and "test_loss" in result.metrics

    x, _ = synthetic_digits(4, seed=8)
    network = result.keras_model().predict(x[..., None] / 255.0, verbose=0)
    served = result.load_model().predict(pd.DataFrame({"array": [a.tolist() for a in x]}))
    np.testing.assert_allclose(np.array(served["probabilities"].tolist()), network, atol=1e-5)
    again = keraslab.load(result.run_id).predict(pd.DataFrame({"array": [x[0].tolist()]}))
    assert again["label"][0] == served["label"][0]
    html = result._repr_html_()  # what a notebook shows for the result
    assert "<pre" in html and "test_accuracy" in html and result.run_id in html


def test_overrides_take_strings_like_set_and_untracked_runs_keep_only_the_network(
    workdir: Path, mnist_dir: Path
) -> None:
    result = keraslab.train(
        "mnist-mlp", overrides=["model.hidden_layers=1", "model.units=8"], epochs=1, data_dir=mnist_dir,
        track=False, verbose=0,
    )  # fmt: skip
    assert result.run_id is None and result.keras_model().count_params() == 28 * 28 * 8 + 8 + 8 * 10 + 10
    with pytest.raises(ValueError, match="not tracked"):
        result.load_model()


def test_load_names_what_it_accepts() -> None:
    with pytest.raises(keraslab.ConfigError, match="run id"):
        keraslab.load("not-a-model")
