"""Faces in real photos: find one with OpenCV's Haar cascade, crop it square, and paste a changed face back.

``transform_photo`` runs the whole round trip: detect (or take the whole image), crop with a margin, resize to
the generator's size, apply it, resize back and blend into the photo with a feathered ellipse, so the change
stays on the face and the edges do not show.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from keraslab.serving.images import ImageError

CASCADE = "haarcascade_frontalface_default.xml"
MARGIN = 0.35  # the crop extends the detected box by this fraction on every side (hair, chin)
MIN_FACE = 24  # pixels: smaller detections are ignored

Box = tuple[int, int, int, int]  # x, y, width, height


class FaceNotFound(ImageError):
    """No face in the photo."""


def find_face(rgb: np.ndarray) -> Box:
    """The largest frontal face OpenCV's Haar cascade finds; ``FaceNotFound`` when there is none."""
    import cv2

    detector = cv2.CascadeClassifier(cv2.data.haarcascades + CASCADE)
    gray = cv2.equalizeHist(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY))
    faces = detector.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=4, minSize=(MIN_FACE, MIN_FACE))
    if len(faces) == 0:
        raise FaceNotFound(
            f"no face found in the {rgb.shape[1]}×{rgb.shape[0]} image (OpenCV Haar cascade, frontal faces of at "
            f"least {MIN_FACE} px); send a photo with a frontal face, or a face crop with crop = 'none' "
            "(keraslab age --whole-image)"
        )
    x, y, w, h = max(faces, key=lambda f: f[2] * f[3])
    return int(x), int(y), int(w), int(h)


def crop_box(face: Box, shape: tuple[int, ...], margin: float = MARGIN) -> Box:
    """A square around ``face`` grown by ``margin`` per side, shifted (and if need be shrunk) into the image."""
    x, y, w, h = face
    height, width = shape[:2]
    side = min(round(max(w, h) * (1 + 2 * margin)), height, width)
    left = int(np.clip(round(x + w / 2 - side / 2), 0, width - side))
    top = int(np.clip(round(y + h / 2 - side / 2), 0, height - side))
    return left, top, side, side


def resize(rgb: np.ndarray, width: int, height: int) -> np.ndarray:
    import cv2

    shrinking = width < rgb.shape[1]
    return cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC)


def paste(photo: np.ndarray, patch: np.ndarray, box: Box) -> np.ndarray:
    """``photo`` with ``patch`` (resized to ``box``) blended in through a feathered ellipse."""
    import cv2

    x, y, w, h = box
    mask = np.zeros((h, w), np.float32)
    cv2.ellipse(mask, (w // 2, h // 2), (int(w * 0.42), int(h * 0.47)), 0, 0, 360, 1.0, -1)
    mask = cv2.GaussianBlur(mask, (0, 0), sigmaX=max(w, h) / 20)[..., None]
    out = photo.astype(np.float32).copy()
    region = out[y : y + h, x : x + w]
    out[y : y + h, x : x + w] = mask * resize(patch, w, h).astype(np.float32) + (1 - mask) * region
    return np.clip(out, 0, 255).round().astype(np.uint8)


def transform_photo(
    rgb: np.ndarray, generate: Callable[[np.ndarray], np.ndarray], size: int, detect: bool = True
) -> tuple[np.ndarray, Box]:
    """Apply ``generate`` (``size``×``size`` uint8 face -> same) to the photo's face; returns the photo and the box.

    With ``detect=False`` the whole image is the face (already a crop): it is resized, changed and resized back.
    """
    height, width = rgb.shape[:2]
    if not detect:
        return resize(generate(resize(rgb, size, size)), width, height), (0, 0, width, height)
    x, y, w, h = box = crop_box(find_face(rgb), rgb.shape)
    changed = generate(resize(rgb[y : y + h, x : x + w], size, size))
    return paste(rgb, changed, box), box
