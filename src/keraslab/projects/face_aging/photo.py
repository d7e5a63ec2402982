"""Faces in real photos: find them with OpenCV's Haar cascade, crop each as the training faces were cropped, and
paste the changed faces back.

``transform_photo`` runs the whole round trip for every face: detect (on a copy at most ``DETECT_SIDE`` pixels
wide, so a huge photo costs little memory), crop the square that UTKFace's aligned crops frame around a face
(``ALIGN``), resize to the generator's size, apply it, keep the face's colour (``keep_colour``), resize back and
blend into the photo through a feathered ellipse: the change stays on the face, the photo outside the crop is
untouched and no box edge shows.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from keraslab.serving.images import ImageError

CASCADE = "haarcascade_frontalface_default.xml"
MIN_FACE = 24  # pixels (in the detection copy): smaller detections are ignored
DETECT_SIDE = 1024  # faces are detected on a copy whose longer side is at most this
#: Where the Haar box of a face lies in a UTKFace training crop, as fractions of the crop's side: left, top, size.
#: Measured on 352 of the 128×128 crops (medians; the box is found in 98 % of them): the crops frame the face
#: tightly, a little below the detector's box.
ALIGN = (-0.031, -0.109, 1.047)

Box = tuple[int, int, int, int]  # x, y, width, height


class FaceNotFound(ImageError):
    """No face in the photo."""


def find_faces(rgb: np.ndarray) -> list[Box]:
    """Every frontal face OpenCV's Haar cascade finds, largest first; ``FaceNotFound`` when there is none."""
    import cv2

    scale = min(1.0, DETECT_SIDE / max(rgb.shape[:2]))
    small = resize(rgb, round(rgb.shape[1] * scale), round(rgb.shape[0] * scale)) if scale < 1 else rgb
    detector = cv2.CascadeClassifier(cv2.data.haarcascades + CASCADE)
    gray = cv2.equalizeHist(cv2.cvtColor(small, cv2.COLOR_RGB2GRAY))
    faces = detector.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=4, minSize=(MIN_FACE, MIN_FACE))
    if len(faces) == 0:
        raise FaceNotFound(
            f"no face found in the {rgb.shape[1]}×{rgb.shape[0]} image (OpenCV Haar cascade, frontal faces of at "
            f"least {MIN_FACE} px at {small.shape[1]}×{small.shape[0]}); send a photo with a frontal face, or a "
            "face crop with crop = 'none' (keraslab age --whole-image)"
        )
    boxes = [tuple(round(v / scale) for v in face) for face in faces]
    return sorted(boxes, key=lambda b: -b[2] * b[3])


def crop_box(face: Box, shape: tuple[int, ...], align: tuple[float, float, float] = ALIGN) -> Box:
    """The square a training crop would frame around the Haar box ``face`` (``align``), shifted (and if need be
    shrunk) into the image."""
    x, y, w, h = face
    height, width = shape[:2]
    left_frac, top_frac, size_frac = align
    side = min(round(max(w, h) / size_frac), height, width)
    left = int(np.clip(round(x - left_frac * side), 0, width - side))
    top = int(np.clip(round(y - top_frac * side), 0, height - side))
    return left, top, side, side


def resize(rgb: np.ndarray, width: int, height: int) -> np.ndarray:
    import cv2

    shrinking = width < rgb.shape[1]
    return cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC)


def keep_colour(changed: np.ndarray, original: np.ndarray) -> np.ndarray:
    """``changed`` with the mean chroma (Lab a and b) of ``original``: the generator may change lightness (lines,
    grey hair) but not cast the whole face in another colour."""
    import cv2

    lab, reference = (cv2.cvtColor(image, cv2.COLOR_RGB2LAB).astype(np.float32) for image in (changed, original))
    lab[..., 1:] += reference[..., 1:].mean(axis=(0, 1)) - lab[..., 1:].mean(axis=(0, 1))
    return cv2.cvtColor(np.clip(lab, 0, 255).astype(np.uint8), cv2.COLOR_LAB2RGB)


def feathered_ellipse(width: int, height: int) -> np.ndarray:
    """H×W×1 float weights: 1 on an ellipse over most of the box, falling smoothly to ~0 (under 0.2 %: 3 blur
    widths away) at its edges."""
    import cv2

    mask = np.zeros((height, width), np.float32)
    cv2.ellipse(mask, (width // 2, height // 2), (int(width * 0.38), int(height * 0.40)), 0, 0, 360, 1.0, -1)
    return cv2.GaussianBlur(mask, (0, 0), sigmaX=max(width, height) / 30)[..., None]


def paste(photo: np.ndarray, patch: np.ndarray, box: Box) -> np.ndarray:
    """``photo`` (changed in place and returned) with ``patch`` resized to ``box`` and blended in through a
    feathered ellipse; only the box is converted to floats."""
    x, y, w, h = box
    mask = feathered_ellipse(w, h)
    region = photo[y : y + h, x : x + w].astype(np.float32)
    blended = mask * resize(patch, w, h).astype(np.float32) + (1 - mask) * region
    photo[y : y + h, x : x + w] = np.clip(blended, 0, 255).round().astype(np.uint8)
    return photo


def transform_photo(
    rgb: np.ndarray, generate: Callable[[np.ndarray], np.ndarray], size: int, detect: bool = True
) -> tuple[np.ndarray, list[Box]]:
    """Apply ``generate`` (``size``×``size`` uint8 face -> same) to every face of the photo; returns the new photo
    and the changed boxes.

    With ``detect=False`` the whole image is the face (already a crop): it is resized, changed and resized back.
    """
    height, width = rgb.shape[:2]
    if not detect:
        face = resize(rgb, size, size)
        return resize(keep_colour(generate(face), face), width, height), [(0, 0, width, height)]
    boxes = [crop_box(face, rgb.shape) for face in find_faces(rgb)]
    photo = rgb.copy()
    for x, y, w, h in boxes:
        face = resize(rgb[y : y + h, x : x + w], size, size)
        paste(photo, keep_colour(generate(face), face), (x, y, w, h))
    return photo, boxes
