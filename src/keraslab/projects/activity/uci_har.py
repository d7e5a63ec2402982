"""UCI HAR (Human Activity Recognition Using Smartphones): 9 inertial channels × 128 steps, 6 activities, 30 subjects.

Read from ``--data-dir`` (the extracted ``UCI HAR Dataset/`` folder or a zip holding it, also the official archive
that nests ``UCI HAR Dataset.zip``), else from the cached official archive, downloaded once when online. The
validation split holds out whole subjects.
"""

from __future__ import annotations

import io
import os
import shutil
import tempfile
import urllib.request
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from keraslab.data.remote import reachable
from keraslab.data.splits import DataUnavailable, Splits
from keraslab.projects.activity.sequences import SequenceOptions as Options  # noqa: F401 (the registry reads it)
from keraslab.projects.activity.sequences import make_splits

if TYPE_CHECKING:
    from keraslab.config import DataSpec

ROOT = "UCI HAR Dataset"
DOWNLOAD_URL = "https://archive.ics.uci.edu/static/public/240/human+activity+recognition+using+smartphones.zip"
CHANNELS = [f"{kind}_{axis}" for kind in ("body_acc", "body_gyro", "total_acc") for axis in "xyz"]
CLASS_NAMES = ["WALKING", "WALKING_UPSTAIRS", "WALKING_DOWNSTAIRS", "SITTING", "STANDING", "LAYING"]
WANTED = (
    f"{ROOT}/{{train,test}}/Inertial Signals/{{{','.join(CHANNELS)}}}_{{train,test}}.txt, "
    f"{ROOT}/{{train,test}}/y_{{train,test}}.txt, {ROOT}/{{train,test}}/subject_{{train,test}}.txt"
)

Reader = Callable[[str], str]  # a path below ROOT -> the file's text


def split_files(split: str) -> list[str]:
    """The files of one split, relative to ``UCI HAR Dataset/``: 9 signals, labels, subjects."""
    signals = [f"{split}/Inertial Signals/{channel}_{split}.txt" for channel in CHANNELS]
    return [*signals, f"{split}/y_{split}.txt", f"{split}/subject_{split}.txt"]


def folder_reader(root: Path) -> Reader:
    def read(name: str) -> str:
        return (root / name).read_text()

    return read


def zip_reader(path: Path) -> Reader | None:
    """A reader over ``path`` if the zip holds ``UCI HAR Dataset/`` directly or as a nested zip, else None."""
    try:
        archive = zipfile.ZipFile(path)
        names = set(archive.namelist())
        nested = next((n for n in names if n.rstrip("/").endswith(f"{ROOT}.zip")), None)
        if f"{ROOT}/train/y_train.txt" not in names and nested:
            archive = zipfile.ZipFile(io.BytesIO(archive.read(nested)))
            names = set(archive.namelist())
    except (OSError, zipfile.BadZipFile) as exc:
        raise DataUnavailable(f"{path}: not a readable zip archive ({exc})") from exc
    if f"{ROOT}/train/y_train.txt" not in names:
        return None

    def read(name: str) -> str:
        try:
            return archive.read(f"{ROOT}/{name}").decode()
        except KeyError:
            raise FileNotFoundError(f"{path}: {ROOT}/{name}") from None

    return read


def local_reader(data_dir: Path) -> Reader:
    """The dataset under ``data_dir`` (or ``data_dir/uci_har``): a ``UCI HAR Dataset`` folder or a zip."""
    folders = [data_dir / "uci_har", data_dir]
    for folder in folders:
        if (folder / ROOT).is_dir():
            return folder_reader(folder / ROOT)
    for folder in folders:
        for candidate in sorted(folder.glob("*.zip")):
            if reader := zip_reader(candidate):
                return reader
    raise DataUnavailable(
        f"UCI HAR not found in {data_dir}/uci_har or {data_dir}: expected the folder or a zip of {WANTED} "
        f"(the official archive is {DOWNLOAD_URL})"
    )


def cache_dir() -> Path:
    return Path(os.environ.get("KERASLAB_CACHE_DIR") or Path.home() / ".cache" / "keraslab") / "uci_har"


def cached_reader() -> Reader:
    """The cached official archive, downloaded first when missing; offline -> DataUnavailable within seconds."""
    archive = cache_dir() / Path(DOWNLOAD_URL).name
    if not archive.is_file():
        if not reachable(DOWNLOAD_URL):
            raise DataUnavailable(
                f"UCI HAR is not cached in {archive.parent} and archive.ics.uci.edu cannot be reached. Download "
                f"{DOWNLOAD_URL} once online, or pass --data-dir DIR (or set KERASLAB_DATA_DIR) with {WANTED}"
            )
        archive.parent.mkdir(parents=True, exist_ok=True)
        with (
            tempfile.NamedTemporaryFile(dir=archive.parent, delete=False) as tmp,
            urllib.request.urlopen(DOWNLOAD_URL, timeout=60) as response,
        ):
            shutil.copyfileobj(response, tmp)
        os.replace(tmp.name, archive)
    reader = zip_reader(archive)
    if reader is None:
        raise DataUnavailable(f"{archive}: the downloaded archive does not hold {ROOT}/; delete it and retry")
    return reader


def read_split(read: Reader, split: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(x (N, 128, 9) float32, y (N,) int64 in 0..5, subjects (N,))`` of one split."""
    files = split_files(split)
    try:
        tables = [np.loadtxt(io.StringIO(read(name)), dtype=np.float32, ndmin=2) for name in files]
    except (OSError, ValueError) as exc:
        raise DataUnavailable(f"UCI HAR {split}: cannot read {exc} (expected {WANTED})") from exc
    *signals, labels, subjects = tables
    shapes = {s.shape for s in signals}
    if len(shapes) != 1 or labels.shape != (len(signals[0]), 1) or subjects.shape != labels.shape:
        raise DataUnavailable(
            f"UCI HAR {split}: inconsistent files: signals {sorted(shapes)}, y {labels.shape}, subject {subjects.shape}"
        )
    y = labels[:, 0].astype(np.int64) - 1
    if y.min() < 0 or y.max() >= len(CLASS_NAMES):
        raise DataUnavailable(f"UCI HAR {split}: y_{split}.txt holds labels outside 1..{len(CLASS_NAMES)}")
    return np.stack(signals, axis=-1), y, subjects[:, 0].astype(np.int64)


def load(spec: DataSpec, data_dir: Path | None, seed: int) -> Splits:
    """Train/validation/test arrays ``(N, 128, 9)``; validation holds out whole training subjects."""
    read = local_reader(data_dir) if data_dir is not None else cached_reader()
    x_train, y_train, subjects = read_split(read, "train")
    x_test, y_test, _ = read_split(read, "test")
    return make_splits(
        spec,
        seed,
        train=(x_train, y_train, subjects),
        test=(x_test, y_test),
        class_names=CLASS_NAMES,
        channels=CHANNELS,
        source=f"uci_har:{data_dir.resolve() if data_dir else cache_dir()}",
    )
