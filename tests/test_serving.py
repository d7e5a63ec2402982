"""Serving: MNIST-style image normalisation, the pyfunc round trip, SavedModel export, the `predict` command."""

from __future__ import annotations

import base64
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow.exceptions import MlflowException

from keraslab.data import DataInfo, Splits
from keraslab.serving.images import ImageError, decode_image, mnist_digit
from keraslab.serving.wrappers.classification import png_base64

from conftest import synthetic_digits

TINY_CNN = {"blocks": 1, "filters": [4], "convs_per_block": 1, "batch_norm": False, "block_dropout": 0.0,
            "dense_units": [], "dropout": 0.0}  # fmt: skip


def log_tiny_mnist_model(root: Path) -> tuple[str, str]:
    """An untrained tiny CNN logged through the trainer's path (``serving.log_model``); (run id, tracking URI)."""
    from keraslab import models, serving
    from keraslab.registry import load
    from keraslab.tracking.runs import RunTracker
    from keraslab.tracking.store import ensure_experiment

    x, y = synthetic_digits(8, seed=5)
    info = DataInfo("synthetic", {"input_shape": (28, 28, 1), "num_classes": 10}, [str(i) for i in range(10)])
    splits = Splits(x[:4, ..., None], y[:4], x[:0, ..., None], y[:0], x[4:, ..., None], y[4:], info)
    spec = load("mnist-cnn")
    model = models.build("cnn", {**TINY_CNN, **info.model_params})
    uri = f"sqlite:///{root / 'mlflow.db'}"
    tracker = RunTracker(uri, "serving-test")
    mlflow.set_tracking_uri(uri)
    with mlflow.start_run(experiment_id=ensure_experiment(uri, "serving-test")) as run:
        serving.log_model(tracker, spec, splits, model, register="digits")
    return run.info.run_id, uri


@pytest.fixture(scope="module")
def logged(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    return log_tiny_mnist_model(tmp_path_factory.mktemp("store"))


def digit_seven(size: int = 84, light_background: bool = True) -> np.ndarray:
    """A drawn '7' (thick strokes) off-centre in a large canvas, as a user's photo or drawing might be."""
    canvas = np.zeros((size, size + 20), dtype=np.uint8)
    canvas[10:18, 30:80] = 255
    canvas[10:70, 72:80] = 255
    return 255 - canvas if light_background else canvas


# ----------------------------------------------------------------------------- image normalisation


def test_mnist_digit_fits_20_box_centres_by_mass_and_inverts_light_backgrounds() -> None:
    dark = mnist_digit(digit_seven(light_background=False) / 255.0)
    light = mnist_digit(digit_seven(light_background=True) / 255.0)
    np.testing.assert_allclose(light, dark, atol=1e-6)
    rows, cols = np.nonzero(dark > 0.1)
    height, width = np.ptp(rows) + 1, np.ptp(cols) + 1
    assert height <= 20 and width <= 20 and max(height, width) >= 19
    total = dark.sum()
    centre = ((dark.sum(1) * np.arange(28)).sum() / total, (dark.sum(0) * np.arange(28)).sum() / total)
    assert abs(centre[0] - 14) <= 0.5 and abs(centre[1] - 14) <= 0.5  # MNIST's centre of mass: pixel (14, 14)
    assert dark.max() > 0.9 and dark[0].max() == 0  # strokes light, background dark


def test_an_mnist_style_digit_comes_back_unchanged() -> None:
    digit = mnist_digit(digit_seven() / 255.0)
    np.testing.assert_allclose(mnist_digit(digit), digit, atol=1e-6)


def smooth_digit() -> np.ndarray:
    """A 28×28 digit with MNIST's anti-aliased stroke edges: a blurred ring, normalised."""
    from PIL import Image, ImageDraw, ImageFilter

    canvas = Image.new("L", (280, 280))
    ImageDraw.Draw(canvas).ellipse((70, 40, 200, 240), outline=255, width=26)
    return mnist_digit(np.asarray(canvas.filter(ImageFilter.GaussianBlur(4)), dtype=np.float32) / 255.0)


@pytest.mark.parametrize("size", [56, 84, 112, 224, 448])
@pytest.mark.parametrize("dark_on_light", [False, True])
def test_a_digit_reads_alike_at_any_resolution_and_polarity(size: int, dark_on_light: bool) -> None:
    """The same digit as a larger scan (bicubic upscaling), either ink polarity, normalises to nearly the same
    28×28 array: same box, same place, strokes as bright."""
    from PIL import Image

    digit = smooth_digit()
    scan = np.asarray(Image.fromarray(digit).resize((size, size), Image.Resampling.BICUBIC), dtype=np.float32)
    scan = np.clip(scan, 0.0, 1.0)
    normalised = mnist_digit(1.0 - scan if dark_on_light else scan)
    assert np.abs(normalised - digit).mean() < 0.02
    assert np.abs(normalised - digit).max() < 0.35


def test_blank_image_stays_blank_and_bad_images_say_what_is_expected() -> None:
    assert mnist_digit(np.ones((30, 30), np.float32)).max() == 0
    assert decode_image(png_base64(digit_seven())).shape == (84, 104)
    for data, expected in ((b"not an image", "PNG or JPEG"), ("%%%", "base64"), ("A" * (15 * 2**20), "MiB")):
        with pytest.raises(ImageError, match=expected):
            decode_image(data)


# ----------------------------------------------------------------------------- pyfunc round trip


def test_pyfunc_round_trip_arrays_and_images(logged: tuple[str, str]) -> None:
    run_id, _ = logged
    model = mlflow.pyfunc.load_model(f"runs:/{run_id}/model")
    signature = model.metadata.signature
    assert signature.inputs.input_names() == ["image", "array"]
    assert signature.outputs.input_names() == ["label", "probability", "probabilities"]
    assert model.metadata.saved_input_example_info["serving_input_path"] == "serving_input_example.json"
    served = model.unwrap_python_model()
    x, _ = synthetic_digits(3, seed=9)
    expected = served.model(x[..., None].astype(np.float32) / 255.0).numpy()

    as_255 = model.predict(pd.DataFrame({"array": [a.tolist() for a in x]}))
    as_unit = model.predict({"array": [(a / 255.0).tolist() for a in x]})
    np.testing.assert_allclose(np.array(as_255["probabilities"].tolist()), expected, atol=1e-5)
    np.testing.assert_allclose(np.array(as_unit["probabilities"].tolist()), expected, atol=1e-5)
    assert list(as_255["label"]) == [str(i) for i in expected.argmax(1)]

    drawing = digit_seven()
    answer = model.predict(pd.DataFrame({"image": [png_base64(drawing)]}))
    normalised = mnist_digit(drawing / 255.0)[None, ..., None]
    np.testing.assert_allclose(answer["probabilities"][0], served.model(normalised).numpy()[0], atol=1e-5)
    assert answer["probability"][0] == pytest.approx(max(answer["probabilities"][0]))

    for bad, message in (
        (pd.DataFrame({"array": [np.zeros((27, 28)).tolist()]}), "shape"),
        (pd.DataFrame({"array": [np.full((28, 28), np.nan).tolist()]}), "finite"),
        (pd.DataFrame({"array": [np.full((28, 28), 300.0).tolist()]}), r"\[0, 255\]"),
        (pd.DataFrame({"image": ["aGVsbG8="]}), "PNG or JPEG"),
        (pd.DataFrame({"image": [png_base64(drawing)], "array": [x[0].tolist()]}), "both given"),
        (pd.DataFrame({"image": pd.Series([], dtype=str)}), "empty"),
    ):
        with pytest.raises(MlflowException, match=message) as caught:
            model.predict(bad)
        assert caught.value.get_http_status_code() == 400


# ----------------------------------------------------------------------------- export and CLI


def test_export_saved_model_reloads_with_equal_outputs(logged: tuple[str, str], tmp_path: Path) -> None:
    import tensorflow as tf

    from keraslab.serving.export import SIGNATURE, export_saved_model

    run_id, _ = logged
    check = export_saved_model(f"runs:/{run_id}/model", tmp_path / "saved")
    assert check.max_abs_difference <= 1e-5 and check.input_shape == (28, 28, 1)
    serve = tf.saved_model.load(str(tmp_path / "saved")).signatures[SIGNATURE]
    x = synthetic_digits(2, seed=4)[0][..., None].astype(np.float32) / 255.0
    (name,) = serve.structured_input_signature[1]
    exported = next(iter(serve(**{name: tf.constant(x)}).values())).numpy()
    served = mlflow.pyfunc.load_model(f"runs:/{run_id}/model").predict({"array": [a[..., 0].tolist() for a in x]})
    np.testing.assert_allclose(exported, np.array(served["probabilities"].tolist()), atol=1e-5)


def test_predict_command_reads_images_and_npy(logged: tuple[str, str], tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from keraslab.cli import app

    run_id, uri = logged
    (tmp_path / "seven.png").write_bytes(base64.b64decode(png_base64(digit_seven())))
    np.save(tmp_path / "batch.npy", synthetic_digits(2, seed=1)[0])
    (tmp_path / "notes.txt").write_text("x")
    runner = CliRunner()
    args = ["--tracking-uri", uri]
    files = [str(tmp_path / "seven.png"), str(tmp_path / "batch.npy")]
    result = runner.invoke(app, ["predict", "models:/digits/1", *files, *args])
    assert result.exit_code == 0, result.output
    assert "seven.png" in result.output and "batch.npy[1]" in result.output and "probability" in result.output
    bad = runner.invoke(app, ["predict", run_id, str(tmp_path / "notes.txt"), *args])
    assert bad.exit_code == 2 and ".npy" in bad.output
    unknown = runner.invoke(app, ["predict", "no-such-model", str(tmp_path / "seven.png"), *args])
    assert unknown.exit_code == 2 and "run id" in unknown.output
