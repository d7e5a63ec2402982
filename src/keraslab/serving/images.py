"""Images as users have them -> arrays as a model trained on MNIST-style data expects them.

``decode_image`` / ``decode_rgb`` turn base64 or raw PNG/JPEG bytes into a grayscale / RGB array (with size limits);
``mnist_digit`` normalises a grayscale drawing the way the MNIST digits were made: light strokes on a dark
background, the drawing fitted into a 20×20 box keeping its aspect ratio, placed in a 28×28 field so that its
centre of mass is at the centre. AirCalc reuses it for its handwritten symbols.
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
INK_THRESHOLD = 0.1  # pixels above this (after inversion, in [0, 1]) count as part of the drawing


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
    """A grayscale drawing in [0, 1] (any size, either polarity) -> ``size``×``size`` float32, MNIST style."""
    from PIL import Image

    if gray.ndim != 2 or min(gray.shape) == 0:
        raise ImageError(f"expected a 2-D grayscale image, got shape {gray.shape}")
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    ink = 1.0 - gray if np.median(border) > 0.5 else gray  # light background: dark strokes become light
    rows, cols = np.nonzero(ink > INK_THRESHOLD)
    out = np.zeros((size, size), dtype=np.float32)
    if rows.size == 0:
        return out  # a blank drawing stays blank
    crop = ink[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
    scale = box / max(crop.shape)
    height, width = (max(1, round(n * scale)) for n in crop.shape)
    patch = np.asarray(Image.fromarray(crop.astype(np.float32)).resize((width, height), Image.Resampling.BILINEAR))
    patch = np.clip(patch, 0.0, 1.0)
    total = patch.sum()
    if total <= 0:
        return out
    com_row = (patch.sum(axis=1) * np.arange(height)).sum() / total
    com_col = (patch.sum(axis=0) * np.arange(width)).sum() / total
    top = int(np.clip(round((size - 1) / 2 - com_row), 0, size - height))
    left = int(np.clip(round((size - 1) / 2 - com_col), 0, size - width))
    out[top : top + height, left : left + width] = patch
    return out
