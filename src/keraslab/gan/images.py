"""Image conversions shared by the GAN tasks and servers: [−1, 1] floats <-> uint8, PNG, figure grids."""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.figure import Figure

if TYPE_CHECKING:
    import keras


def to_signed(images: np.ndarray) -> np.ndarray:
    """uint8 images -> float32 in [−1, 1] (what the generators take and make)."""
    return images.astype(np.float32) / 127.5 - 1.0


def to_uint8(images: np.ndarray) -> np.ndarray:
    """Generator outputs in [−1, 1] -> uint8."""
    return np.clip((np.asarray(images) + 1.0) * 127.5, 0, 255).round().astype(np.uint8)


def apply(network: keras.Model, inputs: np.ndarray, batch: int = 256) -> np.ndarray:
    """``network`` on ``inputs`` batch by batch, in inference mode. Unlike ``predict`` it works on models trained
    under MirroredStrategy when a batch does not split evenly across the replicas (Keras 3.15 fails there)."""
    outputs = [np.asarray(network(inputs[i : i + batch], training=False)) for i in range(0, len(inputs), batch)]
    return np.concatenate(outputs)


def png_base64(image: np.ndarray) -> str:
    """An H×W×C (C = 1 or 3) uint8 image as base64 PNG text."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def grid_figure(rows: Sequence[tuple[str, np.ndarray]], title: str = "") -> Figure:
    """One row of uint8 images (N×H×W×C) per ``(label, images)``, the label on the left."""
    columns = max(len(images) for _, images in rows)
    fig = Figure(figsize=(1.1 * columns + 1.2, 1.1 * len(rows) + 0.4), layout="constrained")
    axes = fig.subplots(len(rows), columns, squeeze=False)
    for (label, images), line in zip(rows, axes, strict=True):
        for i, ax in enumerate(line):
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_frame_on(False)
            if i < len(images):
                image = images[i]
                ax.imshow(image[..., 0] if image.shape[-1] == 1 else image, cmap="gray", vmin=0, vmax=255)
        line[0].set_ylabel(label, rotation=0, ha="right", va="center")
    if title:
        fig.suptitle(title)
    return fig
