"""Images as users have them -> arrays as a model trained on MNIST-style data expects them.

``decode_image`` / ``decode_rgb`` turn base64 or raw PNG/JPEG bytes into a grayscale / RGB array (with size limits);
``mnist_digit`` normalises a grayscale drawing of any size the way the MNIST digits were made: light strokes on
a dark background, the drawing fitted into a 20×20 box keeping its aspect ratio (anti-aliased), placed in a 28×28
field so that its centre of mass is at the centre. AirCalc reuses it for its handwritten symbols.
"""

from __future__ import annotations

import base64
import binascii
import io
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from PIL.Image import Image as PILImage

MAX_IMAGE_BYTES = 10 * 1024 * 1024  # encoded size accepted per image
MAX_IMAGE_PIXELS = 25_000_000  # decoded size accepted per image (PIL's decompression-bomb guard)
SATURATED_SHARE = 0.4  # of MNIST's ink pixels (> 0.1), 41 % are at 0.95 or more
FAINT = 0.02  # resampled values below this are ringing, not ink
INK_CONTRAST = 0.1  # strokes must differ from the background by this much (in [0, 1]) to count as a drawing


class ImageError(ValueError):
    """An image that cannot be used: its message says what was expected."""


def decode_image(data: str | bytes) -> np.ndarray:
    """Base64 text (optionally a ``data:image/...;base64,`` URL) or raw PNG/JPEG bytes -> float32 gray in [0, 1]."""
    return np.asarray(_decoded(data, "L"), dtype=np.float32) / 255.0


def decode_rgb(data: str | bytes) -> np.ndarray:
    """Like ``decode_image``, but H×W×3 uint8 RGB."""
    return np.asarray(_decoded(data, "RGB"), dtype=np.uint8)


def _decoded(data: str | bytes, mode: str) -> PILImage:
    """The image in PIL ``mode``, transparency flattened onto white, after the size and format checks."""
    from PIL import Image

    raw = _base64_bytes(data) if isinstance(data, str) else data
    if len(raw) > MAX_IMAGE_BYTES:
        raise ImageError(f"image is {len(raw) / 2**20:.1f} MiB; at most {MAX_IMAGE_BYTES // 2**20} MiB is accepted")
    if not raw:
        raise ImageError("image is empty; expected PNG or JPEG bytes")
    try:
        with Image.open(io.BytesIO(raw)) as image:
            if image.format not in ("PNG", "JPEG"):
                raise ImageError(f"image format {image.format} is not accepted; expected PNG or JPEG")
            if image.width * image.height > MAX_IMAGE_PIXELS:
                raise ImageError(
                    f"image is {image.width}×{image.height} pixels; at most {MAX_IMAGE_PIXELS:,} pixels are accepted"
                )
            return _flatten_alpha(image).convert(mode)
    except ImageError:
        raise
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise ImageError(f"cannot decode the image ({exc}); expected a PNG or JPEG file") from None


def _base64_bytes(text: str) -> bytes:
    if text.startswith("data:"):
        text = text.partition(",")[2]
    if len(text) > MAX_IMAGE_BYTES * 4 // 3 + 4:
        raise ImageError(
            f"image is {len(text) * 3 / 4 / 2**20:.1f} MiB; at most {MAX_IMAGE_BYTES // 2**20} MiB is accepted"
        )
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ImageError(f"image is not valid base64 ({exc}); expected base64-encoded PNG or JPEG bytes") from None


def _flatten_alpha(image: PILImage) -> PILImage:
    """Composite transparent images onto white, so dark strokes on a transparent canvas stay visible."""
    from PIL import Image

    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        canvas = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(canvas, rgba)
    return image


def mnist_digit(gray: np.ndarray, size: int = 28, box: int = 20) -> np.ndarray:
    """A grayscale drawing in [0, 1] (any size, either polarity) -> ``size``×``size`` float32, made the way the
    MNIST digits were: light strokes on black, the drawing scaled (anti-aliased) so that its bounding box fits a
    ``box``×``box`` square, its centre of mass at the centre of the field.

    The box is measured on the strokes' half-intensity outline, which resampling leaves in place. A drawing
    larger than the box is resampled (Lanczos) with its centre of mass placed exactly; one at MNIST's scale or
    smaller keeps the box's corner on the pixel grid and moves by whole pixels, as MNIST's digits did, so a
    28×28 MNIST digit comes back unchanged.
    """
    from PIL import Image

    if gray.ndim != 2 or min(gray.shape) == 0:
        raise ImageError(f"expected a 2-D grayscale image, got shape {gray.shape}")
    out = np.zeros((size, size), dtype=np.float32)
    ink = strokes(gray)
    rows, cols = np.nonzero(ink >= 0.5)
    if rows.size == 0:
        return out  # a blank drawing stays blank
    top, left = rows.min(), cols.min()
    height, width = rows.max() + 1 - top, cols.max() + 1 - left
    scale = box / max(height, width)
    if scale < 1:  # the field's corner in input coordinates (pixel edges), the centre of mass at size / 2
        mass_row, mass_col = centre_of_mass(ink)
        field_top, field_left = (mass + 0.5 - (size / 2 + 0.5) / scale for mass in (mass_row, mass_col))
    else:
        field_top = top - round((size - height * scale) / 2) / scale
        field_left = left - round((size - width * scale) / 2) / scale
    span = size / scale
    pad = int(np.ceil(span)) + 1
    padded = Image.fromarray(np.pad(ink, pad))
    region = (field_left + pad, field_top + pad, field_left + pad + span, field_top + pad + span)
    resample = Image.Resampling.LANCZOS if scale < 1 else Image.Resampling.BILINEAR
    digit = saturated(np.asarray(padded.resize((size, size), resample, box=region)))
    return digit if scale < 1 else centred_by_mass(digit, out)


def centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    """(row, column) of ``image``'s centre of mass, in pixel indices."""
    total = image.sum()
    return (
        float((image.sum(axis=1) * np.arange(image.shape[0])).sum() / total),
        float((image.sum(axis=0) * np.arange(image.shape[1])).sum() / total),
    )


def strokes(gray: np.ndarray) -> np.ndarray:
    """Ink as MNIST has it: light on dark (a light background is inverted), background 0, the strongest
    strokes 1 (a grey scan's contrast stretched)."""
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    ink = 1.0 - gray if np.median(border) > 0.5 else gray
    background = float(np.median(np.concatenate([ink[0], ink[-1], ink[:, 0], ink[:, -1]])))
    peak = float(np.percentile(ink, 99.9))
    if peak - background < INK_CONTRAST:
        return np.zeros_like(ink, dtype=np.float32)
    return np.clip((ink - background) / (peak - background), 0.0, 1.0).astype(np.float32)


def saturated(digit: np.ndarray) -> np.ndarray:
    """Stroke intensities scaled up until, as in MNIST, ``SATURATED_SHARE`` of the ink is at full intensity
    (downscaling a large drawing averages its stroke edges into the centres); MNIST-bright strokes stay as they are.
    Resampling's faint ringing around the strokes is cleared: MNIST's background is exactly 0."""
    digit = np.where(digit < FAINT, 0.0, digit).astype(np.float32)
    ink = digit[digit > 0.1]
    level = float(np.percentile(ink, 100 * (1 - SATURATED_SHARE))) if ink.size else 1.0
    return np.clip(digit / level if 0.1 < level < 0.95 else digit, 0.0, 1.0)


def centred_by_mass(digit: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``digit`` moved by whole pixels so that its centre of mass sits where MNIST's does (pixel 14, 14 of 28),
    written into ``out`` (zeros)."""
    size = out.shape[0]
    if digit.sum() <= 0:
        return out
    shift_row, shift_col = (round(size / 2 - mass) for mass in centre_of_mass(digit))
    rows, cols = slice(max(0, shift_row), size + min(0, shift_row)), slice(max(0, shift_col), size + min(0, shift_col))
    source_rows = slice(max(0, -shift_row), size - max(0, shift_row))
    source_cols = slice(max(0, -shift_col), size - max(0, shift_col))
    out[rows, cols] = digit[source_rows, source_cols]
    return out
