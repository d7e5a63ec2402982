"""Search files: validation with clear errors, and the hp -> builder params mapping."""

from __future__ import annotations

from pathlib import Path

import pytest

from keraslab import registry
from keraslab.config import ConfigError
from keraslab.tuning.space import find_search, load_search


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_shipped_search_files_are_valid() -> None:
    for project in ("mnist-mlp", "mnist-cnn"):
        spec = registry.load(project)
        search = load_search(find_search(spec, None), spec)
        assert search.tuner.resolved_direction == "max"
    mlp = load_search(find_search(registry.load("mnist-mlp"), None), registry.load("mnist-mlp"))
    assert (mlp.space["units"].min, mlp.space["units"].max, mlp.space["units"].step) == (32, 512, 32)
    assert set(mlp.space["optimizer"].values) == {"sgd", "sgd_momentum", "rmsprop", "adam"}
    focused = load_search(find_search(registry.load("mnist-mlp"), "mnist-mlp-focused"), registry.load("mnist-mlp"))
    assert (focused.tuner.kind, focused.space["units"].max) == ("hyperband", 1024)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('[space.unitz]\ntype = "int"\nmin = 1\nmax = 2', "space.unitz: 'mlp' has no such parameter"),
        ('[space.units]\ntype = "int"\nmin = 64\nmax = 32', "min (64) must be below max (32)"),
        ('[space.learning_rate]\ntype = "float"\nmin = 0.0\nmax = 0.1\nsampling = "log"', "log sampling needs min > 0"),
        ('[space.optimizer]\ntype = "choice"\nvalues = ["adam", "nadam"]', "space.optimizer can take 'nadam'"),
        ('[space.hidden_layers]\ntype = "int"\nmin = 1\nmax = 50', "space.hidden_layers can take 50"),
        ('[space.units]\ntype = "range"\nmin = 1\nmax = 2', "space.units"),
        ('[tuner]\nkind = "annealing"\n[space.units]\ntype = "int"\nmin = 32\nmax = 64', "tuner.kind = 'annealing'"),
        ('[tuner]\nkind = "grid"\n[space.dropout]\ntype = "float"\nmin = 0.0\nmax = 0.5', "needs a step"),
        ("[tuner]\nmax_trails = 3\n[space.units]\ntype = 'int'\nmin = 32\nmax = 64", "tuner.max_trails"),
    ],
)
def test_bad_search_files_name_the_key(tmp_path: Path, body: str, expected: str) -> None:
    path = write(tmp_path / "bad.toml", body)
    with pytest.raises(ConfigError) as info:
        load_search(path, registry.load("mnist-mlp"))
    assert expected in str(info.value)
    assert str(path) in str(info.value)


def test_unknown_search_file_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"unknown tuning 'nope'.*mnist-mlp"):
        find_search(registry.load("mnist-mlp"), "nope")


def test_overrides_change_the_search(tmp_path: Path) -> None:
    spec = registry.load("mnist-mlp")
    search = load_search(find_search(spec, None), spec, ["tuner.kind=grid", "space.learning_rate.step=10.0"])
    assert search.tuner.kind == "grid"
    with pytest.raises(ConfigError, match=r"tuner\.max_trials"):
        load_search(find_search(spec, None), spec, ["tuner.max_trials=0"])


def test_sampled_values_map_onto_the_project_builder() -> None:
    import keras_tuner

    from keraslab.tuning.hypermodel import ProjectHyperModel

    spec = registry.load("mnist-mlp", ["training.steps_per_execution=4", "training.jit_compile=false"])
    search = load_search(find_search(spec, None), spec)
    hypermodel = ProjectHyperModel("mlp", spec.builder_params(), search.space, spec.training)
    hp = keras_tuner.HyperParameters()
    params = hypermodel.params(hp)  # declares every hyperparameter with its default
    assert set(search.space) <= set(hp.values)
    assert params["batch_norm"] is False and params["initializer"] == "glorot_uniform"  # not searched: project's
    hp.values.update(hidden_layers=3, units=96, activation="tanh", dropout=0.3, learning_rate=0.01, optimizer="rmsprop")
    params = hypermodel.params(hp)
    assert {k: params[k] for k in ("hidden_layers", "units", "optimizer", "learning_rate")} == {
        "hidden_layers": 3,
        "units": 96,
        "optimizer": "rmsprop",
        "learning_rate": 0.01,
    }
    model = hypermodel.build(hp)
    dense = [layer for layer in model.layers if layer.__class__.__name__ == "Dense"]
    assert [layer.units for layer in dense] == [96, 96, 96, 10]
    assert model.optimizer.__class__.__name__ == "RMSprop"
    assert model.optimizer.learning_rate.numpy() == pytest.approx(0.01)
    assert model.steps_per_execution == 4 and model.jit_compile is False  # trials run as `keraslab train` would


def test_only_hyperband_runs_without_a_trial_budget() -> None:
    spec = registry.load("mnist-mlp")
    assert load_search(find_search(spec, None), spec, ["tuner.max_trials=None"]).tuner.max_trials is None
    with pytest.raises(ConfigError, match="max_trials is needed for a random search"):
        load_search(find_search(spec, None), spec, ["tuner.max_trials=None", "tuner.kind=random"])


def test_tune_command_reports_a_bad_option_clearly() -> None:
    from typer.testing import CliRunner

    from keraslab.cli import app

    result = CliRunner().invoke(app, ["tune", "mnist-mlp", "--tuner", "annealing"])
    assert result.exit_code == 2
    assert "tuner.kind = 'annealing'" in result.output
