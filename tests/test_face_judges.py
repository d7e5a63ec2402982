"""The pretrained judges of aged faces: dlib's identity verification on tiny inputs (skipped without the ``eval``
extra) and how the evaluation reports the judges' figures, with stand-in judges."""

from __future__ import annotations

import numpy as np
import pytest

from keraslab.projects.face_aging import judges, task
from keraslab.projects.face_aging.data import AgeSet
from test_gan_data import distinct_face


@pytest.mark.skipif(not judges.available(), reason="the eval extra (dlib, face-recognition-models) is not installed")
def test_dlib_verifies_a_face_as_itself_and_reports_distances() -> None:
    faces = np.stack([distinct_face(i, size=64) for i in range(3)])
    same = judges.identity_metrics(faces, faces)
    assert same == {"verified": 1.0, "distance": pytest.approx(0.0, abs=1e-4)}
    shifted = judges.identity_metrics(faces, np.roll(faces, 1, axis=0))  # each paired with another face
    assert shifted["distance"] > same["distance"]
    assert judges.descriptors(faces).shape == (3, 128)


def test_judge_metrics_report_shift_identity_and_mae(monkeypatch: pytest.MonkeyPatch) -> None:
    """Stand-in judges: the 'age' of a face is its mean pixel value; identity is verified for half the faces."""
    monkeypatch.setattr(judges, "estimated_ages", lambda faces: faces.mean(axis=(1, 2, 3)).astype(np.float32))
    monkeypatch.setattr(judges, "identity_metrics", lambda a, b: {"verified": 0.5, "distance": 0.55})
    young, aged = np.full((4, 8, 8, 3), 20, np.uint8), np.full((4, 8, 8, 3), 50, np.uint8)
    old, rejuvenated = np.full((3, 8, 8, 3), 70, np.uint8), np.full((3, 8, 8, 3), 40, np.uint8)
    test_faces = np.stack([np.full((8, 8, 3), v, np.uint8) for v in (10, 30, 80)])
    ages = AgeSet(young, np.zeros(4), test_faces, np.array([12.0, 30.0, 70.0]), epochs=1)

    metrics = task.judge_metrics({"young": young, "aged": aged, "old": old, "rejuvenated": rejuvenated}, ages)

    assert metrics["test_age_independent_young"] == 20 and metrics["test_age_independent_old"] == 70
    assert metrics["test_age_independent_shift"] == pytest.approx(30.0)
    assert metrics["test_age_independent_mae"] == pytest.approx((2 + 0 + 10) / 3)
    assert metrics["test_identity_verified"] == 0.5 and metrics["test_identity_distance"] == 0.55
