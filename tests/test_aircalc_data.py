"""AirCalc's data: the real operators folder (``copies.csv``), the split by drawing, and how real and generated
operators are mixed (a tiny fake folder written by the tests, drawn by the stroke generator)."""

from __future__ import annotations

import csv
import uuid
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from keraslab import registry
from keraslab.data import DataUnavailable, load
from keraslab.projects.aircalc.real import FOLDER, read_operators, split_by_drawing
from keraslab.projects.aircalc.strokes import operator_images
from keraslab.projects.aircalc.symbols import CLASS_NAMES, REAL_FOLDERS

TRANSFORMS = {
    "rot180": lambda a: a[::-1, ::-1],
    "flip_top_bottom": lambda a: a[::-1],
    "flip_left_right": lambda a: a[:, ::-1],
}


def write_operators(root: Path, drawings: int = 5, seed: int = 0) -> Path:
    """``root/handwritten-operators``: ``drawings`` generated drawings per class, each with two copies."""
    folder = root / FOLDER
    rows = []
    for k, (name, symbol) in enumerate(REAL_FOLDERS.items()):
        (folder / name).mkdir(parents=True)
        images, _ = operator_images((symbol,), drawings, (seed, k))
        for i, image in enumerate(images):
            drawn = f"{name}/source_{name}-{i:04d}.png"
            Image.fromarray(image).save(folder / drawn)
            for transform in ("rot180", "flip_top_bottom"):
                copy = f"{name}/{uuid.UUID(int=len(rows) + 1)}.png"
                Image.fromarray(np.ascontiguousarray(TRANSFORMS[transform](image))).save(folder / copy)
                rows.append({"file": copy, "drawn_file": drawn, "transform": transform})
    with (folder / "copies.csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["file", "drawn_file", "transform"])
        writer.writeheader()
        writer.writerows(rows)
    return folder


@pytest.fixture
def data_dir(tmp_path: Path, mnist_dir: Path) -> Path:
    """MNIST (synthetic) and a fake real-operators folder side by side, as in ``../shared/data``."""
    (tmp_path / "mnist").symlink_to(mnist_dir / "mnist")
    write_operators(tmp_path)
    return tmp_path


def test_reads_every_image_with_its_drawing(tmp_path: Path) -> None:
    operators = read_operators(write_operators(tmp_path, drawings=4))
    assert len(operators) == 6 * 4 * 3 and operators.images.shape[1:] == (28, 28)
    assert sorted(set(operators.labels)) == sorted(REAL_FOLDERS.values())
    assert len(set(operators.drawings)) == 6 * 4
    copies = operators.files != operators.drawings
    assert copies.sum() == 6 * 4 * 2
    for file, drawing, label in zip(operators.files, operators.drawings, operators.labels, strict=True):
        assert file.split("/")[0] == drawing.split("/")[0] and REAL_FOLDERS[file.split("/")[0]] == label
    rotated = operators.images[list(operators.files).index(f"plus/{uuid.UUID(int=1)}.png")]
    assert np.array_equal(
        rotated, operators.images[list(operators.files).index("plus/source_plus-0000.png")][::-1, ::-1]
    )


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_split_by_drawing_never_puts_a_copy_and_its_drawing_on_both_sides(tmp_path: Path, seed: int) -> None:
    operators = read_operators(write_operators(tmp_path, drawings=7))
    masks = split_by_drawing(operators, validation=0.15, test=0.2, seed=seed)
    assert np.array_equal(masks[0].astype(int) + masks[1] + masks[2], np.ones(len(operators)))
    sides = [set(operators.drawings[mask]) for mask in masks]
    assert not (sides[0] & sides[1] or sides[0] & sides[2] or sides[1] & sides[2])
    for label in set(operators.labels):  # every class is validated and tested on some of its drawings
        assert all((operators.labels[mask] == label).any() for mask in masks)
    again = split_by_drawing(operators, validation=0.15, test=0.2, seed=seed)
    assert all(np.array_equal(a, b) for a, b in zip(masks, again, strict=True))


def test_bad_operator_folders_name_the_file(tmp_path: Path) -> None:
    folder = write_operators(tmp_path, drawings=2)
    table = (folder / "copies.csv").read_text()
    (folder / "copies.csv").write_text(table.replace("drawn_file", "source", 1))
    with pytest.raises(DataUnavailable, match=r"copies\.csv: columns file, source, transform; expected"):
        read_operators(folder)
    (folder / "copies.csv").write_text(table.replace("plus/source_plus-0001.png", "plus/gone.png"))
    with pytest.raises(DataUnavailable, match=r"copies\.csv: names 1 file\(s\) not in the folder, e\.g\. plus/gone"):
        read_operators(folder)
    (folder / "copies.csv").write_text(table)
    Image.fromarray(np.zeros((20, 28), np.uint8)).save(folder / "minus" / "small.png")
    with pytest.raises(DataUnavailable, match=r"minus/small\.png: 28×20 pixels; expected 28×28"):
        read_operators(folder)


TINY = ["data.options.operators_per_class=30", "data.options.test_operators_per_class=4", "data.options.max_digits=100"]


def test_training_mixes_real_and_generated_operators_by_the_settings(data_dir: Path) -> None:
    spec = registry.load("aircalc", [*TINY, "data.options.real_share=0.6"])
    splits = load(spec.data, data_dir, seed=3)
    composition = splits.info.extra["composition"]
    for symbol in "+-×÷/.":  # classes with real drawings: 60 % real variants; balanced: 30 per class
        assert composition[symbol]["train real"] == 18 and composition[symbol]["train generated"] == 12
    assert composition["("] == {"train generated": 30, "validation generated": 3, "test generated": 4}
    assert np.bincount(splits.y_train, minlength=18)[10:].tolist() == [30] * 8
    assert splits.info.extra["real_drawings"] == {"train": 3 * 6, "validation": 6, "test": 6}
    assert "real operator drawings" in splits.info.source


def test_held_out_real_images_are_the_test_drawings_unchanged(data_dir: Path) -> None:
    spec = registry.load("aircalc", TINY)
    splits = load(spec.data, data_dir, seed=3)
    operators = read_operators(data_dir / FOLDER)
    _, _, test = split_by_drawing(operators, 0.15, 0.2, seed=0)
    real = np.asarray(splits.info.extra["test_sources"]) == "real"
    assert np.array_equal(splits.x_test[real, :, :, 0], operators.images[test])
    assert [CLASS_NAMES[k] for k in splits.y_test[real]] == list(operators.labels[test])
    again = load(spec.data, data_dir, seed=4)  # another training seed: the same held-out drawings
    assert np.array_equal(again.x_test[np.asarray(again.info.extra["test_sources"]) == "real"], splits.x_test[real])


def test_without_the_folder_every_operator_is_generated(mnist_dir: Path) -> None:
    splits = load(registry.load("aircalc", TINY).data, mnist_dir, seed=3)
    assert "real" not in set(splits.info.extra["test_sources"])
    assert all("train real" not in row for row in splits.info.extra["composition"].values())


def test_a_photographed_symbol_is_the_same_symbol_softer_and_fainter() -> None:
    from keraslab.projects.aircalc.augment import photograph_some, photographed
    from keraslab.projects.aircalc.raster import rasterise

    def stroke(angle: float) -> np.ndarray:  # a sharp MNIST-like "1", leaning by ``angle`` radians
        top = (14 + 10 * np.sin(angle), 4.0)
        line = np.array([[top[0], top[1]], [28 - top[0], 24.0]])
        return (np.clip(rasterise([line], (28, 28), 3.0), 0, 1) * 255).astype(np.uint8)

    written = np.stack([stroke(a) for a in np.linspace(-0.4, 0.4, 40)])
    out = np.stack([photographed(w, np.random.default_rng(i)) for i, w in enumerate(written)])
    assert out.shape == (40, 28, 28) and out.dtype == np.uint8
    assert np.array_equal(out[0], photographed(written[0], np.random.default_rng(0)))  # seeded
    before, after = written.astype(np.float32) / 255, out.astype(np.float32) / 255
    saturated = [(im > 0.9).sum() / max((im > 0.1).sum(), 1) for im in (before, after)]
    assert saturated[1] < 0.6 * saturated[0]  # softer strokes, as a photo's
    correlation = [np.corrcoef(a.ravel(), b.ravel())[0, 1] for a, b in zip(before, after, strict=True)]
    assert np.median(correlation) > 0.7  # the same symbol, in the same place
    some = photograph_some(written[..., None], 0.5, np.random.default_rng(1))
    changed = [not np.array_equal(a, b) for a, b in zip(written[..., None], some, strict=True)]
    assert 10 <= sum(changed) <= 30
    assert np.array_equal(photograph_some(written[..., None], 0.0, np.random.default_rng(1)), written[..., None])
