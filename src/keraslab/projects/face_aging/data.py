"""Faces in two domains, young (label 0) and old (label 1), for the photo-aging CycleGAN.

``data.options.source`` picks where they come from:

- ``procedural`` (default): ``procedural`` draws ``count`` faces per domain from seeds (no files);
- ``folder``: any folder with ``young/`` and ``old/`` subfolders of PNG/JPEG images (``path``);
- ``utkface``: a UTKFace folder (``path``), files ``age_gender_race_datetime.jpg[.chip.jpg]``; ages up to
  ``young_max_age`` are young, from ``old_min_age`` old; faces of every age (also those in between, held out
  by ``test_fraction`` too) train and test the age regressor of the evaluation (``DataInfo.extra["ages"]``);
- ``celeba``: CelebA through tensorflow-datasets, split by its ``Young`` attribute (fails fast offline).

Images are centre-cropped to a square and resized to ``image_size``. Unreadable images, images smaller than
``min_size`` and UTKFace names without an age are skipped and counted (``DataInfo.extra["skipped"]``), not fatal.
Test (``test_fraction``) and validation (``data.validation_split``) take that fraction of *each* domain.
A relative ``path`` is looked up in ``--data-dir`` first.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
from pydantic import Field, model_validator

from keraslab.config import Strict
from keraslab.data.splits import DataInfo, DataUnavailable, Splits

if TYPE_CHECKING:
    from keraslab.config import DataSpec

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png"}
UTKFACE_NAME = re.compile(r"^(\d{1,3})_\d+_\d+_\d+\.jpg(\.chip\.jpg)?$", re.IGNORECASE)
CELEBA_URL = "https://drive.google.com/"
YOUNG, OLD = 0, 1
MIDDLE = -1  # utkface: an age in neither domain (used by the age regressor only)


@dataclass(frozen=True)
class AgeSet:
    """Faces with their ages (years), for the age regressor: training faces and held-out test faces."""

    x_train: np.ndarray
    ages_train: np.ndarray
    x_test: np.ndarray
    ages_test: np.ndarray
    epochs: int


class Options(Strict):
    """``[data.options]`` of the faces dataset."""

    source: Literal["procedural", "folder", "utkface", "celeba"] = "procedural"
    path: str | None = Field(None, description="folder / utkface: the folder (relative: inside --data-dir)")
    image_size: int = Field(64, ge=16, le=512)
    count: int = Field(1000, ge=2, description="procedural: faces per domain")
    young_max_age: int = Field(30, ge=0)
    old_min_age: int = Field(50, ge=0)
    min_size: int = Field(32, ge=1, description="images with a shorter side are skipped")
    max_images: int | None = Field(None, ge=2, description="celeba: use at most this many images")
    test_fraction: float = Field(0.1, ge=0.0, lt=1.0)
    age_epochs: int = Field(8, ge=1, description="utkface: epochs of the age regressor trained for the test metrics")

    @model_validator(mode="after")
    def _consistent(self) -> Options:
        if self.source in ("folder", "utkface") and not self.path:
            raise ValueError(f"source = {self.source!r} needs path = the folder holding the images")
        if self.image_size % 4:
            raise ValueError(f"image_size = {self.image_size} must be a multiple of 4")
        if self.young_max_age >= self.old_min_age:
            raise ValueError(f"young_max_age ({self.young_max_age}) must be below old_min_age ({self.old_min_age})")
        return self


def load(spec: DataSpec, data_dir: Path | None, seed: int) -> Splits:
    """Train/validation/test images (uint8 N×S×S×3) with domain labels (0 young, 1 old)."""
    opts = Options.model_validate(spec.options)
    skipped: Counter[str] = Counter()
    ages = None
    if opts.source == "procedural":
        images, labels = procedural(opts)
        source = f"procedural:{opts.count}x2"
    elif opts.source == "celeba":
        images, labels = celeba(opts, skipped)
        source = "tfds:celeb_a"
    else:
        folder = resolve(opts.path or "", data_dir)
        if opts.source == "utkface":
            images, labels, ages = utkface(folder, opts, skipped)
        else:
            images, labels = young_old_folder(folder, opts, skipped)
        source = f"{opts.source}:{folder.resolve()}"
    if min(np.sum(labels == YOUNG), np.sum(labels == OLD)) < 2:
        raise DataUnavailable(f"faces ({source}): need at least 2 young and 2 old images; skipped {dict(skipped)}")
    test, rest = stratified(labels, opts.test_fraction, seed)
    age_set = None if ages is None else AgeSet(images[rest], ages[rest], images[test], ages[test], opts.age_epochs)
    test, rest = test[labels[test] != MIDDLE], rest[labels[rest] != MIDDLE]
    val, train = stratified(labels[rest], spec.validation_split, seed + 1)
    x_train, y_train, x_val, y_val = images[rest][train], labels[rest][train], images[rest][val], labels[rest][val]
    info = DataInfo(
        source=source,
        model_params={"input_shape": (opts.image_size, opts.image_size, 3)},
        class_names=["young", "old"],
        sizes={"train": len(x_train), "validation": len(x_val), "test": len(test)},
        extra={"skipped": dict(skipped), "procedural": opts.source == "procedural", "ages": age_set},
    )
    return Splits(x_train, y_train, x_val, y_val, images[test], labels[test], info)


def stratified(labels: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(held, rest)``: a seeded ``fraction`` of each label held out (at least one when fraction > 0)."""
    rng = np.random.default_rng(seed)
    held, rest = [], []
    for label in (YOUNG, OLD, MIDDLE):
        members = rng.permutation(np.flatnonzero(labels == label))
        n = min(len(members) - 1, max(1, round(len(members) * fraction))) if fraction else 0
        held.append(members[:n])
        rest.append(members[n:])
    return np.sort(np.concatenate(held)), np.sort(np.concatenate(rest))


def procedural(opts: Options) -> tuple[np.ndarray, np.ndarray]:
    from keraslab.projects.face_aging.procedural import procedural_faces

    young = procedural_faces(range(opts.count), old=False, size=opts.image_size)
    old = procedural_faces(range(opts.count, 2 * opts.count), old=True, size=opts.image_size)
    return np.concatenate([young, old]), np.repeat(np.array([YOUNG, OLD], np.int64), opts.count)


def resolve(path: str, data_dir: Path | None) -> Path:
    candidates = [Path(path).expanduser()]
    if data_dir is not None and not Path(path).is_absolute():
        candidates.insert(0, data_dir / path)
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    raise DataUnavailable(f"faces: folder {path!r} not found (looked in {', '.join(map(str, candidates))})")


def young_old_folder(folder: Path, opts: Options, skipped: Counter[str]) -> tuple[np.ndarray, np.ndarray]:
    images, labels = [], []
    for label, name in ((YOUNG, "young"), (OLD, "old")):
        sub = folder / name
        if not sub.is_dir():
            raise DataUnavailable(f"faces: {folder} has no {name}/ subfolder; expected young/ and old/ with images")
        for path in image_files(sub):
            if (image := read_face(path, opts, skipped)) is not None:
                images.append(image)
                labels.append(label)
    return stacked(images, opts), np.asarray(labels, np.int64)


def utkface(folder: Path, opts: Options, skipped: Counter[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Faces of every age: images, domain labels (``MIDDLE`` between the thresholds) and ages."""
    images, labels, ages = [], [], []
    for path in image_files(folder):
        match = UTKFACE_NAME.match(path.name)
        if match is None:
            skipped["no_age_in_name"] += 1
            continue
        age = int(match.group(1))
        if (image := read_face(path, opts, skipped)) is not None:
            images.append(image)
            labels.append(YOUNG if age <= opts.young_max_age else OLD if age >= opts.old_min_age else MIDDLE)
            ages.append(age)
    return stacked(images, opts), np.asarray(labels, np.int64), np.asarray(ages, np.float32)


def image_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.name.lower().endswith(tuple(IMAGE_SUFFIXES)))


def read_face(path: Path, opts: Options, skipped: Counter[str]) -> np.ndarray | None:
    """The image as a centre-cropped ``image_size`` square, or None (counted in ``skipped``)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            rgb = image.convert("RGB")
    except (OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombError):
        skipped["unreadable"] += 1
        return None
    if min(rgb.size) < opts.min_size:
        skipped["too_small"] += 1
        return None
    return square(np.asarray(rgb), opts.image_size)


def square(image: np.ndarray, size: int) -> np.ndarray:
    """Centre-crop an H×W×3 uint8 image to a square and resize it to ``size``."""
    from PIL import Image

    h, w = image.shape[:2]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    crop = Image.fromarray(image[top : top + side, left : left + side])
    return np.asarray(crop.resize((size, size), Image.Resampling.LANCZOS), dtype=np.uint8)


def stacked(images: list[np.ndarray], opts: Options) -> np.ndarray:
    return np.stack(images) if images else np.zeros((0, opts.image_size, opts.image_size, 3), np.uint8)


def celeba(opts: Options, skipped: Counter[str]) -> tuple[np.ndarray, np.ndarray]:
    import tensorflow_datasets as tfds

    from keraslab.data.remote import tfds_load

    remedy = "Prepare it once online, or use data.options.source = 'folder' (young/ and old/) or 'utkface' with a path"
    ds = tfds_load("celeb_a", "train", CELEBA_URL, remedy)
    if opts.max_images:
        ds = ds.take(opts.max_images)
    images, labels = [], []
    for example in tfds.as_numpy(ds):
        if min(example["image"].shape[:2]) < opts.min_size:
            skipped["too_small"] += 1
            continue
        images.append(square(example["image"], opts.image_size))
        labels.append(YOUNG if example["attributes"]["Young"] else OLD)
    return stacked(images, opts), np.asarray(labels, np.int64)
