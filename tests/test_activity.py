"""activity-rnn end to end: train on a BasicMotions-format fixture, tracked; then serve the logged pyfunc model."""

from __future__ import annotations

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow.exceptions import MlflowException

from keraslab import registry
from keraslab.projects.activity.task import per_class_f1
from keraslab.projects.activity.wrapper import to_csv
from keraslab.training.trainer import TrackingOptions, train
from test_activity_data import basicmotions_dir

TINY = [
    "model.units=4",
    "model.layers=1",
    "training.epochs=2",
    "training.batch_size=4",
    "data.validation_split=0.2",
    "training.jit_compile=false",
]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple:
    """One tracked training run (class weights on) and its logged model, shared by the tests below."""
    root = tmp_path_factory.mktemp("activity")
    data_dir = basicmotions_dir(root / "data", np.random.default_rng(0))
    (root / "mlruns").mkdir()
    uri = f"sqlite:///{root / 'mlruns' / 'mlflow.db'}"
    spec = registry.load("activity-rnn", [*TINY, "data.options.class_weights=true"])
    result = train(spec, data_dir=data_dir, tracking=TrackingOptions(uri=uri), checkpoint_root=root / "ck", verbose=0)
    mlflow.set_tracking_uri(uri)
    return result, mlflow.pyfunc.load_model(result.model_uri)


def test_training_logs_activity_metrics_and_artifacts(trained: tuple) -> None:
    result, _ = trained
    assert {"test_accuracy", "test_macro_f1", "test_f1_walk", "test_f1_run"} <= set(result.test_metrics)
    assert result.test_metrics["test_macro_f1"] == pytest.approx(
        (result.test_metrics["test_f1_walk"] + result.test_metrics["test_f1_run"]) / 2
    )
    artifacts = {a.path for a in mlflow.MlflowClient().list_artifacts(result.run_id)}
    assert {"per_class_f1.md", "class_examples.png", "confusion_matrix.png", "config.toml"} <= artifacts
    params = mlflow.get_run(result.run_id).data.params
    assert params["data.options.class_weights"] == "True" and params["model.builder"] == "rnn"


def test_served_model_labels_windows_of_a_recording(trained: tuple) -> None:
    result, served = trained
    rng = np.random.default_rng(5)
    recording = rng.normal(0, 1, size=(10, 2)).astype(np.float32)
    answer = served.predict(pd.DataFrame({"recording": [to_csv(recording, ["channel_0", "channel_1"])]}))
    assert answer["start"].tolist() == [0, 2, 4, 6] and answer["end"].tolist() == [4, 6, 8, 10]
    assert set(answer["label"]) <= {"Walk", "Run"}
    expected = result.model.predict(np.stack([recording[s : s + 4] for s in (0, 2, 4, 6)]), verbose=0)
    np.testing.assert_allclose(np.array(answer["probabilities"].tolist()), expected, rtol=1e-4, atol=1e-6)

    swapped = pd.DataFrame({"recording": [to_csv(recording[:, ::-1], ["channel_1", "channel_0"])]})
    np.testing.assert_allclose(served.predict(swapped)["probability"], answer["probability"], rtol=1e-5)
    one = served.predict(pd.DataFrame({"window": [recording[:4].tolist()]}), params={"stride": 1})
    assert len(one) == 1 and one["probability"][0] == pytest.approx(answer["probability"][0], rel=1e-5)
    headerless = served.predict(
        pd.DataFrame({"recording": [to_csv(recording, ["channel_0", "channel_1"]).split("\n", 1)[1]]}),
        params={"stride": 3},
    )
    assert headerless["start"].tolist() == [0, 3, 6]


@pytest.mark.parametrize(
    ("request_frame", "message"),
    [
        ({"recording": ["1,2,3\n4,5,6\n7,8,9\n1,2,3\n"]}, r"has 3 columns; the model expects 2 channels \(channel_0"),
        ({"recording": ["1,2\n3,4\n"]}, "has 2 readings; a window needs at least 4"),
        ({"recording": ["channel_0,gyro\n1,2\n1,2\n1,2\n1,2\n"]}, "header names"),
        ({"window": [[[1.0, 2.0]] * 3]}, r"'window' has shape \(3, 2\)"),
        ({"window": [[[1.0, float("nan")]] * 4]}, "finite"),
    ],
)
def test_bad_requests_are_refused_with_what_is_expected(trained: tuple, request_frame: dict, message: str) -> None:
    _, served = trained
    with pytest.raises(MlflowException, match=message):
        served.predict(pd.DataFrame(request_frame))


def test_per_class_f1() -> None:
    scores = per_class_f1(np.array([0, 0, 1, 1, 2]), np.array([0, 1, 1, 1, 0]), 4)
    assert scores == pytest.approx([0.5, 0.8, 0.0, 0.0])
