"""The age regressor on a tiny UTKFace-format folder of synthetic faces: it trains on faces of every age that the
generator never sees, tells old from young, and the face-aging evaluation logs the mean predicted ages, the shift
and the regressor's MAE."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from keraslab import models
from keraslab.config import DataSpec
from keraslab.projects.face_aging import data as faces
from keraslab.projects.face_aging.task import evaluate
from test_gan_data import distinct_face

SIZE = 32
YOUNG_AGES, OTHER_AGES, OLD_AGES = [22, 25, 28] * 10, [8, 40, 45, 50], [65, 70, 75] * 10


@pytest.fixture(scope="module")
def utk_splits(tmp_path_factory: pytest.TempPathFactory) -> faces.Splits:
    folder = tmp_path_factory.mktemp("utkface")
    for i, age in enumerate(YOUNG_AGES + OTHER_AGES + OLD_AGES):
        face = distinct_face(i, SIZE, old=age >= 60)
        Image.fromarray(face).save(folder / f"{age}_0_0_201701{i:04d}.jpg.chip.jpg")
    options = {"source": "utkface", "path": str(folder), "image_size": SIZE, "test_fraction": 0.2, "age_epochs": 80}
    return faces.load(DataSpec(dataset="faces", validation_split=0.0, options=options), None, seed=0)


def test_regressor_trains_on_faces_of_every_age_that_the_generator_never_sees(utk_splits: faces.Splits) -> None:
    ages: faces.AgeSet = utk_splits.info.extra["ages"]
    generator = {face.tobytes() for face in utk_splits.x_train}
    assert not generator & {face.tobytes() for face in ages.x_train}
    assert {8, 40, 45, 50} <= set(np.concatenate([ages.ages_train, ages.ages_test]).astype(int))
    assert {22, 75} <= set(ages.ages_train.astype(int))  # age_fraction of the domains' faces too
    assert len(ages.x_test) == len(utk_splits.x_test) + 1  # one of the four other ages is held out too
    assert sorted(np.unique(utk_splits.y_train)) == [faces.YOUNG, faces.OLD]  # the CycleGAN sees the domains only
    kept_for_regressor = int(np.isin(ages.ages_train, YOUNG_AGES + OLD_AGES).sum())
    assert len(utk_splits.x_train) + len(utk_splits.x_test) + kept_for_regressor == len(YOUNG_AGES + OLD_AGES)
    assert 0.2 < kept_for_regressor / (len(utk_splits.x_train) + kept_for_regressor) < 0.4  # age_fraction 0.3


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
    assert metrics["test_fd_young"] > 0 and metrics["test_fd_aged"] > 0
