"""GAN benchmark: ``keraslab train gan-mnist`` and ``face-aging`` through the one trainer, judged side by side.

MNIST GAN (real digits from ``--data-dir``): a scorer CNN (the spine's ``cnn`` builder, one epoch on the training
digits) gives the MNIST "Inception Score" (confidence × class spread, at most 10) and the Fréchet distance of
its penultimate features to real training digits, for the trained generator, an untrained generator (the
random-generator baseline) and real test digits (the ceiling).

Face aging on real faces (UTKFace from ``--data-dir``, the project's default source): one row per run, the
project's defaults and each ``--variant NAME:key=value,key=value`` tried. Each row: the mean age shift of young
test faces (aged − young) by the project's own regressor and by the independent estimator of the ``eval`` extra,
the share of aged faces dlib's face recognition verifies as their input's person, the Fréchet distance (8×8 pooled
pixels) of aged faces to real old ones next to that of the unchanged young faces, both estimators' MAE on the
test faces, training time (fit, and the whole run with data and evaluation), the run's CPU time (user + system:
what it costs whatever else runs; on 2 free cores the wall time is at least half of it) and images/s. Rows of
earlier invocations with other names are kept, so variants can be measured one invocation at a time. Results are
tables only: face images are logged to the MLflow runs (a throwaway store), never written here.

    python benchmarks/gan.py --data-dir ../shared/data                        # both, project defaults
    python benchmarks/gan.py --data-dir DIR --only aging --variant "attention:model.attention=true"
    python benchmarks/gan.py --data-dir DIR --only aging --aging-set training.epochs=10 --label-suffix " (10 ep)"

Results go to ``benchmarks/results/gan.md`` (and ``gan_mnist_samples.png``).
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import resource
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
SAMPLES = 2000
SECTIONS = {"mnist": "### MNIST GAN", "aging": "### Face aging on real faces"}
AGING_HEADER = [
    "| run | shift, own regressor (y) | shift, independent (y) ↑ | identity verified ↑ | FD aged → old ↓ "
    "| FD young → old | MAE own / independent (y) | epochs | fit (min) | run (min) | CPU (min) | train images/s "
    "| load 1-min |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
]


def train_project(project: str, overrides: list[str], data_dir: str | None) -> tuple[object, object, float]:
    from keraslab import registry
    from keraslab.training.trainer import train

    spec = registry.load(project, overrides)
    started = time.perf_counter()
    result = train(spec, data_dir=data_dir, verbose=2)
    return spec, result, time.perf_counter() - started


def mnist_gan(data_dir: str, epochs: int, overrides: list[str]) -> tuple[list[str], dict]:
    import keras

    from keraslab import data, models
    from keraslab.gan.images import apply, to_uint8
    from keraslab.projects.gan_mnist.scorer import scores, train_scorer
    from keraslab.projects.gan_mnist.task import sample_figure

    spec, result, wall = train_project("gan-mnist", [f"training.epochs={epochs}", *overrides], data_dir)
    splits = data.load(spec.data, data_dir, spec.training.seed)
    started = time.perf_counter()
    scorer = train_scorer(splits.x_train, splits.y_train, 10, epochs=1)
    scorer_seconds = time.perf_counter() - started
    accuracy = scorer.evaluate(splits.x_test / np.float32(255), splits.y_test, verbose=0)[1]
    noise = np.random.default_rng(1).standard_normal((SAMPLES, result.model.latent_dim), np.float32)
    keras.utils.set_random_seed(7)
    untrained = models.build("dcgan", {**spec.builder_params(), **splits.info.model_params})
    reference = splits.x_train[:SAMPLES]

    def samples(model: keras.Model) -> np.ndarray:
        return to_uint8(apply(model.generator, noise))

    rows = [
        ("random generator (untrained, baseline)", scores(scorer, samples(untrained), reference)),
        (f"GAN after {result.epochs_run} epochs", scores(scorer, samples(result.model), reference)),
        ("real test digits (ceiling)", scores(scorer, splits.x_test[:SAMPLES], reference)),
    ]
    sample_figure(result.model, noise[:64], f"gan-mnist after {result.epochs_run} epochs").savefig(
        RESULTS / "gan_mnist_samples.png"
    )
    lines = [
        f"### MNIST GAN (`keraslab train gan-mnist --epochs {epochs}`, real MNIST)",
        "",
        f"Scorer: the spine's `cnn` builder (2 conv blocks 16/32, dense 64), 1 epoch on {len(splits.x_train):,} "
        f"training digits in {scorer_seconds:.0f} s, test accuracy {accuracy:.2%}. {SAMPLES:,} samples each; "
        f"Fréchet distance to {SAMPLES:,} real training digits on the scorer's 64 penultimate features.",
        "",
        "| images | MNIST-IS (max 10) ↑ | Fréchet distance ↓ | IS / real | FD / random |",
        "|---|---:|---:|---:|---:|",
    ]
    real_is, random_fd = rows[2][1]["mnist_is"], rows[0][1]["fid"]
    for name, s in rows:
        ratios = f"{s['mnist_is'] / real_is:.2f} | {s['fid'] / random_fd:.3f}"
        lines.append(f"| {name} | {s['mnist_is']:.2f} | {s['fid']:.2f} | {ratios} |")
    lines += [
        "",
        f"Training: {result.epochs_run} epochs, {result.train_samples_per_second:.0f} images/s, "
        f"wall {wall / 60:.1f} min including evaluation. The trainer's own test metrics: "
        + ", ".join(f"{k} {v:.2f}" for k, v in result.test_metrics.items()),
        "",
    ]
    return lines, {"wall": wall}


def cpu_seconds() -> float:
    """User + system CPU time of this process so far (all its threads): the cost of a run whatever the load."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def aging_row(label: str, data_dir: str, overrides: list[str]) -> str:
    """Train face-aging on the real faces of ``data_dir`` with ``overrides``; one table row of its test metrics."""
    before, cpu_before = os.getloadavg()[0], cpu_seconds()
    result, wall = train_project("face-aging", overrides, data_dir)[1:]
    m, load = result.test_metrics, f"{before:.1f}–{os.getloadavg()[0]:.1f}"
    cpu = f"{(cpu_seconds() - cpu_before) / 60:.1f}"

    def get(name: str, form: str) -> str:
        return format(m[name], form) if name in m else "–"

    maes = f"{get('test_age_regressor_mae', '.1f')} / {get('test_age_independent_mae', '.1f')}"
    verified = f"{m['test_identity_verified']:.0%}" if "test_identity_verified" in m else "–"
    return (
        f"| {label} | {get('test_age_shift', '+.1f')} | {get('test_age_independent_shift', '+.1f')} | {verified} "
        f"| {get('test_fd_aged', '.2f')} | {get('test_fd_young', '.2f')} | {maes} | {result.epochs_run} "
        f"| {result.fit_seconds / 60:.1f} | {wall / 60:.1f} | {cpu} | {result.train_samples_per_second:.1f} | {load} |"
    )


def aging_section(rows: list[str], previous: str) -> list[str]:
    """The face-aging table: ``previous``'s rows (the old section's text), those of the same name replaced by
    ``rows``, new names added at the end; the notes below the old table kept."""

    def name(row: str) -> str:
        return row.split(" | ")[0][2:]

    kept = {name(line): line for line in previous.splitlines() if line.startswith("| ") and line != AGING_HEADER[0]}
    kept.update({name(row): row for row in rows})
    lines = previous.splitlines()
    table_end = max((i for i, line in enumerate(lines) if line.startswith("|")), default=len(lines))
    notes = "\n".join(lines[table_end + 1 :]).strip("\n")
    return [SECTIONS["aging"], "", *AGING_HEADER, *kept.values(), "", notes]


def variant(text: str) -> tuple[str, list[str]]:
    """``NAME:key=value,key=value`` -> (NAME, overrides)."""
    name, _, overrides = text.partition(":")
    return name, [o for o in overrides.split(",") if o]


def sections_of(text: str) -> dict[str, str]:
    """The results file's sections by key (``SECTIONS``), each from its heading to the next one."""
    parts = re.split(r"(?m)^(?=### )", text)
    return {key: part for part in parts for key, heading in SECTIONS.items() if part.startswith(heading)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True, help="folder with mnist/ and utkface/")
    parser.add_argument("--only", choices=SECTIONS, help="run one benchmark; the other's results section is kept")
    parser.add_argument("--gan-epochs", type=int, default=5)
    parser.add_argument("--gan-set", action="append", default=[], help="override for gan-mnist")
    parser.add_argument("--aging-set", action="append", default=[], help="override for every face-aging run")
    parser.add_argument("--variant", action="append", default=[], help="NAME:key=value,...: one more face-aging run")
    parser.add_argument("--no-defaults", action="store_true", help="face aging: run the variants only")
    parser.add_argument("--label-suffix", default="", help="appended to every face-aging row's name")
    args = parser.parse_args()
    data_dir = str(Path(args.data_dir).resolve())

    new: dict[str, list[str]] = {}  # mnist: the section's lines; aging: the rows by name
    with tempfile.TemporaryDirectory() as store:
        os.chdir(store)  # ./mlruns: a throwaway tracking store (sample grids) and checkpoints
        if args.only in (None, "mnist"):
            new["mnist"] = mnist_gan(data_dir, args.gan_epochs, args.gan_set)[0]
        if args.only in (None, "aging"):
            runs = [] if args.no_defaults else [("defaults", [])]
            runs += [variant(v) for v in args.variant]
            new["aging"] = [
                aging_row(name + args.label_suffix, data_dir, [*args.aging_set, *extra]) for name, extra in runs
            ]
    # read only now: benchmarks of other variants may have finished meanwhile
    sections = sections_of((RESULTS / "gan.md").read_text() if (RESULTS / "gan.md").exists() else "")
    if "mnist" in new:
        sections["mnist"] = "\n".join(new["mnist"])
    if "aging" in new:
        sections["aging"] = "\n".join(aging_section(new["aging"], sections.get("aging", "")))
    header = [
        "# GAN benchmark",
        "",
        f"`python benchmarks/gan.py --data-dir DIR [--only mnist|aging]` on {platform.machine()} with "
        f"{os.cpu_count()} CPU cores while other jobs were running (wall times are inflated and noisy; the load "
        "column gives the 1-minute load average before–after each run; the quality numbers do not depend on "
        "timing). One run each; seeds fixed.",
        "",
    ]
    text = "\n".join(header + [sections[key].strip() + "\n" for key in SECTIONS if key in sections])
    (RESULTS / "gan.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
