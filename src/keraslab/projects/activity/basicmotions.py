"""BasicMotions (UEA archive): smartwatch accelerometer + gyroscope, 6 channels × 100 steps, 4 activities.

Read from ``--data-dir`` in the sktime/aeon ``.ts`` format: ``basicmotions/BasicMotions_{TRAIN,TEST}.ts``. The
files name no subjects, so the validation split is stratified by class.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from keraslab.data.splits import DataUnavailable, Splits
from keraslab.projects.activity.sequences import SequenceOptions as Options  # noqa: F401 (the registry reads it)
from keraslab.projects.activity.sequences import make_splits, pad

if TYPE_CHECKING:
    from keraslab.config import DataSpec

FILES = {"train": "BasicMotions_TRAIN.ts", "test": "BasicMotions_TEST.ts"}
DOWNLOAD_URL = "https://timeseriesclassification.com/aeon-toolkit/BasicMotions.zip"
CHANNELS = ["acc_x", "acc_y", "acc_z", "gyro_x", "gyro_y", "gyro_z"]


@dataclass(frozen=True)
class TsFile:
    """A classification ``.ts`` file: one ``(T_i, C)`` array per case (NaN for '?') and its label."""

    problem: str
    class_labels: list[str]
    series: list[np.ndarray]
    labels: list[str]


def read_ts(path: Path) -> TsFile:
    """Parse a sktime/aeon ``.ts`` classification file (no timestamps), checking it against its header."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DataUnavailable(f"{path}: cannot read ({exc})") from exc
    header: dict[str, str] = {}
    body: list[tuple[int, str]] = []
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if body or header.get("@data") is not None:
            body.append((number, line))
        elif line.startswith("@"):
            key, _, value = line.partition(" ")
            header[key.lower()] = value.strip()
        else:
            raise DataUnavailable(f"{path}:{number}: expected a @header line before @data, got {line[:40]!r}")
    if "@data" not in header:
        raise DataUnavailable(f"{path}: no @data section")
    return _parse_body(path, header, body)


def _parse_body(path: Path, header: dict[str, str], body: list[tuple[int, str]]) -> TsFile:
    if header.get("@timestamps", "false").lower() == "true":
        raise DataUnavailable(f"{path}: @timeStamps true is not supported (expected plain value lists)")
    class_label = header.get("@classlabel", "").split()
    if not class_label or class_label[0].lower() != "true" or len(class_label) < 3:
        raise DataUnavailable(f"{path}: expected '@classLabel true <label> <label> ...' (a classification problem)")
    classes = class_label[1:]
    dims = 1 if header.get("@univariate", "").lower() == "true" else _count(path, header, "@dimensions", "1")
    equal = header.get("@equallength", "true").lower() == "true"
    declared = _count(path, header, "@serieslength") if equal and "@serieslength" in header else None
    series, labels = [], []
    for number, line in body:
        *channels, label = line.split(":")
        where = f"{path}:{number}"
        if len(channels) != dims:
            raise DataUnavailable(f"{where}: {len(channels)} channels, but the header declares {dims}")
        if label.strip() not in classes:
            raise DataUnavailable(f"{where}: label {label.strip()!r} is not one of @classLabel {classes}")
        values = [_values(where, c) for c in channels]
        lengths = {len(v) for v in values}
        if equal and (len(lengths) > 1 or lengths != {declared or min(lengths)}):
            raise DataUnavailable(
                f"{where}: channel lengths {sorted(lengths)} but the header declares @equalLength true"
                + (f" (length {declared})" if declared is not None else "")
            )
        if equal and declared is None:
            declared = next(iter(lengths))  # no @seriesLength: the first case sets it
        case = np.full((max(lengths), dims), np.nan, dtype=np.float32)
        for c, v in enumerate(values):
            case[: len(v), c] = v
        series.append(case)
        labels.append(label.strip())
    if not series:
        raise DataUnavailable(f"{path}: no cases after @data")
    return TsFile(header.get("@problemname", path.stem), classes, series, labels)


def _count(path: Path, header: dict[str, str], key: str, default: str = "") -> int:
    """A header value that must be a positive whole number (``@dimensions``, ``@seriesLength``)."""
    text = header.get(key, default)
    if not text.isdigit() or int(text) < 1:
        raise DataUnavailable(f"{path}: {key} {text!r} is not a positive whole number")
    return int(text)


def _values(where: str, text: str) -> np.ndarray:
    try:
        return np.array([np.nan if v.strip() == "?" else float(v) for v in text.split(",")], dtype=np.float32)
    except ValueError as exc:
        raise DataUnavailable(f"{where}: not a comma-separated list of numbers or '?' ({exc})") from None


def find_file(data_dir: Path, name: str) -> Path:
    for folder in (data_dir / "basicmotions", data_dir / "BasicMotions", data_dir):
        if (folder / name).is_file():
            return folder / name
    raise DataUnavailable(
        f"BasicMotions file {name} not found in {data_dir}/basicmotions or {data_dir}; expected "
        f"basicmotions/{FILES['train']} and basicmotions/{FILES['test']} (from {DOWNLOAD_URL})"
    )


def load(spec: DataSpec, data_dir: Path | None, seed: int) -> Splits:
    """Train/validation/test float32 arrays ``(N, T, 6)`` with int64 labels, from the two ``.ts`` files."""
    if data_dir is None:
        raise DataUnavailable(
            f"BasicMotions is read from local files: pass --data-dir DIR (or set KERASLAB_DATA_DIR) holding "
            f"basicmotions/{FILES['train']} and basicmotions/{FILES['test']} (download {DOWNLOAD_URL})"
        )
    train, test = (read_ts(find_file(data_dir, FILES[split])) for split in ("train", "test"))
    if test.class_labels != train.class_labels:
        raise DataUnavailable(
            f"train and test files declare different classes: {train.class_labels} vs {test.class_labels}"
        )
    length = max(len(s) for s in train.series + test.series)
    index = {label: i for i, label in enumerate(train.class_labels)}
    arrays = [
        (pad(f.series, length), np.array([index[label] for label in f.labels], dtype=np.int64)) for f in (train, test)
    ]
    dims = arrays[0][0].shape[-1]
    return make_splits(
        spec,
        seed,
        train=(*arrays[0], None),
        test=arrays[1],
        class_names=train.class_labels,
        channels=CHANNELS if dims == len(CHANNELS) else [f"channel_{c}" for c in range(dims)],
        source=f"ts:{find_file(data_dir, FILES['train']).parent.resolve()}",
    )
