"""AirCalc without a trained network: generator, rasteriser, segmenter and the full pipeline on traces and
images, read by a template classifier (nearest normalised template of a small pen "font")."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from keraslab.projects.aircalc.inputs import InputError, parse_trace
from keraslab.projects.aircalc.normalise import normalise_strokes
from keraslab.projects.aircalc.pipeline import AirCalc
from keraslab.projects.aircalc.raster import rasterise, segment_distance
from keraslab.projects.aircalc.segment import group_units, stroke_boxes
from keraslab.projects.aircalc.strokes import THICKNESS, operator_images, symbol_strokes
from keraslab.projects.aircalc.symbols import CLASS_NAMES, OPERATORS

# A pen "font" in line units (a digit is 1 tall, y down): the strokes a test draws for each symbol.
FONT: dict[str, list[list[tuple[float, float]]]] = {
    "1": [[(0.05, 0.1), (0.15, 0.0), (0.15, 1.0)]],
    "2": [[(0.0, 0.2), (0.2, 0.0), (0.45, 0.05), (0.5, 0.3), (0.0, 1.0), (0.55, 1.0)]],
    "3": [[(0.0, 0.05), (0.5, 0.05), (0.2, 0.45), (0.5, 0.7), (0.35, 1.0), (0.0, 0.9)]],
    "5": [[(0.5, 0.0), (0.05, 0.0), (0.0, 0.45), (0.4, 0.4), (0.5, 0.7), (0.35, 1.0), (0.0, 0.95)]],
    "7": [[(0.0, 0.0), (0.55, 0.0), (0.2, 1.0)]],
    "+": [[(0.0, 0.5), (0.5, 0.5)], [(0.25, 0.25), (0.25, 0.75)]],
    "-": [[(0.0, 0.5), (0.5, 0.5)]],
    "×": [[(0.0, 0.3), (0.4, 0.7)], [(0.4, 0.3), (0.0, 0.7)]],
    "÷": [[(0.0, 0.5), (0.5, 0.5)], [(0.25, 0.3)], [(0.25, 0.7)]],
    "(": [[(0.3, 0.0), (0.08, 0.3), (0.05, 0.6), (0.3, 1.05)]],
    ")": [[(0.0, 0.0), (0.22, 0.3), (0.25, 0.6), (0.0, 1.05)]],
    ".": [[(0.05, 0.95)]],
    "·": [[(0.05, 0.5)]],  # the multiplication dot: the CNN's dot class, read as · by its height
}


def trace_of(text: str, height: float = 80.0, origin: tuple[float, float] = (30.0, 40.0)) -> list[list[list[float]]]:
    """``text`` written left to right in the font, ``height`` pixels per line: a JSON-like trace."""
    strokes, x = [], 0.0
    for char in text:
        glyph = FONT[char]
        width = max(p[0] for s in glyph for p in s)
        for stroke in glyph:
            strokes.append([[origin[0] + (x + px) * height, origin[1] + py * height] for px, py in stroke])
        x += width + 0.35
    return strokes


def template_classifier() -> tuple[np.ndarray, list[int]]:
    """Templates: each font symbol normalised as a one-symbol expression of line height 1."""
    templates, classes = [], []
    for char, glyph in FONT.items():
        if char not in CLASS_NAMES:
            continue
        templates.append(normalise_strokes([np.asarray(s, float) for s in glyph], 1.0))
        classes.append(CLASS_NAMES.index(char))
    return np.stack(templates), classes


def classify_by_template(images: np.ndarray) -> np.ndarray:
    templates, classes = template_classifier()
    distance = ((images[:, None] - templates[None]) ** 2).sum(axis=(2, 3))
    scores = np.exp(-(distance - distance.min(axis=1, keepdims=True)) / 4.0)
    probabilities = np.full((len(images), len(CLASS_NAMES)), 1e-6)
    probabilities[:, classes] = scores
    return probabilities / probabilities.sum(axis=1, keepdims=True)


def test_generator_is_deterministic_per_seed() -> None:
    a, labels = operator_images(OPERATORS, 3, seed=7)
    b, _ = operator_images(OPERATORS, 3, seed=7)
    c, _ = operator_images(OPERATORS, 3, seed=8)
    assert a.shape == (24, 28, 28) and a.dtype == np.uint8
    assert labels == [s for s in OPERATORS for _ in range(3)]
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_image_path_operators_are_deterministic_and_keep_their_size() -> None:
    """Operators drawn through the image path (pixels, then normalised at the digits' measured line height)
    come on top of the stroke-drawn ones; a fraction of 0 draws exactly what the stroke path drew."""
    strokes_only, _ = operator_images(OPERATORS, 20, seed=1)
    assert np.array_equal(operator_images(OPERATORS, 20, seed=1, image_fraction=0.0)[0], strokes_only)
    a, labels = operator_images(OPERATORS, 20, seed=1, image_fraction=1.0)
    assert np.array_equal(a, operator_images(OPERATORS, 20, seed=1, image_fraction=1.0)[0])
    ink = (a > 64).reshape(len(a), -1).sum(axis=1)
    by_symbol = {s: np.median(ink[[i for i, lab in enumerate(labels) if lab == s]]) for s in OPERATORS}
    assert by_symbol["."] < by_symbol["-"] < by_symbol["+"]
    cols = [np.flatnonzero((im > 64).any(axis=0)) for im in a]
    widths = {s: np.median([c[-1] - c[0] + 1 for c, lab in zip(cols, labels, strict=True) if lab == s]) for s in "-/"}
    assert 6 <= widths["-"] <= 20 and widths["/"] >= 10


def test_generated_symbols_keep_their_size() -> None:
    images, labels = operator_images(OPERATORS, 20, seed=1)
    ink = (images > 64).reshape(len(images), -1).sum(axis=1)
    by_symbol = {s: np.median(ink[[i for i, lab in enumerate(labels) if lab == s]]) for s in OPERATORS}
    assert by_symbol["."] < by_symbol["-"] < by_symbol["+"]
    rows = [np.flatnonzero((im > 64).any(axis=1)) for im in images]
    heights = {s: np.median([r[-1] - r[0] + 1 for r, lab in zip(rows, labels, strict=True) if lab == s]) for s in "-("}
    assert heights["-"] <= 5 and heights["("] >= 18  # a minus stays a thin bar, a parenthesis fills the line


def test_divide_dots_never_touch_the_bar() -> None:
    """Regression: dots touching the bar made generated ``÷`` look like a short-armed ``+``, and the CNN read
    the ``÷`` of composed expressions as ``+``."""
    rng = np.random.default_rng(0)
    clearance = []  # blank between the dots' ink and the bar's ink, in line heights
    for _ in range(500):
        pen = rng.uniform(*THICKNESS)
        strokes = symbol_strokes("÷", rng, pen)
        bar = max(strokes, key=lambda s: np.ptp(s[:, 0]))
        dots = np.concatenate([s for s in strokes if s is not bar])
        clearance.append(segment_distance(dots, bar[:-1], bar[1:]).min() - pen)
    assert np.mean(np.asarray(clearance) <= 0) < 0.01 and np.median(clearance) > 0.05  # the old one: 23 %, 0.049


def test_rasteriser_draws_thick_antialiased_lines() -> None:
    image = rasterise([np.array([[2.0, 5.0], [18.0, 5.0]])], (10, 20), thickness=3.0)
    assert image[:, 10].tolist() == [0, 0, 0, 0.5, 1, 1, 0.5, 0, 0, 0]  # 3 px wide around y = 5, soft edges
    assert image[:, :1].max() < 0.6  # the round cap ends near x = 2
    dot = rasterise([np.array([[5.5, 5.5]])], (10, 10), thickness=2.0)
    assert dot[5, 5] == 1.0 and dot.sum() < 8


def test_segmenter_keeps_multi_stroke_symbols_whole() -> None:
    strokes = [np.asarray(s, float) for s in trace_of("1+7×3÷2")]
    groups = group_units(stroke_boxes(strokes), line=80.0)
    assert [len(g) for g in groups] == [1, 2, 1, 2, 1, 3, 1]


def test_segmenter_joins_a_detached_piece_high_in_the_line() -> None:
    """Regression: a ``5`` whose top bar is a separate piece (common in MNIST) was read as two symbols, and so
    was an ``8`` whose upper loop, reaching down to the middle, was broken off its lower one."""
    five, bar, seven = (0, 0, 50, 100), (45, 2, 95, 14), (130, 0, 180, 100)
    minus, dot, high_minus = (220, 45, 260, 55), (290, 90, 298, 98), (330, 30, 370, 40)
    eight_low, eight_top = (480, 45, 530, 100), (515, 2, 575, 50)
    boxes = [five, bar, seven, minus, dot, high_minus, (400, 0, 450, 100), eight_low, eight_top]
    assert group_units(boxes, line=100.0) == [[0, 1], [2], [3], [4], [5], [6], [7, 8]]


def test_trace_and_image_of_the_same_writing_give_the_same_symbol_images() -> None:
    """The image path (threshold, components, crop at the line's scale) sees what the trace path sees."""
    seen = []

    def record(images: np.ndarray) -> np.ndarray:
        seen.append(images)
        return classify_by_template(images)

    trace = [np.asarray(s, float) for s in trace_of("1÷(7-3)", height=60.0, origin=(20.0, 20.0))]
    calc = AirCalc(record)
    by_trace = calc.read_trace(trace)
    by_image = calc.read_image(((1 - rasterise(trace, (110, 420), thickness=0.13 * 60)) * 255).astype(np.uint8))
    assert by_trace.expression == by_image.expression == "1÷(7-3)"
    for a, b in zip(*seen, strict=True):
        assert np.corrcoef(a.ravel(), b.ravel())[0, 1] > 0.8
        assert 0.7 < b.sum() / a.sum() < 1.1


def test_pipeline_reads_a_trace_exactly() -> None:
    reading = AirCalc(classify_by_template).read_trace(trace_of("12+7×3"))
    assert reading.expression == "12+7×3"
    assert reading.value == "33" and reading.error is None and reading.note == ""
    first = reading.symbols[0].to_dict()
    assert first["label"] == "1" and len(first["top"]) in (3, 4) and first["confidence"] > 0.5
    assert first["box"][0] == pytest.approx(30 + 0.05 * 80)


def test_pipeline_tells_minus_dot_and_one_apart_by_size() -> None:
    reading = AirCalc(classify_by_template).read_trace(trace_of("(1.2-1)÷3"))
    assert reading.expression == "(1.2-1)÷3"
    assert reading.value == "0.0666666666667" or reading.value == "1/15 ≈ 0.0666666666667"


@pytest.mark.parametrize("dark_on_light", [True, False])
def test_pipeline_reads_an_image(tmp_path: Path, dark_on_light: bool) -> None:
    strokes = [np.asarray(s, float) for s in trace_of("(7-3)×2", height=60.0, origin=(20.0, 20.0))]
    ink = rasterise(strokes, (110, 420), thickness=7.0)
    pixels = ((1 - ink if dark_on_light else ink) * 255).astype(np.uint8)
    path = tmp_path / "expression.png"
    Image.fromarray(pixels).save(path)
    reading = AirCalc(classify_by_template).read_file(path)
    assert reading.expression == "(7-3)×2"
    assert reading.value == "8"


def test_pipeline_reads_a_photo_like_image(tmp_path: Path) -> None:
    """Pen strokes drawn by PIL on unevenly lit gray paper, blurred, noisy, saved as JPEG."""
    from PIL import ImageDraw, ImageFilter

    rng = np.random.default_rng(1)
    rows, cols = np.mgrid[0:170, 0:560]
    paper = 205 + 25 * cols / 560 - 12 * rows / 170 + rng.normal(0, 3, rows.shape)
    image = Image.fromarray(np.clip(paper, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for stroke in trace_of("(1.2-1)×3", height=80.0, origin=(40.0, 45.0)):
        points = [tuple(p) for p in stroke]
        for x, y in (points[0], points[-1]):
            draw.ellipse((x - 3.5, y - 3.5, x + 3.5, y + 3.5), fill=40)
        if len(points) > 1:
            draw.line(points, fill=40, width=7, joint="curve")
    blurred = np.asarray(image.filter(ImageFilter.GaussianBlur(1.2)), np.float32) + rng.normal(0, 6, rows.shape)
    Image.fromarray(np.clip(blurred, 0, 255).astype(np.uint8)).save(tmp_path / "photo.jpg", quality=70)
    reading = AirCalc(classify_by_template).read_file(tmp_path / "photo.jpg")
    assert reading.expression == "(1.2-1)×3" and reading.exact == Fraction(3, 5)


@pytest.mark.parametrize(
    ("text", "value", "readings"),
    [
        ("2·3", Fraction(6), ["multiplication ·"]),
        ("2.3", Fraction(23, 10), ["decimal point ."]),
        ("2·.5", Fraction(1), ["multiplication ·", "decimal point ."]),
        ("1.5·2", Fraction(3), ["decimal point .", "multiplication ·"]),
    ],
)
def test_a_dot_is_read_by_its_height_in_traces_and_images(text: str, value: Fraction, readings: list[str]) -> None:
    """The same small blob is ``·`` at mid-height and ``.`` on the baseline; the answer says which it chose."""
    calc = AirCalc(classify_by_template)
    trace = [np.asarray(s, float) for s in trace_of(text, height=60.0, origin=(20.0, 20.0))]
    image = ((1 - rasterise(trace, (110, 60 * len(text) + 40), thickness=0.13 * 60)) * 255).astype(np.uint8)
    for reading in (calc.read_trace(trace), calc.read_image(image)):
        assert reading.expression == text and reading.exact == value
        assert [part.split(": ")[1] for part in reading.note.split("; ")] == readings


def test_a_dot_between_the_heights_is_read_as_the_reading_that_parses() -> None:
    """A dot a little above the baseline after ``)``: ``.`` is likelier by height, but only ``·`` parses."""
    trace = trace_of("(2)·3")
    dot = next(i for i, s in enumerate(trace) if len(s) == 1)
    trace[dot][0][1] += 0.24 * 80  # from mid-height (0.5) down to 0.26 of the line
    reading = AirCalc(classify_by_template).read_trace(trace)
    assert reading.expression == "(2)·3" and reading.value == "6"
    assert "do not parse" in reading.note and "multiplication" in reading.note


def test_beam_search_repairs_an_unparseable_reading() -> None:
    def unsure(images: np.ndarray) -> np.ndarray:
        probabilities = classify_by_template(images)
        probabilities[0] = 0.0  # the first symbol: "+" most likely, "1" second
        probabilities[0, CLASS_NAMES.index("+")] = 0.6
        probabilities[0, CLASS_NAMES.index("1")] = 0.4
        return probabilities

    reading = AirCalc(unsure).read_trace(trace_of("1+2"))
    assert "".join(s.top[0][0] for s in reading.symbols) == "++2"  # does not parse
    assert reading.expression == "1+2" and reading.value == "3"
    assert "'++2' do not parse" in reading.note and "'1+2'" in reading.note


def test_a_reading_that_starts_a_number_with_its_point_is_checked_against_the_others() -> None:
    """``2/.5`` parses, but when its ``/`` might be a ``1`` the calculator reads ``21.5`` and says why."""

    def unsure(images: np.ndarray) -> np.ndarray:
        probabilities = classify_by_template(images)
        probabilities[1] = 0.0
        probabilities[1, CLASS_NAMES.index("/")] = 0.6
        probabilities[1, CLASS_NAMES.index("1")] = 0.4
        return probabilities

    reading = AirCalc(unsure).read_trace(trace_of("21.5"))
    assert reading.expression == "21.5" and reading.value == "21.5"
    assert "'2/.5' starts a number with its decimal point; read '21.5'" in reading.note


def test_bad_input_is_refused_clearly(tmp_path: Path) -> None:
    calc = AirCalc(classify_by_template)
    with pytest.raises(InputError, match="stroke 1, point 0"):
        parse_trace([[[0, 0], [1, 1]], [["a", 2]]])
    with pytest.raises(InputError, match="no strokes"):
        parse_trace([])
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(InputError, match="not valid JSON"):
        calc.read_file(tmp_path / "bad.json")
    (tmp_path / "bad.png").write_bytes(b"not an image")
    with pytest.raises(InputError, match="not a readable image"):
        calc.read_file(tmp_path / "bad.png")
    Image.fromarray(np.full((20, 20), 255, np.uint8)).save(tmp_path / "blank.png")
    with pytest.raises(InputError, match="no writing"):
        calc.read_file(tmp_path / "blank.png")
    reading = calc.read_trace(json.loads(json.dumps(trace_of("7÷(3-3)"))))
    assert reading.value is None and "division by zero" in reading.error
