"""MNIST data: the local IDX reader, tfds (mocked), the fast offline error, and the tf.data pipeline."""

from __future__ import annotations

import gzip
import time
from pathlib import Path

import numpy as np
import pytest

from keraslab import data
from keraslab.config import DataSpec
from keraslab.data import DataUnavailable, remote
from keraslab.data.pipeline import make_dataset
from keraslab.projects.mnist import data as mnist

from conftest import write_idx

SPEC = DataSpec(dataset="mnist", validation_split=0.1)


def test_idx_reader_round_trips_and_accepts_uncompressed(tmp_path: Path) -> None:
    images = np.random.default_rng(0).integers(0, 256, size=(5, 28, 28)).astype(np.uint8)
    write_idx(tmp_path / "x.gz", images)
    np.testing.assert_array_equal(mnist.read_idx(tmp_path / "x.gz"), images)
    (tmp_path / "x").write_bytes(gzip.decompress((tmp_path / "x.gz").read_bytes()))
    np.testing.assert_array_equal(mnist.read_idx(tmp_path / "x"), images)


def test_idx_reader_rejects_truncated_and_foreign_files(tmp_path: Path) -> None:
    write_idx(tmp_path / "x.gz", np.zeros((4, 28, 28), np.uint8))
    raw = gzip.decompress((tmp_path / "x.gz").read_bytes())
    (tmp_path / "short").write_bytes(raw[:-10])
    with pytest.raises(DataUnavailable, match=r"short: truncated or padded IDX file"):
        mnist.read_idx(tmp_path / "short")
    (tmp_path / "png").write_bytes(b"\x89PNG\r\n\x1a\n....")
    with pytest.raises(DataUnavailable, match=r"png: not an IDX file"):
        mnist.read_idx(tmp_path / "png")


def test_local_files_give_train_validation_test(mnist_dir: Path) -> None:
    splits = data.load(SPEC, mnist_dir, seed=0)
    assert splits.x_train.shape == (1080, 28, 28, 1) and splits.x_train.dtype == np.uint8
    assert len(splits.x_val) == 120 and len(splits.x_test) == 300
    assert splits.info.source == f"idx:{mnist_dir.resolve()}"
    assert splits.info.model_params == {"input_shape": (28, 28, 1), "num_classes": 10}
    # validation is carved from the 1200 training images, never from the test set
    train_rows = {row.tobytes() for row in np.concatenate([splits.x_train, splits.x_val])}
    assert len(train_rows) == 1200
    assert not {row.tobytes() for row in splits.x_test} & {row.tobytes() for row in splits.x_val}


def test_validation_split_is_seeded(mnist_dir: Path) -> None:
    a, b = data.load(SPEC, mnist_dir, seed=1), data.load(SPEC, mnist_dir, seed=1)
    c = data.load(SPEC, mnist_dir, seed=2)
    np.testing.assert_array_equal(a.y_val, b.y_val)
    assert not np.array_equal(a.y_val, c.y_val)


def test_missing_local_file_names_it(tmp_path: Path) -> None:
    (tmp_path / "mnist").mkdir()
    with pytest.raises(DataUnavailable, match=r"train-images-idx3-ubyte.gz not found.*t10k-labels-idx1-ubyte.gz"):
        data.load(SPEC, tmp_path)
    with pytest.raises(DataUnavailable, match=r"does not exist"):
        data.load(SPEC, tmp_path / "nowhere")


def test_data_dir_comes_from_the_environment(mnist_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KERASLAB_DATA_DIR", str(mnist_dir))
    assert data.load(SPEC).info.source.startswith("idx:")


def test_tfds_path_with_mock_data() -> None:
    import tensorflow_datasets as tfds

    with tfds.testing.mock_data(num_examples=40):
        splits = data.load(SPEC, None, seed=0)
    assert splits.info.source == "tfds:mnist"
    assert splits.x_train.shape == (36, 28, 28, 1) and len(splits.x_val) == 4 and len(splits.x_test) == 40


def test_offline_without_files_fails_fast_naming_the_files(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(remote, "reachable", lambda url, timeout=3.0: False)  # the network edge
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path))  # an empty tfds cache
    started = time.perf_counter()
    with pytest.raises(DataUnavailable) as excinfo:
        data.load(SPEC, None)
    assert time.perf_counter() - started < 10
    message = str(excinfo.value)
    assert "--data-dir" in message and "mnist/train-images-idx3-ubyte.gz" in message


def test_pipeline_scales_batches_and_reshuffles() -> None:
    x = np.arange(10 * 4, dtype=np.uint8).reshape(10, 2, 2, 1) * 6
    y = np.arange(10)
    ds = make_dataset(x, y, global_batch_size=4, shuffle=True, seed=0)
    batches = list(ds.as_numpy_iterator())
    assert [len(b[1]) for b in batches] == [4, 4, 2]
    first = np.concatenate([b[0] for b in batches])
    assert first.dtype == np.float32 and first.min() >= 0.0 and first.max() <= 1.0
    assert first.max() == pytest.approx(234 / 255)
    epoch1 = np.concatenate([b[1] for b in batches])
    epoch2 = np.concatenate([b[1] for b in ds.as_numpy_iterator()])
    assert sorted(epoch1) == list(range(10)) and not np.array_equal(epoch1, epoch2)
    for images, labels in batches:  # each image still travels with its own label
        np.testing.assert_allclose(images[:, 0, 0, 0], labels * 4 * 6 / 255.0, rtol=1e-6)


def test_pipeline_keeps_order_without_shuffle_and_passes_floats_through() -> None:
    x = np.linspace(-1, 1, 12, dtype=np.float32).reshape(6, 2)
    (xb, yb), (xb2, yb2) = make_dataset(x, np.arange(6), global_batch_size=3).as_numpy_iterator()
    np.testing.assert_array_equal(np.concatenate([xb, xb2]), x)
    np.testing.assert_array_equal(np.concatenate([yb, yb2]), np.arange(6))
