"""Face data (folders, UTKFace names, bad images skipped and counted) and face crop/paste in photos."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from keraslab.config import DataSpec
from keraslab.data import DataUnavailable
from keraslab.projects.face_aging import data as faces
from keraslab.projects.face_aging.photo import FaceNotFound, crop_box, find_face, paste, transform_photo
from keraslab.projects.face_aging.procedural import procedural_face


def save(path: Path, size: int = 40, value: int = 128) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((size, size + 8, 3), value, np.uint8)).save(path)


def load(tmp_path: Path, **options: object) -> faces.Splits:
    spec = DataSpec(dataset="faces", validation_split=0.0, options={"image_size": 16, "test_fraction": 0.25, **options})
    return faces.load(spec, tmp_path, seed=0)


def test_young_old_folder_skips_and_counts_bad_and_tiny_images(tmp_path: Path) -> None:
    for i in range(3):
        save(tmp_path / "set" / "young" / f"y{i}.png", value=50)
        save(tmp_path / "set" / "old" / f"o{i}.jpg", value=200)
    (tmp_path / "set" / "old" / "broken.jpg").write_bytes(b"not an image")
    save(tmp_path / "set" / "young" / "tiny.png", size=8)

    splits = load(tmp_path, source="folder", path="set")  # relative: found inside the data dir

    assert splits.info.extra["skipped"] == {"unreadable": 1, "too_small": 1}
    images = np.concatenate([splits.x_train, splits.x_test])
    labels = np.concatenate([splits.y_train, splits.y_test])
    assert images.shape == (6, 16, 16, 3) and sorted(labels) == [0, 0, 0, 1, 1, 1]
    assert (images[labels == 0] < 100).all() and (images[labels == 1] > 150).all()
    assert splits.info.model_params == {"input_shape": (16, 16, 3)} and len(splits.x_test) == 2


def test_utkface_names_give_the_domains_by_age_thresholds(tmp_path: Path) -> None:
    ages = [20, 25, 29, 40, 55, 70, 81]
    for i, age in enumerate(ages):
        save(tmp_path / f"{age}_0_1_2017010{i}.jpg.chip.jpg")
    save(tmp_path / "portrait.jpg")

    splits = load(tmp_path, source="utkface", path=str(tmp_path), young_max_age=30, old_min_age=50)

    labels = np.concatenate([splits.y_train, splits.y_test])
    assert sorted(labels) == [0, 0, 0, 1, 1, 1]  # 40 is in neither domain
    assert splits.info.extra["skipped"] == {"no_age_in_name": 1}


def test_face_data_errors_name_what_is_expected(tmp_path: Path) -> None:
    (tmp_path / "only_young" / "young").mkdir(parents=True)
    with pytest.raises(DataUnavailable, match="no old/ subfolder"):
        load(tmp_path, source="folder", path="only_young")
    with pytest.raises(DataUnavailable, match="not found"):
        load(tmp_path, source="utkface", path="missing")


def test_face_options_fail_when_the_project_loads() -> None:
    from keraslab import registry
    from keraslab.config import ConfigError

    with pytest.raises(ConfigError, match="young_max_age"):
        registry.load("face-aging", ["data.options.young_max_age=60", "data.options.old_min_age=50"])
    with pytest.raises(ConfigError, match=r"data\.options\.colour = 'yes': unknown key"):
        registry.load("face-aging", ["data.options.colour=yes"])


def test_procedural_source_is_the_default_and_balanced(tmp_path: Path) -> None:
    splits = load(None, count=6)
    labels = np.concatenate([splits.y_train, splits.y_test])
    assert np.bincount(labels).tolist() == [6, 6] and splits.x_train.dtype == np.uint8


def photo_with_face() -> np.ndarray:
    """A 400×300 photo with a procedural face (seed 2: one that OpenCV's Haar cascade finds) off-centre."""
    photo = np.full((300, 400, 3), 200, np.uint8)
    photo[60:252, 150:342] = procedural_face(2, old=False, size=192)
    return photo


def test_crop_box_is_a_square_inside_the_image() -> None:
    assert crop_box((10, 20, 40, 30), (100, 200, 3), margin=0.5) == (0, 0, 80, 80)  # shifted to the corner
    assert crop_box((90, 40, 20, 20), (100, 200, 3), margin=0.5) == (80, 30, 40, 40)
    assert crop_box((0, 0, 90, 90), (60, 200, 3), margin=0.5)[2:] == (60, 60)  # shrunk to fit


def test_face_is_found_changed_and_pasted_back_only_there() -> None:
    photo = photo_with_face()
    x, y, w, h = find_face(photo)
    assert x >= 150 and x + w <= 342 and y >= 60 and y + h <= 252

    result, (bx, by, bw, bh) = transform_photo(photo, lambda face: 255 - face, size=32)

    assert result.shape == photo.shape and bw == bh
    outside = np.ones(photo.shape[:2], bool)
    outside[by : by + bh, bx : bx + bw] = False
    np.testing.assert_array_equal(result[outside], photo[outside])
    centre = (slice(by + bh // 3, by + 2 * bh // 3), slice(bx + bw // 3, bx + 2 * bw // 3))
    assert np.abs(result[centre].astype(int) - photo[centre]).mean() > 50  # inverted in the middle of the face


def test_paste_feathers_the_edge_and_a_photo_without_a_face_is_a_clear_error() -> None:
    photo = np.zeros((64, 64, 3), np.uint8)
    pasted = paste(photo, np.full((16, 16, 3), 255, np.uint8), (0, 0, 64, 64))
    assert pasted[32, 32].min() > 240 and pasted[1, 1].max() < 10  # full in the middle, none in the corner
    with pytest.raises(FaceNotFound, match="no face found in the 64×64 image"):
        find_face(photo)
