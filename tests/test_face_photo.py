"""Faces in photos: every face found (also in a huge photo), cropped as the training faces were, changed, and
blended back with the rest of the photo untouched, no box edge and the face's colour kept."""

from __future__ import annotations

import numpy as np
import pytest

from keraslab.projects.face_aging.photo import (
    ALIGN,
    FaceNotFound,
    crop_box,
    find_faces,
    keep_colour,
    paste,
    transform_photo,
)
from keraslab.projects.face_aging.procedural import procedural_face

FACE = 192


def photo_with_faces(seeds: tuple[int, ...] = (2, 3), shape: tuple[int, int] = (300, 700)) -> np.ndarray:
    """A grey photo with procedural faces side by side (seeds 2 and 3: ones OpenCV's Haar cascade finds)."""
    photo = np.full((*shape, 3), 200, np.uint8)
    for i, seed in enumerate(seeds):
        photo[60 : 60 + FACE, 60 + 340 * i : 60 + 340 * i + FACE] = procedural_face(seed, old=False, size=FACE)
    return photo


def outside(shape: tuple[int, ...], boxes: list[tuple[int, int, int, int]]) -> np.ndarray:
    mask = np.ones(shape[:2], bool)
    for x, y, w, h in boxes:
        mask[y : y + h, x : x + w] = False
    return mask


def test_crop_box_frames_a_face_as_the_training_crops_do_inside_the_image() -> None:
    left, top, side = ALIGN
    x, y, w, h = crop_box((100, 100, 105, 105), (1000, 1000, 3))
    assert w == h == round(105 / side) and (x, y) == (round(100 - left * w), round(100 - top * w))
    x, y, w, h = crop_box((270, 170, 30, 30), (200, 300, 3))  # the crop sits below the face: shifted up
    assert (y + h, w) == (200, round(30 / side)) and x + w <= 300
    assert crop_box((0, 0, 90, 90), (60, 200, 3))[2:] == (60, 60)  # shrunk to fit


def test_every_face_is_changed_and_the_photo_outside_the_faces_is_unchanged() -> None:
    photo = photo_with_faces()
    found = find_faces(photo)
    assert len(found) == 2 and sorted(x for x, *_ in found)[1] > 340

    result, boxes = transform_photo(photo, lambda face: 255 - face, size=32)

    assert result.shape == photo.shape and len(boxes) == 2 and all(w == h for *_, w, h in boxes)
    np.testing.assert_array_equal(result[outside(photo.shape, boxes)], photo[outside(photo.shape, boxes)])
    for bx, by, bw, bh in boxes:
        centre = (slice(by + bh // 3, by + 2 * bh // 3), slice(bx + bw // 3, bx + 2 * bw // 3))
        assert np.abs(result[centre].astype(int) - photo[centre]).mean() > 30  # inverted in the middle of each face


def test_paste_feathers_the_edge_so_no_box_shows() -> None:
    photo = np.zeros((64, 64, 3), np.uint8)
    pasted = paste(photo.copy(), np.full((16, 16, 3), 255, np.uint8), (0, 0, 64, 64))
    assert pasted[32, 32].min() > 240  # fully changed in the middle
    border = np.concatenate([pasted[0], pasted[-1], pasted[:, 0], pasted[:, -1]])
    assert border.max() <= 3  # nothing at the box's edge: no visible step into the untouched photo


def test_colour_is_kept_while_lightness_may_change() -> None:
    face = procedural_face(4, old=False, size=64)
    tinted = np.clip(face.astype(int) + np.array([0, 0, 60]), 0, 255).astype(np.uint8)  # a blue cast
    kept = keep_colour(tinted, face)
    assert np.abs(kept.mean(axis=(0, 1)) - face.mean(axis=(0, 1))).max() < 6
    assert np.abs(tinted.mean(axis=(0, 1)) - face.mean(axis=(0, 1))).max() > 40
    darker = (face * 0.7).astype(np.uint8)
    assert keep_colour(darker, face).mean() < face.mean() - 20  # lightness (lines, grey hair) goes through


def test_a_huge_photo_is_searched_on_a_small_copy() -> None:
    huge = np.full((4000, 5000, 3), 200, np.uint8)
    huge[1000:2920, 1000:2920] = np.kron(procedural_face(2, old=False, size=FACE), np.ones((10, 10, 1), np.uint8))

    x, y, w, h = find_faces(huge)[0]

    assert x >= 1000 and y >= 1000 and x + w <= 2920 and y + h <= 2920 and w > 800


def test_a_photo_without_a_face_is_a_clear_error() -> None:
    with pytest.raises(FaceNotFound, match="no face found in the 64×64 image"):
        find_faces(np.zeros((64, 64, 3), np.uint8))
