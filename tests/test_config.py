"""Project specs: validation errors name key, value and what is allowed; overrides; name resolution."""

from __future__ import annotations

import pytest

from keraslab import registry
from keraslab.config import ConfigError, apply_overrides, parse_override, to_toml


def test_projects_load_and_resolve_names_with_dash_or_underscore() -> None:
    assert registry.load("mnist-cnn").name == "mnist-cnn"
    assert registry.load("MNIST_cnn").model.builder == "cnn"
    assert {p.name for p in registry.all_projects()} >= {"mnist-mlp", "mnist-cnn"}


RECIPE_PROJECT = """
name = "recipes"
[data]
dataset = "mnist"
validation_split = 0.1
[model]
builder = "mlp"
units = 128
[training]
epochs = 7
[recipes.basicmotions.data]
dataset = "basicmotions"
validation_split = 0.2
[recipes.basicmotions.model]
builder = "mlp"
units = 32
"""


def test_a_dataset_recipe_replaces_the_tables_and_set_still_wins(tmp_path) -> None:
    path = tmp_path / "recipes.toml"
    path.write_text(RECIPE_PROJECT)
    plain = registry.load(str(path))
    assert (plain.data.dataset, plain.model.params["units"], plain.training.epochs) == ("mnist", 128, 7)
    recipe = registry.load(str(path), ["data.dataset=basicmotions"])
    assert (recipe.data.validation_split, recipe.model.params["units"]) == (0.2, 32)
    assert recipe.training.epochs == 7  # the recipe has no [training]: the file's stays
    mine = registry.load(
        str(path), ["data.dataset=basicmotions", "model.units=8", "recipes.basicmotions.model.units=9"]
    )
    assert mine.model.params["units"] == 8


def test_the_shipped_hapt_recipe_is_the_cnn_bigru() -> None:
    spec = registry.load("activity-rnn", ["data.dataset=hapt"])
    assert (spec.model.params["cell"], spec.model.params["bidirectional"], spec.training.batch_size) == (
        "gru",
        True,
        64,
    )
    assert registry.load("activity-rnn").model.params["cell"] == "lstm"


@pytest.mark.parametrize(
    ("recipe", "message"),
    [
        ("[recipes]\nbasicmotions = 3", r"only data, model and training tables.*\(not a table\)"),
        ("[recipes.basicmotions.tuner]\nkind = 'grid'", r"recipes\.basicmotions: only data, model and training.*tuner"),
        ("[recipes.basicmotions.model]\nbuilder = 'mlp'\nunits = 'many'", r"model\.units"),
    ],
)
def test_a_bad_recipe_fails_naming_it_when_projects_are_listed(
    tmp_path, monkeypatch, recipe: str, message: str
) -> None:
    folder = tmp_path / "projects"
    folder.mkdir()
    (folder / "broken.toml").write_text(RECIPE_PROJECT.split("[recipes")[0] + recipe)
    monkeypatch.setenv("KERASLAB_PROJECTS_DIR", str(folder))
    with pytest.raises(ConfigError, match=message):
        registry.all_projects()


def test_unknown_project_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"unknown project 'mnist-rnn'.*mnist-cnn.*mnist-mlp"):
        registry.load("mnist-rnn")


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("training.epochs=3", (["training", "epochs"], 3)),
        ("model.units=[64, 32]", (["model", "units"], [64, 32])),
        ("model.activation=gelu", (["model", "activation"], "gelu")),
        ("model.learning_rate=1e-4", (["model", "learning_rate"], 1e-4)),
        ("data.cache=false", (["data", "cache"], False)),
        ("model.optimizer='sgd'", (["model", "optimizer"], "sgd")),
    ],
)
def test_parse_override(override: str, expected: tuple) -> None:
    assert parse_override(override) == expected


def test_overrides_reach_the_spec_and_builder_params() -> None:
    spec = registry.load("mnist-mlp", ["training.epochs=3", "model.units=256", "model.hidden_layers=3"])
    assert spec.training.epochs == 3
    params = spec.builder_params()
    assert params["units"] == 256 and params["hidden_layers"] == 3
    assert params["dropout"] == 0.2  # from the project file
    assert params["initializer"] == "glorot_uniform"  # the builder's default


@pytest.mark.parametrize(
    ("override", "needles"),
    [
        ("training.epoch=3", ["training.epoch", "unknown key", "allowed:", "epochs"]),
        ("training.epochs=0", ["training.epochs = 0", "greater than or equal to 1"]),
        ("model.activation=swish", ["model.activation = 'swish'", "relu", "gelu"]),
        ("model.unit=64", ["model.unit", "unknown key", "hidden_layers", "units"]),
        ("model.units=[64, 32, 16]", ["units has 3 widths but hidden_layers = 2"]),
        ("model.builder=resnet", ["'resnet' is not a known builder", "cnn", "mlp"]),
        ("training.strategy=horovod", ["training.strategy = 'horovod'", "multiworker"]),
        ("task=regression", ["task = 'regression' is not a known task", "classification"]),
        ("data.dataset=cifar10", ["data.dataset = 'cifar10' is not a known dataset", "mnist", "basicmotions"]),
    ],
)
def test_bad_values_fail_with_key_value_and_what_is_allowed(override: str, needles: list[str]) -> None:
    with pytest.raises(ConfigError) as excinfo:
        registry.load("mnist-mlp", [override])
    for needle in needles:
        assert needle in str(excinfo.value)


def test_malformed_override_and_scalar_as_table() -> None:
    with pytest.raises(ConfigError, match=r"not of the form key\.path=value"):
        apply_overrides({}, ["epochs"])
    with pytest.raises(ConfigError, match=r"training\.epochs is a value"):
        apply_overrides({"training": {"epochs": 3}}, ["training.epochs.max=4"])


def test_resolved_config_round_trips_through_toml() -> None:
    import tomllib

    spec = registry.load("mnist-cnn")
    dumped = spec.model_dump(mode="json")

    def without_none(value: object) -> object:  # TOML has no null: unset values stay unset
        if isinstance(value, dict):
            return {k: without_none(v) for k, v in value.items() if v is not None}
        return value

    assert tomllib.loads(to_toml(dumped)) == without_none(dumped)
