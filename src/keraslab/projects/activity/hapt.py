"""UCI HAPT raw recordings: a phone's accelerometer (g) and gyroscope (rad/s) at 50 Hz, windows of 128 readings.

Read from ``--data-dir`` in the official ``RawData/`` layout, every file plain or gzipped: ``hapt/RawData/``,
``RawData/`` or a zip holding ``RawData/`` (the official archive). ``labels.txt`` rows are ``experiment user
activity start end``: 0-based rows of ``acc_expXX_userYY.txt``/``gyro_expXX_userYY.txt``, both ends inclusive.
Windows of ``WINDOW`` readings are cut every ``STEP`` from each segment's start and kept when they lie inside it,
which gives HAPT's official window counts. The model's input is the 6 raw channels (``RAW_CHANNELS``).

Users are sorted and dealt round-robin into ``folds``; fold ``test_fold`` is the test set, and the validation split
holds out further whole users, so nobody's windows are on two sides.
"""

from __future__ import annotations

import gzip
import io
import re
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
from pydantic import Field, model_validator

from keraslab.data.splits import DataUnavailable, Splits
from keraslab.models.rnn import RAW_CHANNELS
from keraslab.projects.activity.sequences import SequenceOptions, make_splits

if TYPE_CHECKING:
    from keraslab.config import DataSpec

WINDOW, STEP, RATE_HZ = 128, 64, 50
CLASS_NAMES = [
    "WALKING",
    "WALKING_UPSTAIRS",
    "WALKING_DOWNSTAIRS",
    "SITTING",
    "STANDING",
    "LAYING",
    "STAND_TO_SIT",
    "SIT_TO_STAND",
    "SIT_TO_LIE",
    "LIE_TO_SIT",
    "STAND_TO_LIE",
    "LIE_TO_STAND",
]
LAYOUT = "RawData/labels.txt and RawData/{acc,gyro}_expXX_userYY.txt (each plain or .gz)"

Reader = Callable[[str], bytes]  # a name below RawData/ (without .gz) -> its text's bytes


class Options(SequenceOptions):
    """``[data.options]`` of ``hapt``."""

    transitions: bool = Field(False, description="12 classes: the 6 activities and the 6 postural transitions")
    features: Literal["raw", "inertial"] = Field(
        "inertial", description="the model's fixed first layer (inertial: gravity/body/orientation/magnitudes)"
    )
    folds: int = Field(3, ge=2, description="users dealt round-robin (sorted) into this many folds")
    test_fold: int = Field(0, ge=0, description="the fold whose users form the test set")

    @model_validator(mode="after")
    def _fold_exists(self) -> Options:
        if self.test_fold >= self.folds:
            raise ValueError(
                f"test_fold = {self.test_fold} but there are only {self.folds} folds (0..{self.folds - 1})"
            )
        return self


def _decoded(name: str, data: bytes) -> bytes:
    try:
        return gzip.decompress(data) if name.endswith(".gz") else data
    except (OSError, EOFError) as exc:
        raise DataUnavailable(f"{name}: not a complete gzip file ({exc})") from None


def folder_reader(root: Path) -> Reader:
    def read(name: str) -> bytes:
        for path in (root / name, root / f"{name}.gz"):
            if path.is_file():
                return _decoded(str(path), path.read_bytes())
        raise DataUnavailable(f"{root / name}(.gz): file not found (expected {LAYOUT})")

    return read


def zip_reader(path: Path) -> Reader | None:
    """A reader over a zip holding ``RawData/labels.txt(.gz)`` (at any depth), else None."""
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        raise DataUnavailable(f"{path}: not a readable zip archive ({exc})") from None
    names = set(archive.namelist())
    found = next((m for n in sorted(names) if (m := re.match(r"(.*RawData/)labels\.txt(\.gz)?$", n))), None)
    if found is None:
        return None
    prefix = found[1]

    def read(name: str) -> bytes:
        for member in (prefix + name, f"{prefix}{name}.gz"):
            if member in names:
                return _decoded(f"{path}:{member}", archive.read(member))
        raise DataUnavailable(f"{path}: {prefix}{name}(.gz) not found (expected {LAYOUT})")

    return read


def find_reader(data_dir: Path) -> tuple[Reader, Path]:
    """The RawData folder (plain or gzipped files) or official zip under ``data_dir/hapt`` or ``data_dir``."""
    folders = [data_dir / "hapt", data_dir]
    for folder in folders:
        for raw in (folder / "RawData", folder):
            if (raw / "labels.txt").is_file() or (raw / "labels.txt.gz").is_file():
                return folder_reader(raw), raw
    for folder in folders:
        for candidate in sorted(folder.glob("*.zip")) if folder.is_dir() else []:
            if reader := zip_reader(candidate):
                return reader, candidate
    raise DataUnavailable(f"HAPT not found in {data_dir}/hapt or {data_dir}: expected {LAYOUT}, or a zip holding them")


def read_table(read: Reader, name: str, columns: int, dtype: type) -> np.ndarray:
    """A whitespace-separated table of ``columns`` numbers per row; anything else names the file."""
    try:
        table = np.loadtxt(io.BytesIO(read(name)), dtype=dtype, ndmin=2)
    except ValueError as exc:
        raise DataUnavailable(f"{name}: expected {columns} numbers per row ({exc})") from None
    if table.shape[1] != columns or not len(table):
        raise DataUnavailable(f"{name}: expected rows of {columns} numbers, found a table of shape {table.shape}")
    return table


def read_recording(read: Reader, experiment: int, user: int, last_row: int) -> np.ndarray:
    """``(T, 6)`` float32 of one experiment; both files must have the same rows, more than ``last_row``."""
    names = [f"{kind}_exp{experiment:02d}_user{user:02d}.txt" for kind in ("acc", "gyro")]
    acc, gyro = (read_table(read, name, 3, np.float32) for name in names)
    for name, table in zip(names, (acc, gyro), strict=True):
        if len(table) <= last_row:
            raise DataUnavailable(
                f"{name}: {len(table)} rows, but labels.txt has a segment ending at row {last_row} (truncated?)"
            )
    if len(acc) != len(gyro):
        raise DataUnavailable(f"{names[0]} has {len(acc)} rows but {names[1]} has {len(gyro)}; expected the same")
    return np.concatenate([acc, gyro], axis=1)


def segment_windows(start: int, end: int) -> range:
    """Start rows of the windows inside the segment ``[start, end]`` (both inclusive)."""
    return range(start, end + 2 - WINDOW, STEP)


def read_windows(read: Reader, classes: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(x (N, WINDOW, 6), y (N,) in 0..classes-1, users (N,))`` of every labelled segment of the first classes."""
    labels = read_table(read, "labels.txt", 5, np.int64)
    if labels[:, 2].min() < 1 or labels[:, 2].max() > len(CLASS_NAMES) or (labels[:, 3] > labels[:, 4]).any():
        raise DataUnavailable("labels.txt: expected rows 'experiment user activity(1-12) start end' with start <= end")
    xs, ys, users = [], [], []
    for (experiment, user), rows in _by_recording(labels).items():
        recording = read_recording(read, experiment, user, int(rows[:, 4].max()))
        for activity, start, end in rows[:, 2:]:
            if activity <= classes:
                starts = list(segment_windows(int(start), int(end)))
                xs += [recording[s : s + WINDOW] for s in starts]
                ys += [activity - 1] * len(starts)
                users += [user] * len(starts)
    if not xs:
        raise DataUnavailable(f"labels.txt: no segment of activities 1-{classes} holds a {WINDOW}-reading window")
    return np.stack(xs), np.array(ys, dtype=np.int64), np.array(users, dtype=np.int64)


def _by_recording(labels: np.ndarray) -> dict[tuple[int, int], np.ndarray]:
    keys = sorted({(int(e), int(u)) for e, u in labels[:, :2]})
    return {(e, u): labels[(labels[:, 0] == e) & (labels[:, 1] == u)] for e, u in keys}


def subject_folds(users: np.ndarray, folds: int) -> list[list[int]]:
    """The users (sorted) dealt round-robin into ``folds`` lists."""
    unique = sorted(np.unique(users).tolist())
    if len(unique) < folds:
        raise DataUnavailable(f"{folds} folds need at least {folds} users, found {len(unique)}")
    return [unique[k::folds] for k in range(folds)]


def load(spec: DataSpec, data_dir: Path | None, seed: int) -> Splits:
    """Train/validation/test raw windows ``(N, 128, 6)``; test = one fold of users, validation = other users."""
    if data_dir is None:
        raise DataUnavailable(f"HAPT is read from local files: pass --data-dir DIR holding hapt/{LAYOUT}")
    options = Options.model_validate(spec.options)
    read, where = find_reader(data_dir)
    classes = len(CLASS_NAMES) if options.transitions else 6
    x, y, users = read_windows(read, classes)
    test_users = subject_folds(users, options.folds)[options.test_fold]
    test = np.isin(users, test_users)
    features = None
    if options.features == "inertial":
        from keraslab.models.inertial import inertial_features as features
    return make_splits(
        spec,
        seed,
        train=(x[~test], y[~test], users[~test]),
        test=(x[test], y[test]),
        class_names=CLASS_NAMES[:classes],
        channels=RAW_CHANNELS,
        source=f"hapt:{where.resolve()}",
        features=features,
        model_params={"features": options.features},
        extra={"test_subjects": test_users, "sample_rate_hz": RATE_HZ},
    )
