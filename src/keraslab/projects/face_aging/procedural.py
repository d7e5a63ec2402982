"""Procedural faces, young or old, and the wrinkle/grey detector that tells them apart.

``procedural_face(seed, old, size)`` draws a face from a seed alone (deterministic): background, head, hair,
eyes, brows, nose and mouth. An *old* face adds forehead wrinkles, crow's feet and nasolabial lines, turns the
hair grey or white (and thins it), and sags: lower eye bags, drooping mouth corners, a wider jaw. Young and old
faces are drawn from different seeds, so the two domains are unpaired like real photos.

``age_score(images)`` measures exactly those cues (thin dark lines on the forehead, grey hair), in [0, 1]:
on these faces it plays the role of an age regressor.
"""

from __future__ import annotations

import numpy as np

SUPERSAMPLE = 4  # draw at this multiple of the size, then downsample (anti-aliasing)
SKIN_TONES = [(255, 224, 196), (241, 194, 160), (224, 172, 129), (198, 134, 94), (141, 85, 54), (92, 58, 40)]
YOUNG_HAIR = [(30, 22, 18), (70, 45, 25), (120, 80, 40), (200, 160, 90), (150, 60, 30)]
#: Where the cues are, as fractions of the image (rows, columns): every procedural face has hair in HAIR and,
#: when old, wrinkles in FOREHEAD (young faces have smooth skin there).
HAIR = ((0.15, 0.22), (0.38, 0.62))
FOREHEAD = ((0.30, 0.38), (0.38, 0.62))
WRINKLE_SCALE = 0.08  # mean |vertical second difference| of a wrinkled forehead (luminance in [0, 1])


def procedural_face(seed: int, old: bool, size: int = 64) -> np.ndarray:
    """A ``size``×``size``×3 uint8 face, the same for the same ``(seed, old, size)``."""
    from PIL import Image, ImageDraw

    rng = np.random.default_rng([seed, int(old)])
    s = size * SUPERSAMPLE
    background = tuple(int(v) for v in rng.integers(40, 220, 3))
    image = Image.new("RGB", (s, s), background)
    draw = ImageDraw.Draw(image)
    skin = np.array(SKIN_TONES[rng.integers(len(SKIN_TONES))]) + rng.integers(-12, 13, 3)
    skin_c = tuple(int(v) for v in np.clip(skin, 0, 255))
    if old:
        grey = int(rng.integers(150, 235))
        hair = (grey, grey, min(255, grey + int(rng.integers(0, 15))))
    else:
        hair = tuple(
            int(v)
            for v in np.clip(np.array(YOUNG_HAIR[rng.integers(len(YOUNG_HAIR))]) + rng.integers(-10, 11, 3), 0, 255)
        )

    cx = s * (0.5 + rng.uniform(-0.03, 0.03))
    half_w = s * rng.uniform(0.25, 0.3) * (1.06 if old else 1.0)
    top, bottom = s * rng.uniform(0.16, 0.2), s * rng.uniform(0.86, 0.9)
    line = max(1, s // 64)

    # hair behind the head, then the head, then the fringe (thinner and higher when old)
    draw.ellipse([cx - half_w * 1.12, top - s * 0.06, cx + half_w * 1.12, s * 0.66], fill=hair)
    jaw = half_w * (0.95 if old else 0.8)
    draw.ellipse([cx - half_w, top, cx + half_w, s * 0.68], fill=skin_c)
    draw.polygon(
        [(cx - half_w, s * 0.45), (cx + half_w, s * 0.45), (cx + jaw, s * 0.75), (cx, bottom), (cx - jaw, s * 0.75)],
        fill=skin_c,
    )
    draw.ellipse([cx - jaw, s * 0.6, cx + jaw, bottom], fill=skin_c)
    fringe = s * (rng.uniform(0.22, 0.26) if old else rng.uniform(0.28, 0.33))
    draw.chord([cx - half_w * 1.02, top - s * 0.04, cx + half_w * 1.02, fringe + (fringe - top)], 180, 360, fill=hair)

    # eyes, brows, nose, mouth
    eye_y, eye_dx = s * rng.uniform(0.46, 0.5), half_w * rng.uniform(0.38, 0.46)
    eye_r = s * rng.uniform(0.025, 0.035)
    iris = tuple(int(v) for v in rng.integers(20, 140, 3))
    dark = tuple(int(v * 0.55) for v in skin_c)
    for side in (-1, 1):
        ex = cx + side * eye_dx
        draw.ellipse([ex - eye_r * 1.7, eye_y - eye_r, ex + eye_r * 1.7, eye_y + eye_r], fill=(245, 245, 245))
        draw.ellipse([ex - eye_r * 0.8, eye_y - eye_r * 0.8, ex + eye_r * 0.8, eye_y + eye_r * 0.8], fill=iris)
        brow_y = eye_y - s * rng.uniform(0.05, 0.07)
        draw.line(
            [ex - eye_r * 2, brow_y + side * 0, ex + eye_r * 2, brow_y - s * 0.005],
            fill=hair if old else (hair[0] // 2, hair[1] // 2, hair[2] // 2),
            width=line * 3,
        )
        if old:  # eye bags and crow's feet
            draw.arc([ex - eye_r * 1.6, eye_y, ex + eye_r * 1.6, eye_y + eye_r * 2.6], 20, 160, fill=dark, width=line)
            outer = ex + side * eye_r * 2.0
            for k in (-1, 0, 1):
                draw.line(
                    [outer, eye_y + k * eye_r * 0.6, outer + side * s * 0.035, eye_y + k * eye_r * 1.3],
                    fill=dark,
                    width=line,
                )
    nose_y = s * rng.uniform(0.6, 0.63)
    draw.line([cx, eye_y + s * 0.03, cx - s * 0.015, nose_y, cx + s * 0.01, nose_y], fill=dark, width=line * 2)
    mouth_y, mouth_w = s * rng.uniform(0.72, 0.75), half_w * rng.uniform(0.35, 0.5)
    lips = tuple(int(v) for v in np.clip(np.array(skin_c) * [0.8, 0.45, 0.45] + [40, 0, 0], 0, 255))
    if old:  # drooping corners
        draw.arc(
            [cx - mouth_w, mouth_y - s * 0.02, cx + mouth_w, mouth_y + s * 0.06], 200, 340, fill=lips, width=line * 3
        )
    else:
        draw.arc(
            [cx - mouth_w, mouth_y - s * 0.05, cx + mouth_w, mouth_y + s * 0.02], 20, 160, fill=lips, width=line * 3
        )

    if old:  # forehead wrinkles and nasolabial folds
        for k in range(int(rng.integers(3, 5))):
            y = fringe + s * (0.03 + 0.025 * k)
            draw.arc(
                [cx - half_w * 0.6, y - s * 0.01, cx + half_w * 0.6, y + s * 0.02], 200, 340, fill=dark, width=line
            )
        for side in (-1, 1):
            draw.line(
                [cx + side * s * 0.05, nose_y, cx + side * (mouth_w + s * 0.02), mouth_y + s * 0.02],
                fill=dark,
                width=line,
            )

    small = image.resize((size, size), Image.Resampling.LANCZOS)
    return np.asarray(small, dtype=np.uint8)


def procedural_faces(seeds: range | list[int], old: bool, size: int = 64) -> np.ndarray:
    """``len(seeds)`` faces stacked as N×size×size×3 uint8."""
    return (
        np.stack([procedural_face(seed, old, size) for seed in seeds])
        if len(seeds)
        else np.zeros((0, size, size, 3), np.uint8)
    )


def age_score(images: np.ndarray) -> np.ndarray:
    """Per image in [0, 1]: half the grey-hair fraction, half the forehead wrinkle energy (N×H×W×3 uint8)."""
    if images.ndim != 4 or images.shape[-1] != 3 or images.dtype != np.uint8:
        raise ValueError(f"expected N×H×W×3 uint8 images, got {images.shape} {images.dtype}")
    rgb = images.astype(np.float32) / 255.0
    hair = _region(rgb, HAIR)
    saturation = hair.max(axis=-1) - hair.min(axis=-1)
    grey = ((saturation < 0.12) & (hair.max(axis=-1) > 0.5)).mean(axis=(1, 2))
    luminance = _region(rgb, FOREHEAD) @ np.array([0.299, 0.587, 0.114], np.float32)
    wrinkles = np.abs(np.diff(luminance, n=2, axis=1)).mean(axis=(1, 2))
    return 0.5 * grey + 0.5 * np.clip(wrinkles / WRINKLE_SCALE, 0.0, 1.0)


def _region(images: np.ndarray, box: tuple[tuple[float, float], tuple[float, float]]) -> np.ndarray:
    (r0, r1), (c0, c1) = box
    h, w = images.shape[1:3]
    return images[
        :, round(r0 * h) : max(round(r1 * h), round(r0 * h) + 3), round(c0 * w) : max(round(c1 * w), round(c0 * w) + 1)
    ]
