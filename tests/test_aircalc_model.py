"""AirCalc end to end on a tiny model trained once for the module: the dataset family, a tracked training run,
the logged pyfunc (trace and image rows, bad rows) and the CLI reading a trace with it (synthetic MNIST-format
digits, so the tests check the plumbing, not the accuracy)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow.exceptions import MlflowException
from typer.testing import CliRunner

from keraslab import registry
from keraslab.config import ConfigError
from keraslab.data import load
from keraslab.projects.aircalc.raster import rasterise
from keraslab.serving.wrappers.classification import png_base64
from test_aircalc_data import write_operators
from test_aircalc_pipeline import classify_by_template, trace_of

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


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, mnist_dir: Path) -> Iterator[tuple[Path, str]]:
    """One tiny tracked training run in a fresh ``./mlruns``; (working directory, model URI)."""
    from keraslab.training.trainer import train

    root = tmp_path_factory.mktemp("aircalc")
    data_dir = root / "data"
    data_dir.mkdir()
    (data_dir / "mnist").symlink_to(mnist_dir / "mnist")
    write_operators(data_dir, drawings=5)
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        result = train(registry.load("aircalc", TINY), data_dir=data_dir, verbose=0)
        assert result.run_id and "test_accuracy" in result.test_metrics
        yield root, f"runs:/{result.run_id}/model"


def test_the_run_logs_real_and_generated_operators_apart(trained: tuple[Path, str]) -> None:
    """Per-class accuracy on the held-out real drawings and on generated operators, their confusion matrices,
    the data's composition, and the real/generated settings as params."""
    root, uri = trained
    client = mlflow.MlflowClient(f"sqlite:///{root / 'mlruns' / 'mlflow.db'}")
    run = client.get_run(uri.split("/")[1])
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)  # artifacts are under ./mlruns
        artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    metrics, params = run.data.metrics, run.data.params
    for name in ("plus", "minus", "times", "divide", "slash", "dot"):
        assert 0.0 <= metrics[f"test_real_accuracy_{name}"] <= 1.0
    assert "test_real_accuracy_open" not in metrics and "test_generated_accuracy_open" in metrics
    assert (
        metrics["train_real_operators"] == 6 * round(0.6 * 40)
        and metrics["train_generated_operators"] == 8 * 40 - 6 * 24
    )
    assert params["data.options.real_share"] == "0.6" and params["data.options.operators_per_class"] == "40"
    assert {"confusion_matrix_real.png", "confusion_matrix_generated.png", "operators_by_source.md"} <= artifacts


def test_dataset_adds_operators_deterministically(mnist_dir: Path) -> None:
    spec = registry.load("aircalc", TINY)
    a, b = load(spec.data, mnist_dir, seed=3), load(spec.data, mnist_dir, seed=3)
    assert a.info.model_params == {"input_shape": (28, 28, 1), "num_classes": 18}
    assert a.info.class_names[10:] == ["+", "-", "×", "÷", "/", "(", ")", "."]
    assert len(a.x_train) == 400 + 8 * 40 and np.array_equal(a.x_train, b.x_train)
    assert np.bincount(a.y_test, minlength=18)[10:].tolist() == [5] * 8  # test operators: the unseen seed
    assert set(np.unique(a.y_train[:100])) & set(range(10, 18))  # shuffled: operators among the first rows


def test_bad_dataset_option_names_the_key_when_the_project_loads() -> None:
    with pytest.raises(ConfigError, match=r"data\.options\.operator_per_class = 3: unknown key"):
        registry.load("aircalc", ["data.options.operator_per_class=3"])


def test_search_file_is_valid_for_the_project() -> None:
    from keraslab.tuning.space import find_search, load_search

    spec = registry.load("aircalc")
    search = load_search(find_search(spec, None), spec, data_params={"input_shape": (28, 28, 1), "num_classes": 18})
    assert search.tuner.objective == "val_accuracy" and search.tuner.resolved_direction == "max"
    assert set(search.space) <= set(spec.model.params) | {"kernel_size", "learning_rate"}


def test_logged_pyfunc_reads_a_trace_and_an_image(trained: tuple[Path, str]) -> None:
    _, uri = trained
    model = mlflow.pyfunc.load_model(uri)
    trace = trace_of("12+7×3")
    strokes = [np.asarray(s, float) for s in trace_of("(7-3)×2", height=60.0, origin=(20.0, 20.0))]
    ink = rasterise(strokes, (110, 420), thickness=7.0)
    rows = pd.DataFrame({"trace": [json.dumps(trace), None], "image": [None, png_base64(1 - ink)]})
    answer = model.predict(rows)
    assert list(answer.columns) == ["expression", "value", "error", "note", "symbols"]
    assert [len(symbols) for symbols in answer["symbols"]] == [6, 7]  # segmented whole, whatever the tiny CNN reads
    first = answer["symbols"][0][0]
    assert set(first) == {"box", "label", "top", "confidence"} and len(first["top"]) in (3, 4)
    assert first["box"][0] == pytest.approx(30 + 0.05 * 80)
    for expression, value, error in zip(answer["expression"], answer["value"], answer["error"], strict=True):
        assert pd.isna(value) != pd.isna(error) and len(expression) in (6, 7)  # a column of None and text: NaN
    as_list = model.predict(pd.DataFrame({"trace": [trace]}))  # the strokes themselves, not JSON text
    assert as_list["expression"][0] == answer["expression"][0]
    with pytest.raises(MlflowException, match="row 0: trace: stroke 0, point 0"):
        model.predict(pd.DataFrame({"trace": ['[[["a", 1]]]']}))
    with pytest.raises(MlflowException, match="row 1: nothing given"):
        model.predict(pd.DataFrame({"trace": [json.dumps(trace), None], "image": [None, None]}))


def test_cli_reads_a_trace_with_the_logged_model(trained: tuple[Path, str]) -> None:
    from keraslab.cli import app

    root, _ = trained
    trace = root / "trace.json"
    trace.write_text(json.dumps(trace_of("12+7×3")))
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        run = CliRunner().invoke(app, ["aircalc", str(trace), "--json"])
        missing = CliRunner().invoke(app, ["aircalc", str(root / "nope.png")])
    assert run.exit_code in (0, 1), run.output  # 1: the tiny model's reading may not compute
    reading = json.loads(run.stdout[run.stdout.index("{") :])
    assert len(reading["symbols"]) == 6
    assert all(len(s["top"]) in (3, 4) and s["label"] in [t["label"] for t in s["top"]] for s in reading["symbols"])
    assert missing.exit_code == 2 and "file not found" in missing.output


def test_cli_reads_the_multiplication_dot_and_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from keraslab.cli import app
    from keraslab.projects.aircalc import model
    from keraslab.projects.aircalc.pipeline import AirCalc

    monkeypatch.setattr(model, "load_calc", lambda *args: AirCalc(classify_by_template))
    trace = tmp_path / "trace.json"
    trace.write_text(json.dumps(trace_of("2·.5")))
    run = CliRunner().invoke(app, ["aircalc", str(trace)])
    assert run.exit_code == 0, run.output
    answer, note = run.output.splitlines()[0], " ".join(" ".join(run.output.splitlines()[1:]).split())  # wrapped
    assert answer == "2·.5 = 1"
    assert "symbol 2 is a dot at 0.50 of the line's height: multiplication ·" in note
    assert "symbol 3 is a dot at" in note and "decimal point ." in note
