"""AirCalc symbols: MNIST digits (the official files, via ``keraslab.projects.mnist.data``) plus generated operators.

Operators are drawn by ``strokes`` with one seed per split — training ``seed``,
validation ``seed + 1``, test ``seed + 2`` — so the test operators come from a generator state the model
never saw. A fraction of the training digits is redrawn as the image path sees a digit of a photo or a
composed line: resampled at another resolution, then drawn by ``normalise`` at the line's
scale, possibly smaller than the line (``digit_scale_*``); a fraction is drawn with a thicker or thinner pen
(``digit_pen_fraction``), as operators are. Likewise a fraction of the training operators is drawn in pixels
and normalised as the image path sees them (``operator_image_fraction``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from pydantic import Field

from keraslab.config import Strict
from keraslab.data.splits import DataInfo, Splits
from keraslab.projects.aircalc.normalise import normalise_patch
from keraslab.projects.aircalc.strokes import operator_images
from keraslab.projects.aircalc.symbols import CLASS_NAMES, INDEX, OPERATORS
from keraslab.projects.mnist import data as mnist

if TYPE_CHECKING:
    from keraslab.config import DataSpec

RESAMPLE = (0.6, 3.0)  # resolution of a redrawn digit relative to MNIST's 20-pixel box (log-uniform)
THIN_CUT = 0.45  # a thinner pen: ink below this is dropped (the stroke's soft edges), the rest rescaled


class Options(Strict):
    """``[data.options]`` of an aircalc project."""

    operators_per_class: int = Field(4000, ge=1, description="generated training images per operator")
    test_operators_per_class: int = Field(1000, ge=1, description="generated test images per operator")
    digit_scale_min: float = Field(0.7, gt=0.2, le=1.0, description="smallest size of a shrunk training digit")
    digit_scale_fraction: float = Field(0.3, ge=0.0, le=1.0, description="fraction of training digits redrawn")
    digit_pen_fraction: float = Field(0.3, ge=0.0, le=1.0, description="fraction of training digits re-penned")
    operator_image_fraction: float = Field(
        0.0, ge=0.0, le=1.0, description="fraction of training operators drawn as the image path sees them"
    )
    max_digits: int | None = Field(None, ge=1, description="use only this many training digits (quick runs)")


def load(spec: DataSpec, data_dir: Path | None, seed: int) -> Splits:
    """Digits and operators, shuffled together; labels index ``CLASS_NAMES`` (digits keep MNIST's)."""
    opts = Options.model_validate(spec.options)
    digits = mnist.load(spec, data_dir, seed)
    rng = np.random.default_rng(seed)
    x_digits, y_digits = digits.x_train[: opts.max_digits], digits.y_train[: opts.max_digits]
    x_digits = redraw_some(x_digits, opts.digit_scale_fraction, opts.digit_scale_min, rng)
    x_digits = repen_some(x_digits, opts.digit_pen_fraction, rng)
    n_val = round(opts.operators_per_class * spec.validation_split) if len(digits.x_val) else 0
    x_train, y_train = with_operators(
        x_digits, y_digits, opts.operators_per_class, seed, rng, opts.operator_image_fraction
    )
    x_val, y_val = with_operators(digits.x_val, digits.y_val, n_val, seed + 1, rng)
    x_test, y_test = with_operators(digits.x_test, digits.y_test, opts.test_operators_per_class, seed + 2, None)
    info = DataInfo(
        source=f"{digits.info.source} + generated operators",
        model_params={"input_shape": (28, 28, 1), "num_classes": len(CLASS_NAMES)},
        class_names=list(CLASS_NAMES),
        sizes={"train": len(x_train), "validation": len(x_val), "test": len(x_test)},
        extra={"operator_seeds": {"train": seed, "validation": seed + 1, "test": seed + 2}},
    )
    return Splits(x_train, y_train, x_val, y_val, x_test, y_test, info)


def with_operators(
    x: np.ndarray,
    y: np.ndarray,
    per_class: int,
    seed: int,
    rng: np.random.Generator | None,
    image_fraction: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Append ``per_class`` generated images of each operator (``image_fraction`` of them drawn through the
    image path, see ``operator_images``); shuffle with ``rng`` (None: keep order)."""
    if per_class:
        images, labels = operator_images(OPERATORS, per_class, seed, image_fraction)
        x = np.concatenate([x, images[..., None]])
        y = np.concatenate([y, np.array([INDEX[label] for label in labels], np.int64)])
    if rng is not None:
        order = rng.permutation(len(x))
        x, y = x[order], y[order]
    return x, y


def redraw_some(x: np.ndarray, fraction: float, smallest: float, rng: np.random.Generator) -> np.ndarray:
    """Redraw a random ``fraction`` of the digits: resampled at a random resolution (``RESAMPLE`` × the
    original), then normalised at a random size in [smallest, 1] of the line height, as ``read_image`` does."""
    from PIL import Image

    x = x.copy()
    for i in np.flatnonzero(rng.random(len(x)) < fraction):
        ink = x[i, :, :, 0].astype(np.float32) / 255.0
        rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
        if len(rows) == 0:
            continue
        crop = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
        factor = float(np.exp(rng.uniform(*np.log(RESAMPLE))))
        size = (max(1, round(crop.shape[1] * factor)), max(1, round(crop.shape[0] * factor)))
        crop = np.asarray(Image.fromarray(crop, mode="F").resize(size, Image.Resampling.BILINEAR))
        line = max(crop.shape) / rng.uniform(smallest, 1.0)
        x[i, :, :, 0] = (normalise_patch(np.clip(crop, 0.0, 1.0), line) * 255).round().astype(np.uint8)
    return x


def repen_some(x: np.ndarray, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """Redraw a random ``fraction`` of the digits with a pen about a pixel thicker (half) or thinner (half)."""
    from scipy import ndimage

    x = x.copy()
    for i in np.flatnonzero(rng.random(len(x)) < fraction):
        ink = x[i, :, :, 0].astype(np.float32) / 255.0
        if rng.random() < 0.5:
            ink = ndimage.grey_dilation(ink, size=(2, 2))
        else:
            ink = np.clip((ink - THIN_CUT) / (1 - THIN_CUT), 0.0, 1.0)
        x[i, :, :, 0] = (ink * 255).round().astype(np.uint8)
    return x
