"""Activity RNN benchmark: LSTM vs GRU vs bidirectional LSTM vs CNN-LSTM on BasicMotions (and UCI HAR when present);
on raw UCI HAPT, ``activity-rnn``'s hapt recipe (and variants) by 3-fold leave-subjects-out cross-validation.

Each variant is the ``activity-rnn`` project with a few ``--set`` overrides, trained through the same trainer as
``keraslab train`` (tracking off), over several seeds; the table reports medians. Targets: BasicMotions test
accuracy >= 97.5 % (at most 1 error in 40), UCI HAR >= 93 % (anchor: 91.65 % for a 2-layer LSTM in
guillaume-chevalier/LSTM-Human-Activity-Recognition).

    python benchmarks/activity.py --data-dir ../shared/data [--seeds 3] [--datasets basicmotions uci_har hapt]
        [--hapt-variants defaults LSTM GRU CNN-LSTM] [--classes 6 12]

HAPT: fold k's users (sorted, dealt round-robin into 3 folds) are the test set of run k
(``data.options.test_fold=k``); the report gives accuracy and macro-F1 as mean ± sd over the folds, the summed
confusion matrix over all test windows and the fit time per fold.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

from keraslab import registry
from keraslab.config import ProjectSpec
from keraslab.data import DataUnavailable
from sections import write_section  # benchmarks/sections.py

VARIANTS: dict[str, list[str]] = {
    "LSTM (project default)": [],
    "GRU": ["model.cell=gru"],
    "bidirectional LSTM": ["model.bidirectional=true", "model.units=32"],
    "CNN-LSTM": ["model.conv_filters=[64, 64]", "model.conv_kernel_size=5", "model.layers=1"],
}
TARGETS = {"basicmotions": 0.975, "uci_har": 0.93, "hapt": 0.95}
#: overrides of activity-rnn's hapt recipe; "defaults" is the recipe as shipped.
HAPT_VARIANTS: dict[str, list[str]] = {
    "defaults": [],
    "LSTM": [
        *(f"model.{k}" for k in ("cell=lstm", "layers=2", "units=64", "bidirectional=false")),
        "model.conv_filters=[]",
    ],
    "GRU": [
        *(f"model.{k}" for k in ("cell=gru", "layers=2", "units=64", "bidirectional=false")),
        "model.conv_filters=[]",
    ],
    "CNN-LSTM": [*(f"model.{k}" for k in ("cell=lstm", "units=64", "bidirectional=false"))],
}
DATASET_OVERRIDES = {"basicmotions": [], "uci_har": ["training.batch_size=64", "training.epochs=40"]}
RESULTS = Path(__file__).parent / "results" / "activity.md"
TITLE = "Activity RNN benchmark"
ORDER = ["BasicMotions and UCI HAR", "Raw UCI HAPT, 6 classes", "Raw UCI HAPT, 12 classes"]
HAPT_SETUP = (
    "21 users (HAPT's training users; the 9 UCI HAR test users are not in the data), sorted and dealt round-robin "
    "into 3 folds; fold k is the test set of run k (`data.options.test_fold=k`). Each variant is `activity-rnn --set "
    "data.dataset=hapt` (the hapt recipe) with the overrides of `HAPT_VARIANTS`; no validation split "
    "(`validation_split = 0`: fixed epochs, no model selection), so no user is on two sides. Windows: 128 readings "
    "every 64 inside one labelled segment; input: the 6 raw channels."
)


def run_variant(dataset: str, overrides: list[str], seed: int, data_dir: Path) -> dict[str, float]:
    spec = registry.load(
        "activity-rnn", [f"data.dataset={dataset}", f"training.seed={seed}", *DATASET_OVERRIDES[dataset], *overrides]
    )
    return run_spec(spec, data_dir)


def run_spec(spec: ProjectSpec, data_dir: Path, confusion: bool = False) -> dict:
    """Train ``spec`` untracked; its test metrics, fit time, epochs, size (and test confusion matrix)."""
    from keraslab.training.trainer import TrackingOptions, train

    with tempfile.TemporaryDirectory() as checkpoints:
        result = train(
            spec,
            data_dir=data_dir,
            tracking=TrackingOptions(enabled=False),
            checkpoint_root=Path(checkpoints),
            verbose=0,
        )
    metrics = result.test_metrics
    row = {
        "accuracy": metrics["test_accuracy"],
        "macro_f1": metrics["test_macro_f1"],
        "fit_s": result.fit_seconds,
        "epochs": result.epochs_run,
        "params": result.model.count_params(),
    }
    if confusion:
        from keraslab import data

        splits = data.load(spec.data, data_dir, spec.training.seed)
        predicted = result.model.predict(splits.x_test, batch_size=512, verbose=0).argmax(axis=1)
        matrix = np.zeros((splits.info.num_classes,) * 2, dtype=np.int64)
        np.add.at(matrix, (splits.y_test, predicted), 1)
        row.update(confusion=matrix, classes=splits.info.class_names, users=splits.info.extra["test_subjects"])
    return row


def hapt_section(data_dir: Path, variants: list[str], transitions: bool) -> list[str]:
    """3-fold leave-subjects-out of the hapt recipe and the named variants (6 or 12 classes)."""
    classes = 12 if transitions else 6
    target = " (target: accuracy and macro-F1 >= 95 %)" if classes == 6 else ""
    lines = [
        f"3-fold leave-subjects-out, {classes} classes{target}:",
        "",
        "| variant | params | accuracy mean ± sd | macro-F1 mean ± sd | per fold (accuracy) | fit s per fold (mean) |",
        "|---|---:|---:|---:|---|---:|",
    ]
    matrices = []
    for name in variants:
        folds = []
        for k in range(3):
            overrides = [f"data.options.test_fold={k}", f"data.options.transitions={str(transitions).lower()}"]
            spec = registry.load("activity-rnn", ["data.dataset=hapt", *overrides, *HAPT_VARIANTS[name]])
            folds.append(run_spec(spec, data_dir, confusion=True))
            print(f"hapt {name} fold {k} users {folds[-1]['users']}: {folds[-1]['accuracy']:.4f}", flush=True)
        acc, f1 = (np.array([f[key] for f in folds]) for key in ("accuracy", "macro_f1"))
        lines.append(
            f"| {name} | {int(folds[0]['params']):,} | {acc.mean():.4f} ± {acc.std(ddof=1):.4f} "
            f"| {f1.mean():.4f} ± {f1.std(ddof=1):.4f} | {', '.join(f'{a:.4f}' for a in acc)} "
            f"| {np.mean([f['fit_s'] for f in folds]):.0f} |"
        )
        matrices.append((name, sum(f["confusion"] for f in folds), folds[0]["classes"], [f["users"] for f in folds]))
    lines += ["", f"Test users per fold: {matrices[0][3]}."]
    for name, matrix, names, _ in matrices:
        lines += ["", f"Confusion matrix of {name}, all folds' test windows (rows: true, columns: predicted):", ""]
        lines += ["| true \\ predicted | " + " | ".join(names) + " | recall |", "|---|" + "---:|" * (len(names) + 1)]
        for c, counts in enumerate(matrix):
            recall = counts[c] / max(1, counts.sum())
            lines.append(f"| {names[c]} | " + " | ".join(str(v) for v in counts) + f" | {recall:.3f} |")
    return lines


def table(dataset: str, rows: dict[str, list[dict[str, float]]], test_size: int) -> str:
    target = TARGETS[dataset]
    lines = [
        f"### {dataset} (test windows: {test_size}, target accuracy >= {target:.1%})",
        "",
        "| variant | params | test accuracy (median) | per seed | errors (median) | macro-F1 (median) "
        "| epochs (median) | fit time s (median) | meets target |",
        "|---|---:|---:|---|---:|---:|---:|---:|---|",
    ]
    for name, runs in rows.items():
        acc = statistics.median(r["accuracy"] for r in runs)
        f1, epochs, fit_s = (statistics.median(r[k] for r in runs) for k in ("macro_f1", "epochs", "fit_s"))
        per_seed = ", ".join(f"{r['accuracy']:.3f}" for r in runs)
        lines.append(
            f"| {name} | {int(runs[0]['params']):,} | {acc:.2%} | {per_seed} | {round((1 - acc) * test_size)} "
            f"| {f1:.4f} | {epochs:.0f} | {fit_s:.1f} | {'yes' if acc >= target else 'no'} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--seeds", type=int, default=3, help="seeds per variant (medians are reported)")
    parser.add_argument("--datasets", nargs="+", default=["basicmotions", "uci_har", "hapt"], choices=sorted(TARGETS))
    parser.add_argument("--hapt-variants", nargs="+", default=list(HAPT_VARIANTS), choices=list(HAPT_VARIANTS))
    parser.add_argument(
        "--classes", type=int, nargs="+", default=[6], choices=[6, 12], help="hapt: 6 activities, 12 with transitions"
    )
    args = parser.parse_args()

    from keraslab import data

    started = time.perf_counter()
    load = f"load average before {os.getloadavg()[0]:.1f}"
    basic = [d for d in args.datasets if d != "hapt"]
    if "hapt" in args.datasets:
        for classes in args.classes:
            transitions = classes == 12
            lines = hapt_section(args.data_dir, args.hapt_variants, transitions)
            command = "python benchmarks/activity.py --data-dir ../shared/data --datasets hapt --hapt-variants "
            command += " ".join(args.hapt_variants) + f" --classes {classes}"
            header = [
                f"`{command}`  ",
                f"{datetime.now():%Y-%m-%d %H:%M}, {os.cpu_count()} CPU cores, no GPU, {load}, after "
                f"{os.getloadavg()[0]:.1f} (other jobs were running: compare fit times within one table).",
                "",
                HAPT_SETUP,
                "",
            ]
            write_section(RESULTS, TITLE, f"Raw UCI HAPT, {classes} classes", header + lines, ORDER)
            print("\n".join(lines), flush=True)
    sections = []
    for dataset in basic:
        spec = registry.load("activity-rnn", [f"data.dataset={dataset}"])
        try:
            test_size = data.load(spec.data, args.data_dir, 0).info.sizes["test"]
        except DataUnavailable as exc:
            sections.append(f"### {dataset}\n\nnot run: {exc}")
            print(sections[-1], flush=True)
            continue
        rows: dict[str, list[dict[str, float]]] = {}
        for name, overrides in VARIANTS.items():
            rows[name] = [run_variant(dataset, overrides, seed, args.data_dir) for seed in range(args.seeds)]
            print(f"{dataset} {name}: {[round(r['accuracy'], 4) for r in rows[name]]}", flush=True)
        sections.append(table(dataset, rows, test_size))
    if sections:
        intro = (
            "`python benchmarks/activity.py --data-dir ../shared/data "
            f"--seeds {args.seeds} --datasets {' '.join(basic)}` — {args.seeds} seeds per variant, medians; "
            f"total {time.perf_counter() - started:.0f} s on a shared "
            "2-core CPU (other jobs were running: times are indicative, compare ratios). Every variant is the "
            "`activity-rnn` project with `--set` overrides, trained by the same trainer as `keraslab train`."
        )
        write_section(RESULTS, TITLE, "BasicMotions and UCI HAR", [intro, "", *sections], ORDER)
        print("\n\n".join(sections))


if __name__ == "__main__":
    main()
