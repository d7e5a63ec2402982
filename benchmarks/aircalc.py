"""AirCalc benchmark on real data: train the project's defaults (or take a logged model), then measure

1. symbol accuracy on the run's held-out test split, per class, with the operators' sources apart: real
   handwritten drawings the model never saw (split by drawing, copies with their drawing) and generated
   operators of the unseen test seed; the real drawings again re-penned as thick as a trace's pen;
2. exact-value accuracy of random expressions (MNIST *test* digits; operators ``+ - × · ÷ /`` and decimal points)
   read by the whole pipeline, in two sets with the same texts: operators from the held-out **real** drawings, and
   **generated** operators. Each expression is rendered as a photo (dark ink on light paper, lighting, blur, noise,
   JPEG) and light on dark; the 5 most common misreadings are listed;
3. the same real-set photos at fixed line heights of 28, 84, 112 and 224 px: does the image path lose accuracy
   when the symbols arrive at a higher resolution?

    python benchmarks/aircalc.py --data-dir ../shared/data                       # trains the defaults first
    python benchmarks/aircalc.py --data-dir ../shared/data --model runs:/RUN/model --tracking-uri URI
    python benchmarks/aircalc.py --data-dir ../shared/data --epochs 1 --expressions 100   # quick look

Results go to ``benchmarks/results/aircalc.md``.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from keraslab.projects.aircalc.pipeline import AirCalc, Reading

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "aircalc.md"
EXPRESSION_SEED = 2024  # texts and layouts: neither the training, validation nor test seed of the operators
OPERATORS = ["+", "-", "×", "·", "÷", "/"]
RESOLUTIONS = (28, 84, 112, 224)  # line heights in pixels of the resolution check


def random_expression(rng: np.random.Generator, depth: int = 0) -> str:
    """A random valid expression: 2–4 operands (1–2 digit integers or decimals), operators, parentheses."""
    parts = []
    for i in range(int(rng.integers(2, 5)) if depth == 0 else 2):
        if i:
            parts.append(str(rng.choice(OPERATORS)))
        if depth == 0 and rng.random() < 0.15:
            parts.append("(" + random_expression(rng, 1) + ")")
        else:
            number = str(rng.integers(0, 100) if rng.random() < 0.7 else rng.integers(0, 10))
            if rng.random() < 0.15:
                number += "." + str(rng.integers(1, 10))
            parts.append(("-" if rng.random() < 0.1 and i == 0 else "") + number)
    return "".join(parts)


def valid_expressions(n: int, seed: int) -> list[tuple[str, Fraction]]:
    from keraslab.projects.aircalc.parser import ExpressionError, calculate

    rng, found = np.random.default_rng(seed), []
    while len(found) < n:
        text = random_expression(rng)
        try:
            found.append((text, calculate(text).value))
        except ExpressionError:  # division by zero
            continue
    return found


class Composer:
    """Draws an expression's ink on one line: MNIST test digits and operators, real (28×28 drawings at a
    20-pixel line, as MNIST) where ``real`` has the symbol, else generated strokes. Every random choice is made
    in line units, so one ``rng`` state gives the same layout at any resolution."""

    def __init__(self, digits: np.ndarray, labels: np.ndarray, real: dict[str, np.ndarray]) -> None:
        self.by_digit = {d: digits[labels == d] for d in range(10)}
        self.real = real

    def ink(self, text: str, line: float, rng: np.random.Generator) -> np.ndarray:
        from keraslab.projects.aircalc.augment import crop, resample
        from keraslab.projects.aircalc.strokes import THICKNESS, render, symbol_strokes

        patches = []
        for char in text:
            pool = self.by_digit[int(char)] if char.isdigit() else self.real.get("." if char == "·" else char)
            if pool is not None:  # a digit (20 px tall in MNIST) or a real drawing (at a 20-pixel line)
                size = rng.uniform(0.85, 1.05) if char.isdigit() else rng.uniform(0.85, 1.15)
                patch = crop(resample(pool[rng.integers(len(pool))] / 255.0, line * size / 20))
            else:
                pen = rng.uniform(*THICKNESS)
                patch = render(symbol_strokes("." if char == "·" else char, rng, pen), line, pen * line)
            centre = -patch.shape[0] / 2 if char == "." else -line / 2  # a decimal point sits on the baseline
            patches.append((patch, centre + rng.normal(0, 0.05 * line)))
        gaps = [rng.uniform(0.12, 0.5) * line for _ in patches]
        canvas = np.zeros((int(3 * line), int(sum(p.shape[1] for p, _ in patches) + sum(gaps) + 2 * line)), np.float32)
        x, baseline = line, 2 * line
        for (patch, centre), gap in zip(patches, gaps, strict=True):
            top = min(max(round(baseline + centre - patch.shape[0] / 2), 0), canvas.shape[0] - patch.shape[0])
            region = canvas[top : top + patch.shape[0], int(x) : int(x) + patch.shape[1]]
            np.maximum(region, patch[: region.shape[0], : region.shape[1]], out=region)
            x += patch.shape[1] + gap
        return canvas


def photo(ink: np.ndarray, line: float, rng: np.random.Generator) -> np.ndarray:
    """Dark ink on light paper: uneven lighting, ink of varied darkness, blur, sensor noise, JPEG."""
    from PIL import Image
    from scipy import ndimage

    rows, cols = np.indices(ink.shape, dtype=np.float32)
    angle = rng.uniform(0, 2 * np.pi)
    ramp = (np.cos(angle) * cols / ink.shape[1] + np.sin(angle) * rows / ink.shape[0]) * rng.uniform(10, 50)
    paper = rng.uniform(175, 235) + ramp - ramp.mean()
    darkest = rng.uniform(20, 90)
    gray = paper - ndimage.gaussian_filter(ink, rng.uniform(0.2, 0.9) * line / 40) * (paper - darkest)
    gray += rng.normal(0, rng.uniform(1, 6), ink.shape)
    buffer = io.BytesIO()
    Image.fromarray(np.clip(gray, 0, 255).astype(np.uint8)).save(buffer, "JPEG", quality=int(rng.integers(60, 95)))
    return np.asarray(Image.open(buffer).convert("L"))


def light_on_dark(ink: np.ndarray, line: float, rng: np.random.Generator) -> np.ndarray:
    """Light strokes on a dark background (a screen, chalk on a board), slightly blurred and noisy."""
    from scipy import ndimage

    background, brightest = rng.uniform(0, 50), rng.uniform(180, 255)
    gray = background + ndimage.gaussian_filter(ink, rng.uniform(0.0, 0.6) * line / 40) * (brightest - background)
    return np.clip(gray + rng.normal(0, rng.uniform(1, 8), ink.shape), 0, 255).astype(np.uint8)


RENDERINGS: dict[str, Callable[[np.ndarray, float, np.random.Generator], np.ndarray]] = {
    "photo (dark on light)": photo,
    "light on dark": light_on_dark,
}


class Tally:
    """Exact values, identical texts and misreadings of one set of readings."""

    def __init__(self) -> None:
        self.n = self.exact = self.text = 0
        self.misread: Counter[str] = Counter()
        self.failures: list[tuple[str, str, str]] = []
        self.seconds: list[float] = []

    def add(self, text: str, value: Fraction, reading: Reading, seconds: float) -> None:
        self.n += 1
        self.exact += reading.exact == value
        self.text += reading.expression == text
        self.seconds.append(seconds)
        if reading.exact == value:
            return
        if len(reading.expression) != len(text):
            self.misread["segmentation (symbols split or merged)"] += 1
        else:
            self.misread.update(f"`{a}`→`{b}`" for a, b in zip(text, reading.expression, strict=True) if a != b)
        if len(self.failures) < 6:
            self.failures.append((text, reading.expression, reading.value or reading.error or ""))

    @property
    def accuracy(self) -> float:
        return self.exact / max(self.n, 1)

    def top5(self) -> str:
        return ", ".join(f"{k} {v}" for k, v in self.misread.most_common(5)) or "none"


def read_set(
    calc: AirCalc, composer: Composer, expressions: list[tuple[str, Fraction]], lines: Callable[[int], float]
) -> dict[str, Tally]:
    """Every expression in every rendering; the i-th expression's layout and rendering use seed (seed, i)."""
    tallies = {name: Tally() for name in RENDERINGS}
    for i, (text, value) in enumerate(expressions):
        for r, (name, render) in enumerate(RENDERINGS.items()):
            rng = np.random.default_rng((EXPRESSION_SEED, i, r))
            line = lines(i)
            image = render(composer.ink(text, line, rng), line, rng)
            tick = time.perf_counter()
            reading = calc.read_image(image)
            tallies[name].add(text, value, reading, time.perf_counter() - tick)
    return tallies


def symbol_table(calc: AirCalc, splits, thick: Callable[[np.ndarray], np.ndarray]) -> list[str]:
    """Per-class held-out accuracy: digits, real operators as drawn and re-penned, generated operators."""
    from keraslab.projects.aircalc.symbols import CLASS_NAMES
    from keraslab.projects.aircalc.symbols import OPERATORS as CLASSES

    sources = np.asarray(splits.info.extra["test_sources"])
    x, y = splits.x_test[..., 0].astype(np.float32) / 255.0, splits.y_test
    predicted = np.concatenate([calc.classify(x[i : i + 1024]).argmax(axis=1) for i in range(0, len(x), 1024)])
    real = sources == "real"
    repenned = calc.classify(np.stack([thick(image) for image in x[real]])).argmax(axis=1)

    def cell(mask: np.ndarray, guess: np.ndarray) -> str:
        return (
            f"{(guess == y[mask]).mean():.4f} ({int((guess == y[mask]).sum())}/{int(mask.sum())})"
            if mask.any()
            else "—"
        )

    lines = [
        "| class | real held-out drawings (+ copies) | the same, re-penned as a trace | generated (test seed) |",
        "|---|---:|---:|---:|",
    ]
    for c in CLASSES:
        k = CLASS_NAMES.index(c)
        mask_r, mask_g = real & (y == k), (sources == "generated") & (y == k)
        lines.append(
            f"| `{c}` | {cell(mask_r, predicted[mask_r])} | {cell(mask_r, repenned[y[real] == k])} "
            f"| {cell(mask_g, predicted[mask_g])} |"
        )
    generated = sources == "generated"
    lines.append(f"| all real operators | {cell(real, predicted[real])} | {cell(real, repenned)} | |")
    lines.append(f"| all generated operators | | | {cell(generated, predicted[generated])} |")
    digits = sources == "digit"
    lines += ["", f"MNIST test digits: {cell(digits, predicted[digits])}.", ""]
    confusions = Counter(
        f"`{CLASS_NAMES[a]}`→`{CLASS_NAMES[b]}`" for a, b in zip(y[real], predicted[real], strict=True) if a != b
    )
    lines.append("Real drawings misread: " + (", ".join(f"{k} {v}" for k, v in confusions.most_common(5)) or "none"))
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--model", help="a logged aircalc model URI (default: train the project's defaults)")
    parser.add_argument("--epochs", type=int, help="override the project's training.epochs")
    parser.add_argument("--expressions", type=int, default=500)
    parser.add_argument("--resolution-expressions", type=int, default=150)
    parser.add_argument("--tracking-uri", help="keep the trained run here (default: a temporary SQLite store)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as store:
        uri = args.tracking_uri or f"sqlite:///{store}/mlflow.db"
        run(args, uri)


def run(args: argparse.Namespace, uri: str) -> None:
    import mlflow

    from keraslab import registry
    from keraslab.data import load
    from keraslab.projects.aircalc.augment import repen
    from keraslab.projects.aircalc.symbols import CLASS_NAMES, DOT
    from keraslab.projects.mnist import data as mnist
    from keraslab.training.trainer import TrackingOptions, train

    load_start = os.getloadavg()
    spec = registry.load("aircalc", [f"training.epochs={args.epochs}"] if args.epochs else [])
    mlflow.set_tracking_uri(uri)
    if args.model:
        model_uri, training = args.model, f"the given model `{args.model}`"
        run_id = args.model.split("/")[1] if args.model.startswith("runs:/") else None
        if run_id:
            logged = mlflow.get_run(run_id).data.metrics
            training += f" (fit {logged.get('fit_seconds', 0) / 60:.1f} min)"
    else:
        started = time.perf_counter()
        result = train(spec, data_dir=args.data_dir, tracking=TrackingOptions(uri=uri), verbose=2)
        model_uri = result.model_uri
        training = (
            f"project defaults, {result.epochs_run} epochs of {spec.training.epochs}, "
            f"{(time.perf_counter() - started) / 60:.1f} min wall (data, fit and evaluation), "
            f"{result.train_samples_per_second:,.0f} train samples/s"
        )
    calc = mlflow.pyfunc.load_model(model_uri).unwrap_python_model().calc

    # 1. symbols: the run's own held-out split
    splits = load(spec.data, args.data_dir, spec.training.seed)
    symbols = symbol_table(calc, splits, lambda image: repen(image, thicker=True))

    # 2. expressions: MNIST test digits; operators from the held-out real drawings, or generated
    x_digits, y_digits = mnist.read_local(args.data_dir, "test")
    sources = np.asarray(splits.info.extra["test_sources"])
    real_test = {
        c: splits.x_test[(sources == "real") & (splits.y_test == CLASS_NAMES.index(c)), :, :, 0]
        for c in ("+", "-", "×", "÷", "/", DOT)
    }
    expressions = valid_expressions(args.expressions, EXPRESSION_SEED)
    sets = {
        "real": Composer(x_digits[..., 0], y_digits, real_test),
        "generated": Composer(x_digits[..., 0], y_digits, {}),
    }
    layouts = {
        name: read_set(calc, composer, expressions, lambda i: 28 + (i * 7919 % 29)) for name, composer in sets.items()
    }

    # 3. resolution: the same real-set expressions at fixed line heights
    few = expressions[: args.resolution_expressions]
    by_size = {px: read_set(calc, sets["real"], few, lambda i, px=px: float(px)) for px in RESOLUTIONS}
    write(args, training, symbols, layouts, by_size, load_start)
    ok = (
        layouts["real"]["photo (dark on light)"].accuracy >= 0.97
        and layouts["generated"]["photo (dark on light)"].accuracy >= 0.95
    )
    sys.exit(0 if ok else 1)


def write(args, training, symbols, layouts, by_size, load_start) -> None:
    n = args.expressions
    lines = [
        "# AirCalc benchmark",
        "",
        f"`python benchmarks/aircalc.py --data-dir {os.path.relpath(args.data_dir, ROOT)}"
        + (f" --model {args.model}" if args.model else "")
        + (f" --epochs {args.epochs}" if args.epochs else "")
        + (f" --expressions {n}" if n != 500 else "")
        + "`  ",
        f"{time.strftime('%Y-%m-%d %H:%M')}, {platform.machine()}, {os.cpu_count()} CPU cores, no GPU; load average "
        f"{load_start[0]:.1f} at the start and {os.getloadavg()[0]:.1f} at the end (the machine is shared).",
        "",
        f"Model: {training}.",
        "",
        "## Symbols, held out (the run's test split)",
        "",
        *symbols,
        "",
        f"## Expressions ({n}, the same texts in each set; MNIST test digits)",
        "",
        "Operators `+ - × · ÷ /` and decimal points; line height 28–56 px, spacing 0.12–0.5 line heights, symbol "
        "size and baseline jitter. *real*: every operator and dot is a held-out real drawing (a dot on the baseline "
        "is a decimal point, at mid-height a `·`); *generated*: operators drawn by the project's stroke generator. "
        "Photo: dark ink on light paper with a lighting gradient, blur, noise and JPEG; light on dark: a dark "
        "background, light strokes, noise.",
        "",
        "| operators | rendering | exact value | text identical | median read | 5 most common misreadings |",
        "|---|---|---:|---:|---:|---|",
    ]
    for name, tallies in layouts.items():
        for rendering, t in tallies.items():
            lines.append(
                f"| {name} | {rendering} | **{t.accuracy:.4f}** ({t.exact}/{t.n}) | {t.text / t.n:.4f} "
                f"| {statistics.median(t.seconds) * 1000:.0f} ms | {t.top5()} |"
            )
    lines += ["", "Some failures (written → read → value):", ""]
    for name, tallies in layouts.items():
        for rendering, t in tallies.items():
            lines += [f"- {name}, {rendering}: `{a}` → `{b}` → {v}" for a, b, v in t.failures[:3]]
    lines += [
        "",
        f"## Resolution: the real set's first {args.resolution_expressions} expressions at a fixed line height",
        "",
        "| line height | photo | light on dark | median read (photo) |",
        "|---:|---:|---:|---:|",
    ]
    for px, tallies in by_size.items():
        photo_t, dark_t = tallies["photo (dark on light)"], tallies["light on dark"]
        median = statistics.median(photo_t.seconds) * 1000
        lines.append(f"| {px} px | {photo_t.accuracy:.4f} | {dark_t.accuracy:.4f} | {median:.0f} ms |")
    report = "\n".join(lines) + "\n"
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(report)
    print(report)


if __name__ == "__main__":
    main()
