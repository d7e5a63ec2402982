"""The hapt dataset on a tiny synthetic RawData folder in the official layout; the inertial rnn options; the
raw-in served model on a long recording with its timeline; the TFLite export."""

from __future__ import annotations

import gzip
import shutil
import zipfile
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest

from keraslab import registry
from keraslab.config import DataSpec
from keraslab.data import DataUnavailable
from keraslab.models.inertial import inertial_features, rotate
from keraslab.projects.activity import hapt
from keraslab.projects.activity.timeline import segments
from keraslab.projects.activity.wrapper import to_csv
from keraslab.serving.export import export_tflite
from keraslab.training.trainer import TrackingOptions, train

USERS = [1, 3, 5, 6, 7, 8]  # fold 0 of 3: users 1 and 6
SEGMENTS = [(2, 1, 256), (4, 300, 490), (6, 500, 627)]  # (activity, start, end): 3, 1 and 1 windows, ends inclusive


def recording(rng: np.random.Generator, rows: int) -> np.ndarray:
    """Rows of raw readings: 1 g of gravity in a random direction plus noise, and small angular velocities."""
    gravity = rng.normal(0, 1, 3)
    acc = gravity / np.linalg.norm(gravity) + rng.normal(0, 0.05, (rows, 3))
    return np.concatenate([acc, rng.normal(0, 0.1, (rows, 3))], axis=1)


def write_rawdata(root: Path, compress: bool, rng: np.random.Generator) -> Path:
    """``root/hapt/RawData`` with one 700-row experiment per user and ``SEGMENTS`` in each (ends inclusive)."""
    raw = root / "hapt" / "RawData"
    raw.mkdir(parents=True)
    labels = []
    for experiment, user in enumerate(USERS, start=1):
        signals = recording(rng, 700)
        for kind, columns in (("acc", signals[:, :3]), ("gyro", signals[:, 3:])):
            write(raw / f"{kind}_exp{experiment:02d}_user{user:02d}.txt", columns, compress)
        labels += [(experiment, user, *segment) for segment in SEGMENTS]
    write(raw / "labels.txt", np.array(labels), compress, fmt="%d")
    return root


def write(path: Path, table: np.ndarray, compress: bool, fmt: str = "%.16g") -> None:
    text = "\n".join(" ".join(fmt % v for v in row) for row in table) + "\n"
    if compress:
        Path(f"{path}.gz").write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)


def spec(**options: object) -> DataSpec:
    return DataSpec(dataset="hapt", validation_split=0.25, options={"features": "inertial", **options})


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_rawdata(tmp_path_factory.mktemp("hapt"), compress=True, rng=np.random.default_rng(0))


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gz"])
def test_windows_lie_inside_one_segment_with_both_ends_inclusive(tmp_path: Path, compress: bool) -> None:
    root = write_rawdata(tmp_path, compress, np.random.default_rng(1))
    x, y, users = hapt.read_windows(hapt.find_reader(root)[0], classes=6)
    assert len(x) == 5 * len(USERS) and x.shape[1:] == (128, 6)  # rows 1-256: windows at 1, 65 and 129 (to 256)
    assert np.bincount(y).tolist() == [0, 3 * 6, 0, 6, 0, 6]  # 0-based WALKING_UPSTAIRS, SITTING, LAYING
    assert list(hapt.segment_windows(500, 627)) == [500]  # 128 readings, end inclusive: exactly one window
    raw = np.loadtxt(tmp_path / "hapt" / "RawData" / f"acc_exp01_user01.txt{'.gz' if compress else ''}")
    np.testing.assert_allclose(x[1, :, :3], raw[65:193], rtol=1e-6)  # the second window starts at 1 + 64
    assert set(users) == set(USERS)


def test_the_official_zip_is_read_like_the_folder(data_dir: Path, tmp_path: Path) -> None:
    archive = tmp_path / "hapt" / "HAPT Data Set.zip"
    archive.parent.mkdir()
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted((data_dir / "hapt" / "RawData").iterdir()):
            zf.write(path, f"HAPT Data Set/RawData/{path.name}")
    from_zip, from_folder = (hapt.read_windows(hapt.find_reader(d)[0], 6) for d in (tmp_path, data_dir))
    for a, b in zip(from_zip, from_folder, strict=True):
        np.testing.assert_array_equal(a, b)


def test_test_and_validation_hold_out_whole_users(data_dir: Path) -> None:
    splits = hapt.load(spec(), data_dir, seed=0)
    assert splits.info.extra["test_subjects"] == [1, 6]
    assert len(splits.x_test) == 2 * 5 and splits.x_train.shape[1:] == (128, 6)
    validation = splits.info.extra["validation_subjects"]
    assert validation and not set(validation) & {1, 6}
    params = splits.info.model_params
    assert params["features"] == "inertial" and len(params["channel_mean"]) == 14
    assert len(splits.x_train) + len(splits.x_val) == 4 * 5
    other = hapt.load(spec(test_fold=2), data_dir, seed=0)
    assert other.info.extra["test_subjects"] == [5, 8]


def test_statistics_describe_the_inertial_features_of_the_training_users(data_dir: Path) -> None:
    splits = hapt.load(spec(), data_dir, seed=0)
    features = inertial_features(splits.x_train)
    np.testing.assert_allclose(splits.info.model_params["channel_mean"], features.mean(axis=(0, 1)), atol=1e-4)
    np.testing.assert_allclose(np.linalg.norm(features[..., 9:12], axis=-1), 1.0, rtol=1e-4)  # gravity direction
    np.testing.assert_allclose(features[..., 3:6].mean(axis=1), 0.0, atol=1e-5)  # body acceleration: mean removed


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda raw: (raw / "gyro_exp03_user05.txt.gz").unlink(), r"gyro_exp03_user05\.txt\(\.gz\): file not found"),
        (
            lambda raw: (raw / "acc_exp02_user03.txt.gz").write_bytes(
                gzip.compress(
                    b"".join(gzip.decompress((raw / "acc_exp02_user03.txt.gz").read_bytes()).splitlines(True)[:400])
                )
            ),
            r"acc_exp02_user03\.txt: 400 rows, but labels.txt has a segment ending at row 627",
        ),
        (
            lambda raw: (raw / "acc_exp01_user01.txt.gz").write_bytes(
                gzip.decompress((raw / "acc_exp01_user01.txt.gz").read_bytes())[:-7]
            ),
            r"acc_exp01_user01\.txt\.gz: not a complete gzip file",
        ),
        (
            lambda raw: (raw / "labels.txt.gz").write_bytes(gzip.compress(b"1 1 5 2\n")),
            r"labels\.txt: expected rows of 5",
        ),
    ],
    ids=["missing", "truncated-rows", "truncated-gzip", "wrong-labels"],
)
def test_broken_files_are_named_with_what_was_expected(data_dir: Path, tmp_path: Path, damage, message: str) -> None:
    copy = tmp_path / "data"
    shutil.copytree(data_dir, copy)
    damage(copy / "hapt" / "RawData")
    with pytest.raises(DataUnavailable, match=message):
        hapt.load(spec(), copy, seed=0)


def test_a_wrong_layout_says_what_is_expected(tmp_path: Path) -> None:
    (tmp_path / "hapt" / "Train").mkdir(parents=True)
    with pytest.raises(DataUnavailable, match=r"expected RawData/labels\.txt and RawData/\{acc,gyro\}"):
        hapt.load(spec(), tmp_path, seed=0)


def test_rotation_turns_acc_and_gyro_together_and_keeps_their_norms() -> None:
    x = recording(np.random.default_rng(2), 128)[None].repeat(3, axis=0).astype(np.float32)
    turned = np.asarray(rotate(x, 20.0))
    assert not np.allclose(turned, x)
    for k in (0, 3):
        np.testing.assert_allclose(
            np.linalg.norm(turned[..., k : k + 3], axis=-1), np.linalg.norm(x[..., k : k + 3], axis=-1), rtol=1e-5
        )
    rotation = (np.linalg.pinv(x[0, :, :3]) @ turned[0, :, :3]).T  # the accelerometer's rotation ...
    np.testing.assert_allclose(rotation @ rotation.T, np.eye(3), atol=1e-4)
    np.testing.assert_allclose(turned[0, :, 3:], x[0, :, 3:] @ rotation.T, atol=1e-4)  # ... turns the gyro too


def test_timeline_merges_runs_and_owns_every_reading_once() -> None:
    probabilities = np.array([[0.9, 0.1]] * 4 + [[0.2, 0.8]] * 5)
    found = segments(np.arange(9) * 64, probabilities, 128, windows=1)
    assert [(s.start, s.end, s.label_index) for s in found] == [(0, 288, 0), (288, 640, 1)]
    noisy = probabilities.copy()
    noisy[6] = [0.7, 0.3]  # one outlier inside the second run: smoothing over 3 windows removes it
    assert [s.label_index for s in segments(np.arange(9) * 64, noisy, 128, windows=3)] == [0, 1]
    assert len(segments(np.arange(9) * 64, noisy, 128, windows=1)) == 4


@pytest.fixture(scope="module")
def trained(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple:
    """activity-rnn's hapt recipe (tiny widths, 1 epoch) trained on the synthetic folder, tracked."""
    root = tmp_path_factory.mktemp("hapt-run")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    overrides = ["model.units=4", "model.conv_filters=[4, 4]", "model.stats_branch=4", "training.epochs=1"]
    project = registry.load(
        "activity-rnn", ["data.dataset=hapt", *overrides, "training.batch_size=8", "training.jit_compile=false"]
    )
    result = train(
        project, data_dir=data_dir, tracking=TrackingOptions(uri=uri), checkpoint_root=root / "ck", verbose=0
    )
    mlflow.set_tracking_uri(uri)
    return result, mlflow.pyfunc.load_model(result.model_uri)


def test_served_model_takes_a_long_raw_recording_and_gives_a_timeline(trained: tuple) -> None:
    result, served = trained
    assert {"test_accuracy", "test_macro_f1"} <= set(result.test_metrics)
    readings = recording(np.random.default_rng(3), 50 * 60 * 3)  # three minutes at 50 Hz
    request = pd.DataFrame({"recording": [to_csv(readings, hapt.RAW_CHANNELS)]})
    windows = served.predict(request)
    assert len(windows) == (len(readings) - 128) // 64 + 1 and windows["end"].iloc[-1] <= len(readings)
    timeline = served.predict(request, params={"timeline": True, "smooth": 3})
    assert timeline["start"].iloc[0] == 0 and timeline["end"].iloc[-1] == windows["end"].iloc[-1]
    assert (timeline["start"].to_numpy()[1:] == timeline["end"].to_numpy()[:-1]).all()  # contiguous
    np.testing.assert_allclose(timeline["end_s"], timeline["end"] / 50.0)
    assert (timeline["label"].to_numpy()[1:] != timeline["label"].to_numpy()[:-1]).all()  # runs merged
    assert timeline["probability"].between(0, 1).all()


def test_tflite_export_holds_the_preprocessing_and_agrees(trained: tuple, tmp_path: Path) -> None:
    result, _ = trained
    windows = recording(np.random.default_rng(4), 128 * 8).reshape(8, 128, 6)
    check = export_tflite(result.model_uri, tmp_path / "out", windows)
    assert check.path.is_file() and check.size_bytes == check.path.stat().st_size
    assert check.label_agreement == 1.0 and check.max_abs_difference <= 1e-4 and check.latency_ms > 0
