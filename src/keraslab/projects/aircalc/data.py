"""AirCalc symbols: MNIST digits (the official files, via ``keraslab.projects.mnist.data``), real handwritten
operators (``real``, when ``<data dir>/handwritten-operators`` exists) and generated operator strokes.

Each operator class gets ``operators_per_class`` training images (the class balance): a ``real_share`` of them
are variants of the class's real *training* drawings (``augment.real_variants``), the rest are generated
(``strokes``); a class without real drawings (``( )``) is all generated. Real drawings are split by drawing
(with their copies) into training, validation and test with their own seed, so the test drawings stay the same
whatever the training seed. Generated operators use one seed per split (training ``seed``, validation
``seed + 1``, test ``seed + 2``). Validation and test hold the real images as they are, next to generated ones;
``DataInfo.extra["test_sources"]`` says which test image is a ``digit``, a ``real`` or a ``generated`` operator,
and ``extra["composition"]`` counts each class's images per split and source (the task logs both).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import Field

from keraslab.config import Strict
from keraslab.data.splits import DataInfo, Splits
from keraslab.projects.aircalc.augment import photograph_some, real_variants, redraw_digits, repen_digits
from keraslab.projects.aircalc.real import FOLDER, RealOperators, read_operators, split_by_drawing
from keraslab.projects.aircalc.strokes import operator_images
from keraslab.projects.aircalc.symbols import CLASS_NAMES, INDEX, OPERATORS
from keraslab.projects.mnist import data as mnist

if TYPE_CHECKING:
    from keraslab.config import DataSpec

Part = tuple[np.ndarray, np.ndarray, list[str]]  # uint8 (N, 28, 28), class indices, source of each image


class Options(Strict):
    """``[data.options]`` of an aircalc project."""

    operators_per_class: int = Field(4000, ge=1, description="training images per operator class (real + generated)")
    real_share: float = Field(
        0.6, ge=0.0, le=1.0, description="share of an operator class's training images made from real drawings"
    )
    real_validation_drawings: float = Field(0.15, ge=0.0, lt=0.5, description="real drawings held out to validate")
    real_test_drawings: float = Field(0.2, ge=0.0, lt=0.5, description="real drawings held out to test")
    real_split_seed: int = Field(0, description="seed of the split of real drawings (not the training seed)")
    test_operators_per_class: int = Field(1000, ge=1, description="generated test images per operator")
    digit_scale_min: float = Field(0.7, gt=0.2, le=1.0, description="smallest size of a shrunk training digit")
    digit_scale_fraction: float = Field(0.3, ge=0.0, le=1.0, description="fraction of training digits redrawn")
    digit_pen_fraction: float = Field(0.3, ge=0.0, le=1.0, description="fraction of training digits re-penned")
    operator_image_fraction: float = Field(
        0.0, ge=0.0, le=1.0, description="fraction of training operators drawn as the image path sees them"
    )
    operator_pen_fraction: float = Field(
        0.3, ge=0.0, le=1.0, description="fraction of real training operators re-penned"
    )
    photo_fraction: float = Field(
        0.25, ge=0.0, le=1.0, description="fraction of all training images (every class) photographed and cut out"
    )
    max_digits: int | None = Field(None, ge=1, description="use only this many training digits (quick runs)")


def load(spec: DataSpec, data_dir: Path | None, seed: int) -> Splits:
    """Digits and operators, shuffled together; labels index ``CLASS_NAMES`` (digits keep MNIST's)."""
    opts = Options.model_validate(spec.options)
    digits = mnist.load(spec, data_dir, seed)
    real = read_operators(data_dir / FOLDER) if data_dir and (data_dir / FOLDER).is_dir() else None
    rng = np.random.default_rng(seed)
    x_digits, y_digits = digits.x_train[: opts.max_digits], digits.y_train[: opts.max_digits]
    x_digits = repen_digits(
        redraw_digits(x_digits, opts.digit_scale_fraction, opts.digit_scale_min, rng), opts.digit_pen_fraction, rng
    )
    train_real, val_real, test_real = (
        (
            real.subset(mask)
            for mask in split_by_drawing(
                real, opts.real_validation_drawings, opts.real_test_drawings, opts.real_split_seed
            )
        )
        if real is not None
        else (None, None, None)
    )
    n_val = round(opts.operators_per_class * spec.validation_split) if len(digits.x_val) else 0
    parts = {
        "train": training_operators(opts, train_real, seed, rng),
        "validation": join([as_is(val_real), generated(OPERATORS, n_val, seed + 1, 0.0)]),
        "test": join([as_is(test_real), generated(OPERATORS, opts.test_operators_per_class, seed + 2, 0.0)]),
    }
    x_train, y_train, _ = mix(x_digits, y_digits, parts["train"], rng)
    x_train = photograph_some(x_train, opts.photo_fraction, rng)
    x_val, y_val, _ = mix(digits.x_val, digits.y_val, parts["validation"], rng)
    x_test, y_test, test_sources = mix(digits.x_test, digits.y_test, parts["test"], None)
    drawings = {
        name: len(set(p.drawings)) if p is not None else 0
        for name, p in zip(("train", "validation", "test"), (train_real, val_real, test_real), strict=True)
    }
    info = DataInfo(
        source=f"{digits.info.source} + "
        + (f"{sum(drawings.values())} real operator drawings ({data_dir / FOLDER}) + " if real is not None else "")
        + "generated operators",
        model_params={"input_shape": (28, 28, 1), "num_classes": len(CLASS_NAMES)},
        class_names=list(CLASS_NAMES),
        sizes={"train": len(x_train), "validation": len(x_val), "test": len(x_test)},
        extra={
            "operator_seeds": {"train": seed, "validation": seed + 1, "test": seed + 2},
            "real_drawings": drawings,
            "composition": composition(parts),
            "test_sources": np.asarray(test_sources),
        },
    )
    return Splits(x_train, y_train, x_val, y_val, x_test, y_test, info)


def training_operators(opts: Options, real: RealOperators | None, seed: int, rng: np.random.Generator) -> Part:
    """``operators_per_class`` images of each operator: ``real_share`` real variants where the class has real
    training drawings, generated strokes for the rest (each class's generator seeded by ``seed`` and the class)."""
    parts = []
    for symbol in OPERATORS:
        pool = real.images[real.labels == symbol] if real is not None else np.empty((0, 28, 28), np.uint8)
        n_real = round(opts.real_share * opts.operators_per_class) if len(pool) else 0
        variants = real_variants(pool, n_real, rng, opts.operator_image_fraction, opts.operator_pen_fraction)
        parts.append((variants, np.full(n_real, INDEX[symbol], np.int64), ["real"] * n_real))
        parts.append(
            generated((symbol,), opts.operators_per_class - n_real, (seed, INDEX[symbol]), opts.operator_image_fraction)
        )
    return join(parts)


def generated(symbols: tuple[str, ...], per_class: int, seed: int | Sequence[int], image_fraction: float) -> Part:
    images, labels = (
        operator_images(symbols, per_class, seed, image_fraction)
        if per_class
        else (np.empty((0, 28, 28), np.uint8), [])
    )
    return images, np.array([INDEX[label] for label in labels], np.int64), ["generated"] * len(labels)


def as_is(real: RealOperators | None) -> Part:
    """The real images unchanged (validation and test)."""
    if real is None:
        return np.empty((0, 28, 28), np.uint8), np.empty(0, np.int64), []
    return real.images, np.array([INDEX[label] for label in real.labels], np.int64), ["real"] * len(real)


def join(parts: list[Part]) -> Part:
    return (
        np.concatenate([p[0] for p in parts]),
        np.concatenate([p[1] for p in parts]),
        [source for p in parts for source in p[2]],
    )


def mix(x: np.ndarray, y: np.ndarray, operators: Part, rng: np.random.Generator | None) -> Part:
    """Digits (N, 28, 28, 1) then ``operators``, shuffled with ``rng`` (None: keep order)."""
    x = np.concatenate([x, operators[0][..., None]])
    y = np.concatenate([y.astype(np.int64), operators[1]])
    sources = ["digit"] * (len(x) - len(operators[2])) + operators[2]
    if rng is None:
        return x, y, sources
    order = rng.permutation(len(x))
    return x[order], y[order], [sources[i] for i in order]


def composition(parts: dict[str, Part]) -> dict[str, dict[str, Any]]:
    """Operator images per class, split and source: ``{"+": {"train real": 2400, ...}, ...}``."""
    table: dict[str, dict[str, Any]] = {symbol: {} for symbol in OPERATORS}
    for split, (_, labels, sources) in parts.items():
        for label, source in zip(labels, sources, strict=True):
            key = f"{split} {source}"
            row = table[CLASS_NAMES[label]]
            row[key] = row.get(key, 0) + 1
    return table
