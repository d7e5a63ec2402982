"""Redraw 28×28 symbol images as AirCalc's two paths will show them: resampled at another resolution and
normalised at the line's scale (the image path), photographed on paper and cut out again (``photographed``), at
another size relative to the line, or with another pen.

MNIST digits and real operators are images, so this is how both reach the trace path's look too: a trace is
rasterised (``raster``) before the CNN sees it, so stroke order never matters, only the pen width, which
``repen`` varies over the trace pen's range.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from keraslab.projects.aircalc import inputs
from keraslab.projects.aircalc.normalise import BOX, normalise_patch
from keraslab.projects.aircalc.strokes import IMAGE_DIGITS

RESAMPLE = (0.6, 3.0)  # resolution of a redrawn symbol relative to MNIST's 20-pixel box (log-uniform)
THIN_CUT = 0.45  # a thinner pen: ink below this is dropped (the stroke's soft edges), the rest rescaled
REAL_SIZE = (0.8, 1.25)  # size of a real operator relative to its drawn size (writers differ; log-uniform)
REAL_TILT = 0.08  # radians (σ) a real operator is turned by
PHOTO_SCALE = (1.0, 3.0)  # resolution of a photographed symbol relative to MNIST's (log-uniform)
PHOTO_BLUR = 0.8  # largest camera blur (σ) in pixels of the 28×28 image


def log_uniform(rng: np.random.Generator, bounds: tuple[float, float]) -> float:
    return float(np.exp(rng.uniform(*np.log(bounds))))


def crop(ink: np.ndarray) -> np.ndarray | None:
    """The ink's bounding box (None when blank)."""
    rows, cols = np.flatnonzero(ink.max(axis=1) > 0.05), np.flatnonzero(ink.max(axis=0) > 0.05)
    if len(rows) == 0:
        return None
    return ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def resample(ink: np.ndarray, factor: float) -> np.ndarray:
    """``ink`` resized by ``factor`` (bilinear, as a camera or a composed line would)."""
    from PIL import Image

    size = (max(1, round(ink.shape[1] * factor)), max(1, round(ink.shape[0] * factor)))
    return np.clip(np.asarray(Image.fromarray(ink.astype(np.float32), mode="F").resize(size, Image.BILINEAR)), 0, 1)


def repen(ink: np.ndarray, thicker: bool) -> np.ndarray:
    """The same strokes with a pen about a pixel thicker, or thinner (soft edges dropped)."""
    if thicker:
        return ndimage.grey_dilation(ink, size=(2, 2))
    return np.clip((ink - THIN_CUT) / (1 - THIN_CUT), 0.0, 1.0)


def redraw_digits(x: np.ndarray, fraction: float, smallest: float, rng: np.random.Generator) -> np.ndarray:
    """Redraw a random ``fraction`` of the digits (uint8, (N, 28, 28, 1)): resampled at a random resolution
    (``RESAMPLE`` × the original), then normalised at a random size in [smallest, 1] of the line height."""
    x = x.copy()
    for i in np.flatnonzero(rng.random(len(x)) < fraction):
        piece = crop(x[i, :, :, 0].astype(np.float32) / 255.0)
        if piece is None:
            continue
        piece = resample(piece, log_uniform(rng, RESAMPLE))
        line = max(piece.shape) / rng.uniform(smallest, 1.0)
        x[i, :, :, 0] = to_uint8(normalise_patch(piece, line))
    return x


def repen_digits(x: np.ndarray, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """Redraw a random ``fraction`` of the digits with a pen a pixel thicker (half) or thinner (half)."""
    x = x.copy()
    for i in np.flatnonzero(rng.random(len(x)) < fraction):
        x[i, :, :, 0] = to_uint8(repen(x[i, :, :, 0].astype(np.float32) / 255.0, rng.random() < 0.5))
    return x


def real_variants(
    images: np.ndarray, count: int, rng: np.random.Generator, image_fraction: float, pen_fraction: float
) -> np.ndarray:
    """``count`` uint8 28×28 variants of real operator images (drawn at a 20-pixel line, as MNIST): each a random
    source, turned slightly, resized (``REAL_SIZE``), possibly re-penned, and with probability ``image_fraction``
    resampled at a random resolution and normalised at a line height measured on digits (the image path)."""
    out = np.empty((count, 28, 28), np.uint8)
    for k, i in enumerate(rng.integers(len(images), size=count)):
        ink = ndimage.rotate(images[i].astype(np.float32) / 255.0, np.degrees(rng.normal(0, REAL_TILT)), order=1)
        if rng.random() < pen_fraction:
            ink = repen(ink, rng.random() < 0.5)
        piece = crop(np.clip(ink, 0.0, 1.0))
        if piece is None:
            out[k] = images[i]
            continue
        line = BOX / log_uniform(rng, REAL_SIZE)  # pixels of the drawing's line, at this size
        if rng.random() < image_fraction:
            factor = log_uniform(rng, RESAMPLE)
            piece, line = resample(piece, factor), line * factor * rng.uniform(*IMAGE_DIGITS)
        out[k] = to_uint8(normalise_patch(piece, line))
    return out


def photographed(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A uint8 28×28 symbol as the image path cuts it out of a photo: written at another resolution, on paper of
    any brightness under uneven light, in ink of any darkness, blurred and noisy; then found again as the reader
    finds ink (``inputs.ink``, ``inputs.binarise``) and normalised at the line's scale.

    Every class goes through it alike: how soft, faint or thin a photographed stroke is then says nothing
    about which symbol it is (without it, photographed MNIST ``1``s were read as the thinner real ``/``)."""
    piece = crop(image.astype(np.float32) / 255.0)
    if piece is None:
        return image
    factor = log_uniform(rng, PHOTO_SCALE)
    line = BOX * factor  # MNIST digits and real operators are drawn at a 20-pixel line
    canvas = np.pad(resample(piece, factor), round(line / 2))
    blurred = ndimage.gaussian_filter(canvas, rng.uniform(0.0, PHOTO_BLUR) * factor)
    rows, cols = np.indices(canvas.shape, dtype=np.float32)
    angle = rng.uniform(0, 2 * np.pi)
    light = (np.cos(angle) * cols / canvas.shape[1] + np.sin(angle) * rows / canvas.shape[0]) * rng.uniform(0, 40)
    paper, ink_level = rng.uniform(150, 240) + light, rng.uniform(10, 110)
    gray = paper - blurred * (paper - ink_level) + rng.normal(0, rng.uniform(0, 8), canvas.shape)
    ink = inputs.ink(np.clip(gray, 0, 255))
    cut = crop(ink * ndimage.binary_dilation(inputs.binarise(ink)))
    return image if cut is None else to_uint8(normalise_patch(cut, line))


def photograph_some(x: np.ndarray, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """A random ``fraction`` of the images (uint8, (N, 28, 28, 1)) ``photographed``."""
    x = x.copy()
    for i in np.flatnonzero(rng.random(len(x)) < fraction):
        x[i, :, :, 0] = photographed(x[i, :, :, 0], rng)
    return x


def to_uint8(image: np.ndarray) -> np.ndarray:
    return (image * 255).round().astype(np.uint8)
