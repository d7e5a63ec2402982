"""Real handwritten operators (``<data dir>/handwritten-operators``): one folder of 28×28 PNGs per class (white
ink on black, centred by mass, drawn size kept) and ``copies.csv`` mapping each rotated or mirrored copy to the
drawing it was made from (``file,drawn_file,transform``).

Every image belongs to a *drawing*: its own file for a drawing, ``drawn_file`` for a copy. Splits are made over
drawings, never over files, so a drawing and its copies always fall on the same side.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from keraslab.data.splits import DataUnavailable
from keraslab.projects.aircalc.symbols import REAL_FOLDERS

FOLDER = "handwritten-operators"
COPIES = "copies.csv"
COLUMNS = ("file", "drawn_file", "transform")


@dataclass(frozen=True)
class RealOperators:
    images: np.ndarray  # (N, 28, 28) uint8, white ink on black
    labels: np.ndarray  # (N,) the AirCalc class of each image (a string)
    drawings: np.ndarray  # (N,) the drawing's file ("plus/addition_plus-….png") of each image
    files: np.ndarray  # (N,) the image's own file, relative to the folder

    def __len__(self) -> int:
        return len(self.images)

    def subset(self, mask: np.ndarray) -> RealOperators:
        return RealOperators(self.images[mask], self.labels[mask], self.drawings[mask], self.files[mask])


def read_operators(folder: Path) -> RealOperators:
    """Every image of ``folder``'s class folders, with its drawing; bad files are named in a ``DataUnavailable``."""
    from PIL import Image

    drawn_of = read_copies(folder)
    images, labels, drawings, files = [], [], [], []
    for name, label in REAL_FOLDERS.items():
        if not (folder / name).is_dir():
            raise DataUnavailable(
                f"{folder / name}: missing; {folder} needs one folder per class: {', '.join(REAL_FOLDERS)}"
            )
        for path in sorted((folder / name).glob("*.png")):
            file = f"{name}/{path.name}"
            try:
                with Image.open(path) as img:
                    pixels = np.asarray(img.convert("L"))
            except OSError as exc:
                raise DataUnavailable(f"{path}: not a readable PNG ({exc})") from exc
            if pixels.shape != (28, 28):
                raise DataUnavailable(f"{path}: {pixels.shape[1]}×{pixels.shape[0]} pixels; expected 28×28")
            images.append(pixels)
            labels.append(label)
            drawings.append(drawn_of.get(file, file))
            files.append(file)
    missing = sorted(set(drawn_of) - set(files)) + sorted(set(drawn_of.values()) - set(files))
    if missing:
        raise DataUnavailable(f"{folder / COPIES}: names {len(missing)} file(s) not in the folder, e.g. {missing[0]}")
    return RealOperators(np.stack(images), np.array(labels), np.array(drawings), np.array(files))


def read_copies(folder: Path) -> dict[str, str]:
    """``copies.csv``: copy file -> its drawing's file; a copy must keep its drawing's class folder."""
    path = folder / COPIES
    try:
        with path.open(newline="") as fh:
            rows = list(csv.DictReader(fh))
            header = tuple(rows[0]) if rows else ()
    except OSError as exc:
        raise DataUnavailable(f"{path}: cannot read ({exc}); it maps each copy to its drawing") from exc
    if rows and not set(COLUMNS) <= set(header):
        raise DataUnavailable(f"{path}: columns {', '.join(header)}; expected {', '.join(COLUMNS)}")
    copies = {}
    for line, row in enumerate(rows, start=2):
        file, drawn = row["file"] or "", row["drawn_file"] or ""
        if file.split("/")[0] != drawn.split("/")[0]:
            raise DataUnavailable(f"{path}, line {line}: copy {file!r} and drawing {drawn!r} are in different folders")
        copies[file] = drawn
    return copies


def split_by_drawing(
    operators: RealOperators, validation: float, test: float, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Boolean masks (train, validation, test) over the images; each class's drawings are shuffled with ``seed``
    and cut by the fractions (at least one drawing each for validation and test when the class has three)."""
    rng = np.random.default_rng(seed)
    part = np.zeros(len(operators), np.int8)  # 0 train, 1 validation, 2 test
    for label in sorted(set(operators.labels)):
        drawn = sorted(set(operators.drawings[operators.labels == label]))
        order = rng.permutation(len(drawn))
        n_test = max(round(test * len(drawn)), int(test > 0 and len(drawn) >= 3))
        n_val = max(round(validation * len(drawn)), int(validation > 0 and len(drawn) >= 3))
        for rank, i in enumerate(order):
            side = 2 if rank < n_test else 1 if rank < n_test + n_val else 0
            part[operators.drawings == drawn[i]] = side
    return part == 0, part == 1, part == 2
