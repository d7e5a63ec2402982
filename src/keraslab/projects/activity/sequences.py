"""What the sequence datasets (UCI HAR, BasicMotions) share: their options, padding and masking, standardisation
statistics fitted on the training split only, the subject-wise validation split, class weights, sliding windows.

A family reads its raw files into ``(N, T, C)`` float arrays (NaN where a reading is missing or a recording is
shorter than the longest) and hands them to ``make_splits``. Standardisation happens inside the model (a
``Normalization`` layer built from ``channel_mean``/``channel_std``), so a served model takes raw readings.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import Field

from keraslab.config import Strict
from keraslab.data.splits import DataInfo, DataUnavailable, Splits

if TYPE_CHECKING:
    from keraslab.config import DataSpec

#: Timesteps with a missing reading (padding, '?') get this value in every channel; the model masks them.
MASK_VALUE = -1.0e9


class SequenceOptions(Strict):
    """``[data.options]`` of the sequence datasets (the last two shape the activity task's training)."""

    class_weights: bool = Field(False, description="weight training samples by inverse class frequency")
    rotation_degrees: float = Field(
        0.0, ge=0.0, le=180.0, description="augment: turn acc+gyro windows by a random rotation, ± this about each axis"
    )
    cosine_decay_to: float | None = Field(
        None, gt=0.0, description="learning rate at the last epoch, cosine-decayed per epoch (None: constant)"
    )


def pad(series: Sequence[np.ndarray], length: int | None = None) -> np.ndarray:
    """Stack ``(T_i, C)`` recordings into ``(N, T, C)`` float32, NaN after each recording's end."""
    length = length or max(len(s) for s in series)
    out = np.full((len(series), length, series[0].shape[1]), np.nan, dtype=np.float32)
    for i, s in enumerate(series):
        out[i, : len(s)] = s[:length]
    return out


def channel_stats(x_train: np.ndarray) -> tuple[list[float], list[float]]:
    """Per-channel mean and standard deviation of the training readings (missing ones ignored; std 0 -> 1)."""
    flat = x_train.reshape(-1, x_train.shape[-1]).astype(np.float64)
    if np.isnan(flat).all(axis=0).any():
        raise DataUnavailable("a channel has no readings at all in the training split")
    mean, std = np.nanmean(flat, axis=0), np.nanstd(flat, axis=0)
    return mean.tolist(), np.where(std > 0, std, 1.0).tolist()


def fill_missing(x: np.ndarray) -> tuple[np.ndarray, bool]:
    """Set every timestep with a missing (NaN) reading to ``MASK_VALUE``; also say whether there was one."""
    missing = np.isnan(x).any(axis=-1)
    if not missing.any():
        return x, False
    x = x.copy()
    x[missing] = MASK_VALUE
    return x, True


def validation_mask(y: np.ndarray, groups: np.ndarray | None, fraction: float, seed: int) -> np.ndarray:
    """Which training samples form the validation split.

    With ``groups`` (the subject of each sample) whole subjects go to validation, so no person's windows are on
    both sides; at least one subject stays on each side. Without, a stratified ``fraction`` of each class.
    """
    rng = np.random.default_rng(seed)
    chosen = np.zeros(len(y), dtype=bool)
    if fraction <= 0:
        return chosen
    if groups is None:
        for label in np.unique(y):
            members = rng.permutation(np.flatnonzero(y == label))
            chosen[members[: round(len(members) * fraction)]] = True
        return chosen
    subjects = rng.permutation(np.unique(groups))
    if len(subjects) < 2:
        raise DataUnavailable(f"a subject-wise validation split needs >= 2 subjects, found {len(subjects)}")
    for subject in subjects[:-1]:
        if chosen.sum() >= fraction * len(y):
            break
        chosen |= groups == subject
    return chosen


def class_weights(y: np.ndarray, num_classes: int) -> list[float]:
    """Inverse-frequency weights ``n / (k * count)``, so every class carries the same total weight."""
    counts = np.bincount(y, minlength=num_classes).astype(np.float64)
    return [float(len(y) / (num_classes * c)) if c else 0.0 for c in counts]


def make_splits(
    spec: DataSpec,
    seed: int,
    *,
    train: tuple[np.ndarray, np.ndarray, np.ndarray | None],
    test: tuple[np.ndarray, np.ndarray],
    class_names: list[str],
    channels: list[str],
    source: str,
    features: Callable[[np.ndarray], np.ndarray] | None = None,
    model_params: Mapping[str, Any] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Splits:
    """Splits of a sequence dataset: ``train`` is ``(x, y, subjects or None)``, ``test`` is ``(x, y)``.

    ``x`` is ``(N, T, C)`` with NaN for missing readings; statistics come from the training part only, of
    ``features(x)`` when the model's first layer is that fixed function. ``model_params`` and ``extra`` are
    added to the description's.
    """
    x, y, groups = train
    val = validation_mask(y, groups, spec.validation_split, seed)
    mean, std = channel_stats(features(x[~val]) if features else x[~val])
    (x_train, masked_train), (x_test, masked_test) = fill_missing(x), fill_missing(test[0])
    params: dict[str, Any] = {
        "input_shape": tuple(x.shape[1:]),
        "num_classes": len(class_names),
        "channel_mean": mean,
        "channel_std": std,
        **(model_params or {}),
    }
    if masked_train or masked_test:
        params["mask_value"] = MASK_VALUE
    described: dict[str, Any] = {"channels": channels, **(extra or {})}
    if spec.options.get("class_weights"):
        described["class_weights"] = class_weights(y[~val], len(class_names))
    if groups is not None:
        described["validation_subjects"] = sorted(np.unique(groups[val]).tolist())
    info = DataInfo(
        source=source,
        model_params=params,
        class_names=class_names,
        sizes={"train": int((~val).sum()), "validation": int(val.sum()), "test": len(test[1])},
        extra=described,
    )
    return Splits(x_train[~val], y[~val], x_train[val], y[val], x_test, test[1], info)


def sliding_windows(recording: np.ndarray, length: int, stride: int) -> tuple[np.ndarray, np.ndarray]:
    """``(windows (W, length, C), start indices (W,))`` of a ``(T, C)`` recording; T must be >= ``length``."""
    if stride < 1:
        raise ValueError(f"stride must be >= 1, got {stride}")
    if len(recording) < length:
        raise ValueError(f"the recording has {len(recording)} readings; a window needs at least {length}")
    starts = np.arange(0, len(recording) - length + 1, stride)
    return np.stack([recording[s : s + length] for s in starts]), starts
