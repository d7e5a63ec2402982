"""Sequence datasets: the .ts and UCI HAR readers on fixtures, leakage-free standardisation, subject-wise split."""

from __future__ import annotations

import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from keraslab.config import ConfigError, DataSpec
from keraslab.data import DataUnavailable
from keraslab.data import load as load_data
from keraslab.projects.activity import uci_har
from keraslab.projects.activity.basicmotions import read_ts
from keraslab.projects.activity.sequences import MASK_VALUE, class_weights, sliding_windows, validation_mask

TS_HEADER = """# a comment
@problemName Tiny
@timeStamps false
@missing {missing}
@univariate false
@dimensions 2
@equalLength {equal}
{length}@classLabel true Walk Run
@data
"""


def write_ts(path: Path, cases: list[tuple[list[list[str]], str]], equal: bool = True, length: int | None = 4) -> Path:
    text = TS_HEADER.format(
        missing="true" if any("?" in v for ch, _ in cases for v in ch) else "false",
        equal="true" if equal else "false",
        length=f"@seriesLength {length}\n" if equal and length else "",
    )
    text += "\n".join(":".join(",".join(ch) for ch in channels) + f":{label}" for channels, label in cases) + "\n"
    path.write_text(text)
    return path


def test_ts_reader_parses_channels_labels_and_missing_values(tmp_path: Path) -> None:
    cases = [
        ([["1", "2", "3", "4"], ["5", "?", "7", "8"]], "Run"),
        ([["0", "0", "1", "1"], ["2", "2", "3", "3"]], "Walk"),
    ]
    ts = read_ts(write_ts(tmp_path / "t.ts", cases))
    assert ts.problem == "Tiny" and ts.class_labels == ["Walk", "Run"] and ts.labels == ["Run", "Walk"]
    assert ts.series[0].shape == (4, 2)
    np.testing.assert_array_equal(ts.series[0][:, 0], [1, 2, 3, 4])
    assert np.isnan(ts.series[0][1, 1]) and not np.isnan(ts.series[1]).any()


def test_ts_reader_unequal_lengths_are_padded_only_when_declared(tmp_path: Path) -> None:
    cases = [([["1", "2", "3"], ["1", "2", "3"]], "Run"), ([["1", "2"], ["1", "2"]], "Walk")]
    ts = read_ts(write_ts(tmp_path / "u.ts", cases, equal=False))
    assert [len(s) for s in ts.series] == [3, 2]
    with pytest.raises(DataUnavailable, match=r"e\.ts:11: .*@equalLength true"):
        read_ts(write_ts(tmp_path / "e.ts", cases, equal=True, length=None))


@pytest.mark.parametrize(
    ("cases", "message"),
    [
        ([([["1", "2", "3", "4"]], "Run")], "1 channels, but the header declares 2"),
        ([([["1", "2", "3", "4"], ["1", "2", "3", "4"]], "Jump")], "label 'Jump' is not one of"),
        ([([["1", "x", "3", "4"], ["1", "2", "3", "4"]], "Run")], "not a comma-separated list of numbers"),
    ],
)
def test_ts_reader_rejects_bad_cases_naming_file_and_line(tmp_path: Path, cases: list, message: str) -> None:
    with pytest.raises(DataUnavailable, match=f"bad.ts:11: {message}"):
        read_ts(write_ts(tmp_path / "bad.ts", cases))


def basicmotions_dir(root: Path, rng: np.random.Generator, missing: bool = False) -> Path:
    """BasicMotions-shaped .ts files (2 classes, 2 channels) under ``root/basicmotions``."""
    folder = root / "basicmotions"
    folder.mkdir(parents=True)
    for split, offset in (("TRAIN", 0.0), ("TEST", 100.0)):  # test values are far off: a leak would show
        cases = []
        for i in range(10):
            label = ("Walk", "Run")[i % 2]
            values = rng.normal(offset + 3 * (i % 2), 1.0, size=(2, 4)).round(3).astype(str).tolist()
            if missing and i == 0:
                values[1][2] = "?"
            cases.append((values, label))
        write_ts(folder / f"BasicMotions_{split}.ts", cases)
    return root


def test_basicmotions_standardisation_uses_training_split_only(tmp_path: Path) -> None:
    root = basicmotions_dir(tmp_path, np.random.default_rng(0))
    splits = load_data(DataSpec(dataset="basicmotions", validation_split=0.2), root, seed=3)
    params = splits.info.model_params
    assert params["input_shape"] == (4, 2) and params["num_classes"] == 2 and "mask_value" not in params
    np.testing.assert_allclose(params["channel_mean"], splits.x_train.reshape(-1, 2).mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(params["channel_std"], splits.x_train.reshape(-1, 2).std(axis=0), rtol=1e-4)
    assert max(params["channel_mean"]) < 10  # the test split (values near 100) did not leak in
    assert splits.info.sizes == {"train": 8, "validation": 2, "test": 10}
    assert sorted(splits.y_val.tolist()) == [0, 1]  # stratified: one of each class


def test_missing_readings_become_masked_timesteps(tmp_path: Path) -> None:
    root = basicmotions_dir(tmp_path, np.random.default_rng(1), missing=True)
    splits = load_data(DataSpec(dataset="basicmotions", validation_split=0.0), root, seed=0)
    assert splits.info.model_params["mask_value"] == MASK_VALUE
    masked = np.all(splits.x_test == MASK_VALUE, axis=-1)
    assert masked.sum() == 1 and masked[0, 2]
    assert not np.isnan(splits.x_train).any() and not np.isnan(splits.x_test).any()


def test_basicmotions_without_files_names_them(tmp_path: Path) -> None:
    with pytest.raises(DataUnavailable, match=r"BasicMotions_TRAIN\.ts"):
        load_data(DataSpec(dataset="basicmotions"), tmp_path, seed=0)


def test_unknown_data_option_is_a_config_error_when_the_project_loads() -> None:
    from keraslab import registry

    with pytest.raises(ConfigError, match=r"data\.options\.clas_weights = True: unknown key"):
        registry.load("activity-rnn", ["data.options.clas_weights=true"])


def write_uci_har(root: Path, rng: np.random.Generator, subjects: dict[str, list[int]], steps: int = 8) -> Path:
    """The official UCI HAR layout with tiny random signals (``steps`` per window instead of 128)."""
    base = root / uci_har.ROOT
    for split, people in subjects.items():
        (base / split / "Inertial Signals").mkdir(parents=True)
        n = 4 * len(people)
        for c, channel in enumerate(uci_har.CHANNELS):
            np.savetxt(base / split / "Inertial Signals" / f"{channel}_{split}.txt", rng.normal(c, 1, (n, steps)))
        np.savetxt(base / split / f"y_{split}.txt", np.arange(n) % 6 + 1, fmt="%d")
        np.savetxt(base / split / f"subject_{split}.txt", np.repeat(people, 4), fmt="%d")
    return root


def test_uci_har_folder_and_zip_read_alike_with_subject_wise_validation(tmp_path: Path) -> None:
    folder = write_uci_har(tmp_path / "plain", np.random.default_rng(0), {"train": [1, 3, 5, 6, 7], "test": [2, 4]})
    spec = DataSpec(dataset="uci_har", validation_split=0.3)
    splits = load_data(spec, folder, seed=0)
    assert splits.x_train.shape[1:] == (8, 9) and splits.info.num_classes == 6
    assert splits.info.sizes["train"] + splits.info.sizes["validation"] == 20
    subjects = np.repeat([1, 3, 5, 6, 7], 4)
    train_rows = {r.tobytes() for r in splits.x_train}
    x_all, _, _ = uci_har.read_split(uci_har.folder_reader(folder / uci_har.ROOT), "train")
    in_train = np.array([r.tobytes() in train_rows for r in x_all])
    held_out = set(subjects[~in_train].tolist())
    assert held_out == set(splits.info.extra["validation_subjects"]) and held_out
    assert not held_out & set(subjects[in_train].tolist())  # no subject on both sides

    zipped = tmp_path / "zipped"
    zipped.mkdir()
    with zipfile.ZipFile(zipped / "UCI HAR Dataset.zip", "w") as archive:
        for path in (folder / uci_har.ROOT).rglob("*.txt"):
            archive.write(path, path.relative_to(folder))
    official = tmp_path / "official"  # the UCI download nests "UCI HAR Dataset.zip" in another zip
    official.mkdir()
    with zipfile.ZipFile(official / "human+activity+recognition+using+smartphones.zip", "w") as archive:
        archive.write(zipped / "UCI HAR Dataset.zip", "UCI HAR Dataset.zip")
    for other in (zipped, official):
        again = load_data(spec, other, seed=0)
        np.testing.assert_array_equal(again.x_train, splits.x_train)
        np.testing.assert_array_equal(again.y_test, splits.y_test)


def test_uci_har_offline_without_cache_fails_fast_naming_files(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("KERASLAB_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(uci_har, "reachable", lambda url: False)
    started = time.perf_counter()
    with pytest.raises(DataUnavailable, match=r"cannot be reached.*body_acc_x.*y_\{train,test\}"):
        load_data(DataSpec(dataset="uci_har"), None, seed=0)
    assert time.perf_counter() - started < 5


def test_uci_har_inconsistent_files_are_reported(tmp_path: Path) -> None:
    folder = write_uci_har(tmp_path, np.random.default_rng(0), {"train": [1, 2], "test": [3]})
    np.savetxt(folder / uci_har.ROOT / "test" / "y_test.txt", [1, 2], fmt="%d")
    with pytest.raises(DataUnavailable, match="UCI HAR test: inconsistent files"):
        load_data(DataSpec(dataset="uci_har"), folder, seed=0)


def test_validation_mask_keeps_every_subject_on_one_side() -> None:
    groups = np.repeat(np.arange(10), 7)
    y = np.arange(70) % 3
    for seed in range(5):
        val = validation_mask(y, groups, 0.25, seed)
        assert not set(groups[val]) & set(groups[~val])
        assert 0.25 * 70 <= val.sum() <= 0.25 * 70 + 7


def test_class_weights_balance_the_classes() -> None:
    y = np.array([0, 0, 0, 1])
    weights = class_weights(y, 3)
    assert weights[0] * 3 == pytest.approx(weights[1] * 1) and weights[2] == 0.0


def test_sliding_windows_and_short_recordings() -> None:
    recording = np.arange(20, dtype=np.float32).reshape(10, 2)
    windows, starts = sliding_windows(recording, 4, 3)
    assert windows.shape == (3, 4, 2) and starts.tolist() == [0, 3, 6]
    np.testing.assert_array_equal(windows[1], recording[3:7])
    with pytest.raises(ValueError, match="has 10 readings; a window needs at least 12"):
        sliding_windows(recording, 12, 1)
