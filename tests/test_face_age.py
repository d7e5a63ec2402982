"""The age regressor on a tiny UTKFace-format folder of procedural faces: faces of every age train it, it tells old
from young, and the face-aging evaluation logs the mean predicted ages, the shift and the regressor's MAE."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from keraslab import models
from keraslab.config import DataSpec
from keraslab.projects.face_aging import data as faces
from keraslab.projects.face_aging.procedural import procedural_face
from keraslab.projects.face_aging.task import evaluate

SIZE = 32
YOUNG_AGES, MIDDLE_AGES, OLD_AGES = [22, 25, 28] * 10, [40, 45], [65, 70, 75] * 10


@pytest.fixture(scope="module")
def utk_splits(tmp_path_factory: pytest.TempPathFactory) -> faces.Splits:
    folder = tmp_path_factory.mktemp("utkface")
    for i, age in enumerate(YOUNG_AGES + MIDDLE_AGES + OLD_AGES):
        face = procedural_face(i, old=age >= 50, size=SIZE)
        Image.fromarray(face).save(folder / f"{age}_0_0_201701{i:04d}.jpg.chip.jpg")
    options = {"source": "utkface", "path": str(folder), "image_size": SIZE, "test_fraction": 0.2, "age_epochs": 80}
    return faces.load(DataSpec(dataset="faces", validation_split=0.0, options=options), None, seed=0)


def test_utkface_keeps_faces_of_every_age_for_the_regressor(utk_splits: faces.Splits) -> None:
    ages: faces.AgeSet = utk_splits.info.extra["ages"]
    assert len(ages.x_train) + len(ages.x_test) == len(YOUNG_AGES + MIDDLE_AGES + OLD_AGES)
    assert len(ages.x_test) == len(utk_splits.x_test) + 1  # one of the two middle-aged faces is held out too
    assert {40, 45} <= set(np.concatenate([ages.ages_train, ages.ages_test]).astype(int))
    assert sorted(np.unique(utk_splits.y_train)) == [faces.YOUNG, faces.OLD]  # the CycleGAN sees the domains only
    assert len(utk_splits.x_train) + len(utk_splits.x_test) == len(YOUNG_AGES + OLD_AGES)


def test_regressor_tells_old_from_young_and_evaluation_logs_ages_before_and_after_aging(
    utk_splits: faces.Splits,
) -> None:
    model = models.build(
        "cyclegan",
        {
            "input_shape": (SIZE, SIZE, 3),
            "generator_width": 4,
            "residual_blocks": 1,
            "critic_width": 4,
            "critic_layers": 2,
        },
    )
    metrics = evaluate(model, None, utk_splits).metrics

    names = ["young", "aged", "old", "rejuvenated", "shift", "regressor_mae"]
    assert {f"test_age_{name}" for name in names} <= set(metrics)
    assert not any(name.startswith("test_age_score") for name in metrics)  # the detector is for procedural faces
    assert metrics["test_age_shift"] == pytest.approx(metrics["test_age_aged"] - metrics["test_age_young"])
    assert metrics["test_age_old"] > metrics["test_age_young"] + 10  # trained on the faces of every age
    assert 0 <= metrics["test_age_regressor_mae"] < 30
