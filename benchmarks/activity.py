"""Activity RNN benchmark: LSTM vs GRU vs bidirectional LSTM vs CNN-LSTM on BasicMotions (and UCI HAR when present).

Each variant is the ``activity-rnn`` project with a few ``--set`` overrides, trained through the same trainer as
``keraslab train`` (tracking off), over several seeds; the table reports medians. Targets: BasicMotions test
accuracy >= 97.5 % (at most 1 error in 40), UCI HAR >= 93 % (anchor: 91.65 % for a 2-layer LSTM in
guillaume-chevalier/LSTM-Human-Activity-Recognition).

    python benchmarks/activity.py --data-dir ../shared/data [--seeds 3] [--datasets basicmotions uci_har]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from keraslab import registry
from keraslab.data import DataUnavailable

VARIANTS: dict[str, list[str]] = {
    "LSTM (project default)": [],
    "GRU": ["model.cell=gru"],
    "bidirectional LSTM": ["model.bidirectional=true", "model.units=32"],
    "CNN-LSTM": ["model.conv_filters=[64, 64]", "model.conv_kernel_size=5", "model.layers=1"],
}
TARGETS = {"basicmotions": 0.975, "uci_har": 0.93}
DATASET_OVERRIDES = {"basicmotions": [], "uci_har": ["training.batch_size=64", "training.epochs=40"]}
RESULTS = Path(__file__).parent / "results" / "activity.md"


def run_variant(dataset: str, overrides: list[str], seed: int, data_dir: Path) -> dict[str, float]:
    from keraslab.training.trainer import TrackingOptions, train

    spec = registry.load(
        "activity-rnn", [f"data.dataset={dataset}", f"training.seed={seed}", *DATASET_OVERRIDES[dataset], *overrides]
    )
    with tempfile.TemporaryDirectory() as checkpoints:
        result = train(
            spec,
            data_dir=data_dir,
            tracking=TrackingOptions(enabled=False),
            checkpoint_root=Path(checkpoints),
            verbose=0,
        )
    metrics = result.test_metrics
    return {
        "accuracy": metrics["test_accuracy"],
        "macro_f1": metrics["test_macro_f1"],
        "fit_s": result.fit_seconds,
        "epochs": result.epochs_run,
        "params": result.model.count_params(),
    }


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
    parser.add_argument("--datasets", nargs="+", default=["basicmotions", "uci_har"], choices=sorted(TARGETS))
    args = parser.parse_args()

    from keraslab import data

    started = time.perf_counter()
    sections = []
    for dataset in args.datasets:
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
    report = "\n\n".join(
        [
            "# Activity RNN benchmark",
            f"`python benchmarks/activity.py --data-dir {args.data_dir} --seeds {args.seeds}` — "
            f"{args.seeds} seeds per variant, medians; total {time.perf_counter() - started:.0f} s on a shared "
            "2-core CPU (other jobs were running: times are indicative, compare ratios). Every variant is the "
            "`activity-rnn` project with `--set` overrides, trained by the same trainer as `keraslab train`.",
            *sections,
        ]
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(report + "\n")
    print(report)


if __name__ == "__main__":
    main()
