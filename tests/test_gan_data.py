"""Face data: folders and UTKFace names (bad images skipped and counted), adult domains by age, duplicates grouped
before the splits, the real-data default with the procedural fallback, and the training augmentation."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from keraslab.config import DataSpec
from keraslab.data import DataUnavailable
from keraslab.projects.face_aging import data as faces
from keraslab.projects.face_aging.groups import duplicate_groups, grouped_split
from keraslab.projects.face_aging.procedural import procedural_face


def save(path: Path, size: int = 40, value: int = 128) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((size, size + 8, 3), value, np.uint8)).save(path)


def distinct_face(i: int, size: int = 32, old: bool = False) -> np.ndarray:
    """A procedural face under a random low-frequency colour field: unlike plain procedural faces (one drawing
    style: their thumbnails correlate above the duplicate threshold), no two of these look like the same photo."""
    field = np.random.default_rng(i).integers(0, 256, (4, 4, 3), dtype=np.uint8)
    blotches = np.asarray(Image.fromarray(field).resize((size, size), Image.Resampling.BICUBIC), np.float32)
    return (0.7 * procedural_face(i, old=old, size=size) + 0.3 * blotches).astype(np.uint8)


def load(data_dir: Path | None, **options: object) -> faces.Splits:
    spec = DataSpec(dataset="faces", validation_split=0.0, options={"image_size": 16, "test_fraction": 0.25, **options})
    return faces.load(spec, data_dir, seed=0)


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


def utk_folder(folder: Path, ages: list[int]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i, age in enumerate(ages):
        Image.fromarray(distinct_face(i)).save(folder / f"{age}_0_1_201701{i:04d}.jpg.chip.jpg")
    return folder


def generator_ages(splits: faces.Splits, ages: list[int]) -> list[int]:
    """The ages of the faces the CycleGAN trains and tests on: each image's nearest saved face (they went
    through JPEG and a resize) gives its age."""
    references = np.stack([faces.square(distinct_face(i), 16) for i in range(len(ages))]).astype(np.float32)
    images = np.concatenate([splits.x_train, splits.x_test]).astype(np.float32)
    nearest = np.square(images[:, None] - references[None]).mean(axis=(2, 3, 4)).argmin(axis=1)
    return sorted(ages[i] for i in nearest)


def test_utkface_domains_are_adults_by_configurable_thresholds(tmp_path: Path) -> None:
    ages = [4, 12, 17, 18, 25, 30, 31, 45, 59, 60, 70, 81]
    folder = utk_folder(tmp_path / "utk", ages)
    Image.fromarray(distinct_face(99)).save(folder / "portrait.jpg")

    splits = load(None, source="utkface", path=str(folder), age_fraction=0.0)

    assert generator_ages(splits, ages) == [18, 25, 30, 60, 70, 81]  # children and the middle-aged are out
    assert splits.info.extra["skipped"] == {"no_age_in_name": 1}
    regressor: faces.AgeSet = splits.info.extra["ages"]
    tested = set(regressor.ages_test.astype(int))  # the test faces of every age, the generator's among them
    assert set(regressor.ages_train.astype(int)) == {4, 12, 17, 31, 45, 59} - tested  # with age_fraction 0
    assert len(tested) == len(splits.x_test) + 2  # test_fraction of the 6 ages outside the domains
    wider = load(None, source="utkface", path=str(folder), age_fraction=0.0, young_min_age=0, old_min_age=45)
    assert generator_ages(wider, ages) == [4, 12, 17, 18, 25, 30, 45, 59, 60, 70, 81]


def test_duplicates_are_grouped_before_the_split(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    originals = np.stack([distinct_face(i) for i in range(24)])
    assert len(set(duplicate_groups(originals))) == 24  # the synthetic faces are all different photos
    recoded = np.asarray(Image.fromarray(originals[5]).resize((20, 20)).resize((32, 32), Image.Resampling.BICUBIC))
    images = np.concatenate([originals, originals[:4], recoded[None]])  # 4 byte-identical copies, 1 re-encoded
    groups = duplicate_groups(images)
    assert [groups[24 + i] == groups[i] for i in range(4)] == [True] * 4 and groups[28] == groups[5]
    assert len(set(groups)) == 24

    labels = np.arange(len(images)) % 2
    labels[24:] = labels[[0, 1, 2, 3, 5]]
    held, rest = grouped_split(labels, groups, fraction=0.5, seed=3)
    assert not set(groups[held]) & set(groups[rest])
    assert 0.4 <= len(held) / len(images) <= 0.6
    split_apart = grouped_split(labels, np.arange(len(images)), fraction=0.5, seed=3)  # without the grouping
    assert set(groups[split_apart[0]]) & set(groups[split_apart[1]])  # copies would land on both sides


def test_auto_source_trains_on_utkface_when_found_and_says_so_when_it_falls_back(tmp_path: Path) -> None:
    ages = [20, 22, 25, 28, 61, 65, 70, 75, 40, 8]
    utk_folder(tmp_path / "utkface", ages)
    with warnings.catch_warnings():
        warnings.simplefilter("error", faces.ProceduralFallback)
        found = load(tmp_path, count=6)  # defaults: source auto, path utkface inside the data dir
    assert found.info.source == f"utkface:{(tmp_path / 'utkface').resolve()}" and found.info.extra["real_faces"]

    with pytest.warns(faces.ProceduralFallback, match="no UTKFace faces found"):
        fallback = load(tmp_path / "empty", count=6)
    assert fallback.info.source.startswith("procedural") and not fallback.info.extra["real_faces"]
    assert np.bincount(np.concatenate([fallback.y_train, fallback.y_test])).tolist() == [6, 6]
    with warnings.catch_warnings():
        warnings.simplefilter("error", faces.ProceduralFallback)
        asked = load(tmp_path, source="procedural", count=6)  # asked for: no warning
    assert asked.x_train.dtype == np.uint8 and asked.info.extra["ages"] is None


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


def test_augmentation_mirrors_and_shifts_a_little_without_changing_colours() -> None:
    import tensorflow as tf

    from keraslab.projects.face_aging.task import augmentation

    face = tf.constant(distinct_face(1, size=64).astype(np.float32) / 127.5 - 1.0)
    opts = faces.Options(source="procedural", image_size=64, jitter=0.05)
    augmented = np.stack([augmentation(opts, seed=0)(face).numpy() for _ in range(8)])
    assert augmented.shape == (8, 64, 64, 3)
    assert any(not np.allclose(a, face) for a in augmented)
    np.testing.assert_allclose(
        augmented.mean(axis=(1, 2)), np.broadcast_to(face.numpy().mean((0, 1)), (8, 3)), atol=0.05
    )
    mirror = augmentation(faces.Options(source="procedural", image_size=64, jitter=0.0), seed=0)
    outputs = [mirror(face).numpy() for _ in range(8)]
    assert all(np.array_equal(o, face) or np.array_equal(o, face.numpy()[:, ::-1]) for o in outputs)
    still = augmentation(faces.Options(source="procedural", image_size=64, jitter=0.0, flip=False), seed=0)
    assert np.array_equal(still(face).numpy(), face.numpy())
