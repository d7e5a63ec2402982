"""MNIST: the four official IDX files from ``--data-dir``, or tensorflow-datasets."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from keraslab.config import Strict
from keraslab.data.remote import tfds_arrays
from keraslab.data.splits import DataInfo, DataUnavailable, Splits, carve_validation

if TYPE_CHECKING:
    from keraslab.config import DataSpec

FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
DOWNLOAD_URL = "https://storage.googleapis.com/cvdf-datasets/mnist/"
WANTED = "mnist/" + ", mnist/".join(name for pair in FILES.values() for name in pair)


class Options(Strict):
    """MNIST has no ``[data.options]``."""


IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (gzipped or not) into an array of its declared type and shape."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as fh:
            data = fh.read()
    except (OSError, EOFError, zlib.error) as exc:  # a truncated .gz ends in EOFError, a corrupt one in zlib.error
        raise DataUnavailable(f"{path}: cannot read IDX file ({exc or type(exc).__name__})") from exc
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in IDX_DTYPES:
        raise DataUnavailable(f"{path}: not an IDX file (bad magic number {data[:4].hex()})")
    ndim = data[3]
    header = 4 + 4 * ndim
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(IDX_DTYPES[data[2]])
    expected = header + int(np.prod(shape)) * dtype.itemsize
    if len(data) != expected:
        raise DataUnavailable(f"{path}: truncated or padded IDX file ({len(data)} bytes, expected {expected})")
    return np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)


def find_file(data_dir: Path, name: str) -> Path:
    """``name`` (or its uncompressed form) in ``data_dir/mnist/`` or ``data_dir/``."""
    for folder in (data_dir / "mnist", data_dir):
        for candidate in (folder / name, folder / name.removesuffix(".gz")):
            if candidate.is_file():
                return candidate
    raise DataUnavailable(f"MNIST file {name} not found in {data_dir}/mnist or {data_dir}; expected {WANTED}")


def read_local(data_dir: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    images_name, labels_name = FILES[split]
    images = read_idx(find_file(data_dir, images_name))
    labels = read_idx(find_file(data_dir, labels_name)).astype(np.int64)
    if images.ndim != 3 or len(images) != len(labels):
        raise DataUnavailable(
            f"{data_dir}: {images_name} holds {images.shape} but {labels_name} holds {labels.shape} labels"
        )
    return images[..., None], labels


def load(spec: DataSpec, data_dir: Path | None, seed: int) -> Splits:
    """Train/validation/test arrays (uint8 images N×28×28×1, int64 labels); validation from training."""
    if data_dir is not None:
        (x_train, y_train), (x_test, y_test) = read_local(data_dir, "train"), read_local(data_dir, "test")
        source = f"idx:{data_dir.resolve()}"
    else:
        x_train, y_train = tfds_arrays("mnist", "train", DOWNLOAD_URL, WANTED)
        x_test, y_test = tfds_arrays("mnist", "test", DOWNLOAD_URL, WANTED)
        source = "tfds:mnist"
    x_train, y_train, x_val, y_val = carve_validation(x_train, y_train, spec.validation_split, seed)
    info = DataInfo(
        source=source,
        model_params={"input_shape": (28, 28, 1), "num_classes": 10},
        class_names=[str(i) for i in range(10)],
        sizes={"train": len(x_train), "validation": len(x_val), "test": len(x_test)},
    )
    return Splits(x_train, y_train, x_val, y_val, x_test, y_test, info)
