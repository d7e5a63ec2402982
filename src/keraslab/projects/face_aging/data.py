"""Faces in two domains, young (label 0) and old (label 1), for the photo-aging CycleGAN.

``data.options.source`` picks where they come from:

- ``auto`` (default): UTKFace when ``path`` (default ``utkface``, inside ``--data-dir``) holds UTKFace-named
  files, otherwise procedural faces, with a warning that says so;
- ``utkface``: a UTKFace folder (``path``), files ``age_gender_race_datetime.jpg[.chip.jpg]``; adults from
  ``young_min_age`` to ``young_max_age`` are young, from ``old_min_age`` old (children are another
  transformation). The age regressor of the evaluation (``DataInfo.extra["ages"]``) trains on faces the
  generator never sees: every face outside the domains and ``age_fraction`` of the domains' duplicate groups;
- ``procedural``: ``procedural`` draws ``count`` faces per domain from seeds (no files);
- ``folder``: any folder with ``young/`` and ``old/`` subfolders of PNG/JPEG images (``path``);
- ``celeba``: CelebA through tensorflow-datasets, split by its ``Young`` attribute (fails fast offline).

Images are centre-cropped to a square and resized to ``image_size``. Unreadable images, images smaller than
``min_size`` and UTKFace names without an age are skipped and counted (``DataInfo.extra["skipped"]``), not fatal.
Duplicates (the same photo under two names or re-encoded, ``groups``) are grouped before any split: test
(``test_fraction``), the regressor's share and validation (``data.validation_split``) take whole groups, that
fraction of *each* domain. ``flip`` and ``jitter`` are the training augmentation (``task``): a mirror image and
a shift of a few pixels, nothing that changes apparent age. A relative ``path`` is looked up in ``--data-dir``
first.
"""

from __future__ import annotations

import re
import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
from pydantic import Field, model_validator

from keraslab.config import Strict
from keraslab.data.splits import DataInfo, DataUnavailable, Splits
from keraslab.projects.face_aging.groups import duplicate_groups, grouped_split

if TYPE_CHECKING:
    from keraslab.config import DataSpec

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png"}
UTKFACE_NAME = re.compile(r"^(\d{1,3})_\d+_\d+_\d+\.jpg(\.chip\.jpg)?$", re.IGNORECASE)
CELEBA_URL = "https://drive.google.com/"
YOUNG, OLD = 0, 1
OTHER = -1  # utkface: an age in neither domain (used by the age regressor only)


class ProceduralFallback(UserWarning):
    """``source = 'auto'`` found no real faces and trains on procedural ones."""


@dataclass(frozen=True)
class AgeSet:
    """Faces with their ages (years), for the age regressor: its training faces (none of the generator's) and
    the held-out test faces."""

    x_train: np.ndarray
    ages_train: np.ndarray
    x_test: np.ndarray
    ages_test: np.ndarray
    epochs: int


@dataclass(frozen=True)
class Faces:
    images: np.ndarray
    labels: np.ndarray
    ages: np.ndarray | None
    source: str
    distinct: bool = False  # known to hold no duplicates (procedural faces: one per seed)


class Options(Strict):
    """``[data.options]`` of the faces dataset."""

    source: Literal["auto", "procedural", "folder", "utkface", "celeba"] = "auto"
    path: str | None = Field("utkface", description="auto / folder / utkface: the folder (relative: in --data-dir)")
    image_size: int = Field(64, ge=16, le=512)
    count: int = Field(1000, ge=2, description="procedural: faces per domain")
    young_min_age: int = Field(18, ge=0)
    young_max_age: int = Field(30, ge=0)
    old_min_age: int = Field(60, ge=0)
    age_fraction: float = Field(0.3, ge=0.0, lt=1.0, description="utkface: domain faces kept for the regressor")
    min_size: int = Field(32, ge=1, description="images with a shorter side are skipped")
    max_images: int | None = Field(None, ge=2, description="celeba: use at most this many images")
    test_fraction: float = Field(0.1, ge=0.0, lt=1.0)
    age_epochs: int = Field(8, ge=1, description="utkface: epochs of the age regressor trained for the test metrics")
    flip: bool = Field(True, description="training augmentation: mirror faces at random")
    jitter: float = Field(0.05, ge=0.0, le=0.25, description="training augmentation: random shift, fraction of size")

    @model_validator(mode="after")
    def _consistent(self) -> Options:
        if self.source in ("folder", "utkface") and not self.path:
            raise ValueError(f"source = {self.source!r} needs path = the folder holding the images")
        if self.image_size % 4:
            raise ValueError(f"image_size = {self.image_size} must be a multiple of 4")
        if not self.young_min_age <= self.young_max_age < self.old_min_age:
            raise ValueError(
                f"ages must satisfy young_min_age ({self.young_min_age}) <= young_max_age ({self.young_max_age}) "
                f"< old_min_age ({self.old_min_age})"
            )
        return self


def load(spec: DataSpec, data_dir: Path | None, seed: int) -> Splits:
    """Train/validation/test images (uint8 N×S×S×3) with domain labels (0 young, 1 old)."""
    opts = Options.model_validate(spec.options)
    skipped: Counter[str] = Counter()
    faces = read_faces(opts, data_dir, skipped)
    images, labels, ages = faces.images, faces.labels, faces.ages
    if min(np.sum(labels == YOUNG), np.sum(labels == OLD)) < 2:
        raise DataUnavailable(
            f"faces ({faces.source}): need at least 2 young and 2 old images; skipped {dict(skipped)}"
        )
    groups = np.arange(len(images)) if faces.distinct else duplicate_groups(images)
    test, rest = grouped_split(labels, groups, opts.test_fraction, seed)
    age_set = None
    if ages is not None:
        domain = rest[labels[rest] != OTHER]
        judge, generator = grouped_split(labels[domain], groups[domain], opts.age_fraction, seed + 2)
        regressor = np.sort(np.concatenate([rest[labels[rest] == OTHER], domain[judge]]))
        age_set = AgeSet(images[regressor], ages[regressor], images[test], ages[test], opts.age_epochs)
        rest = domain[generator]
    test = test[labels[test] != OTHER]
    val, train = grouped_split(labels[rest], groups[rest], spec.validation_split, seed + 1)
    x_train, y_train, x_val, y_val = images[rest][train], labels[rest][train], images[rest][val], labels[rest][val]
    info = DataInfo(
        source=faces.source,
        model_params={"input_shape": (opts.image_size, opts.image_size, 3)},
        class_names=["young", "old"],
        sizes={"train": len(x_train), "validation": len(x_val), "test": len(test)},
        extra={
            "skipped": dict(skipped),
            "ages": age_set,
            "real_faces": not faces.distinct,
            "duplicates": int(len(groups) - len(np.unique(groups))),
        },
    )
    return Splits(x_train, y_train, x_val, y_val, images[test], labels[test], info)


def read_faces(opts: Options, data_dir: Path | None, skipped: Counter[str]) -> Faces:
    """The faces of ``opts.source`` (``auto`` resolved: UTKFace if found, else procedural with a warning)."""
    if opts.source == "auto":
        folder = find_utkface(opts.path or "", data_dir)
        if folder is None:
            where = f"{opts.path!r} in --data-dir {data_dir}" if data_dir else f"{opts.path!r} (no --data-dir)"
            warnings.warn(
                f"faces: no UTKFace faces found at {where}; training on procedural faces instead "
                "(set data.options.source = 'procedural' to ask for them)",
                ProceduralFallback,
                stacklevel=2,
            )
            return procedural(opts, note=" (no real faces found)")
        return utkface(folder, opts, skipped)
    if opts.source == "procedural":
        return procedural(opts)
    if opts.source == "celeba":
        return celeba(opts, skipped)
    folder = resolve(opts.path or "", data_dir)
    return utkface(folder, opts, skipped) if opts.source == "utkface" else young_old_folder(folder, opts, skipped)


def find_utkface(path: str, data_dir: Path | None) -> Path | None:
    """The folder ``path`` if it exists and holds a UTKFace-named image, else None."""
    try:
        folder = resolve(path, data_dir)
    except DataUnavailable:
        return None
    return folder if any(UTKFACE_NAME.match(p.name) for p in folder.iterdir() if p.is_file()) else None


def procedural(opts: Options, note: str = "") -> Faces:
    from keraslab.projects.face_aging.procedural import procedural_faces

    young = procedural_faces(range(opts.count), old=False, size=opts.image_size)
    old = procedural_faces(range(opts.count, 2 * opts.count), old=True, size=opts.image_size)
    labels = np.repeat(np.array([YOUNG, OLD], np.int64), opts.count)
    return Faces(np.concatenate([young, old]), labels, None, f"procedural:{opts.count}x2{note}", distinct=True)


def resolve(path: str, data_dir: Path | None) -> Path:
    candidates = [Path(path).expanduser()]
    if data_dir is not None and not Path(path).is_absolute():
        candidates.insert(0, data_dir / path)
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    raise DataUnavailable(f"faces: folder {path!r} not found (looked in {', '.join(map(str, candidates))})")


def young_old_folder(folder: Path, opts: Options, skipped: Counter[str]) -> Faces:
    images, labels = [], []
    for label, name in ((YOUNG, "young"), (OLD, "old")):
        sub = folder / name
        if not sub.is_dir():
            raise DataUnavailable(f"faces: {folder} has no {name}/ subfolder; expected young/ and old/ with images")
        for path in image_files(sub):
            if (image := read_face(path, opts, skipped)) is not None:
                images.append(image)
                labels.append(label)
    return Faces(stacked(images, opts), np.asarray(labels, np.int64), None, f"folder:{folder.resolve()}")


def utkface(folder: Path, opts: Options, skipped: Counter[str]) -> Faces:
    """Faces of every age with their domain labels (``OTHER`` outside both domains) and ages."""
    images, labels, ages = [], [], []
    for path in image_files(folder):
        match = UTKFACE_NAME.match(path.name)
        if match is None:
            skipped["no_age_in_name"] += 1
            continue
        age = int(match.group(1))
        if (image := read_face(path, opts, skipped)) is not None:
            images.append(image)
            labels.append(domain(age, opts))
            ages.append(age)
    labels_, ages_ = np.asarray(labels, np.int64), np.asarray(ages, np.float32)
    return Faces(stacked(images, opts), labels_, ages_, f"utkface:{folder.resolve()}")


def domain(age: int, opts: Options) -> int:
    """YOUNG, OLD or OTHER for an age in years."""
    if opts.young_min_age <= age <= opts.young_max_age:
        return YOUNG
    return OLD if age >= opts.old_min_age else OTHER


def image_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.name.lower().endswith(tuple(IMAGE_SUFFIXES)))


def read_face(path: Path, opts: Options, skipped: Counter[str]) -> np.ndarray | None:
    """The image as a centre-cropped ``image_size`` square, or None (counted in ``skipped``)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            rgb = image.convert("RGB")
    except (OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombError) as exc:
        warnings.warn(f"{path}: unreadable image, skipped ({exc})", stacklevel=2)  # truncated or corrupt
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


def celeba(opts: Options, skipped: Counter[str]) -> Faces:
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
    return Faces(stacked(images, opts), np.asarray(labels, np.int64), None, "tfds:celeb_a")
