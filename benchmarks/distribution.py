"""Distribution benchmark on real MNIST (mnist-mlp, full training split): training samples/s of one replica
(fit), two logical CPU replicas (MirroredStrategy, fit), two local workers (MultiWorkerMirroredStrategy, the
custom loop), and the custom loop against fit on one device.

    python benchmarks/distribution.py --data-dir ../shared/data [--epochs 3] [--repeats 2]

Every measurement is its own process (fresh TensorFlow, tracking off); repeats are interleaved and the table
reports medians. Results go to ``benchmarks/results/distribution.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "distribution.md"
MODES = {
    "fit, 1 replica": "fit1",
    "fit, MirroredStrategy 2 logical CPUs": "mirrored2",
    "custom loop, 2 workers (MultiWorkerMirrored)": "workers2",
    "custom loop, 1 replica": "loop1",
}


def measure(mode: str, data_dir: Path, epochs: int) -> float:
    """Training samples/s of one mode (run in this process)."""
    from keraslab import registry

    overrides = [f"training.epochs={epochs}", "training.early_stopping.enabled=false"]
    if mode == "mirrored2":
        overrides += ["training.strategy=mirrored", "training.devices=['cpu:0', 'cpu:1']"]
    if mode == "workers2":
        overrides += ["training.strategy=multiworker"]
    spec = registry.load("mnist-mlp", overrides)
    if mode == "loop1":
        return custom_loop(spec, data_dir)
    from keraslab.training.trainer import TrackingOptions, train

    return train(spec, data_dir=data_dir, tracking=TrackingOptions(enabled=False), verbose=0).train_samples_per_second


def custom_loop(spec, data_dir: Path) -> float:
    """The trainer's custom loop on the default strategy, timed as the trainer times fit."""
    import tempfile

    import keras
    import tensorflow as tf

    from keraslab import data as datasets
    from keraslab import models
    from keraslab.tasks import classification
    from keraslab.training import distributed

    splits = datasets.load(spec.data, data_dir, spec.training.seed)
    keras.utils.set_random_seed(spec.training.seed)
    model = models.build("mlp", {**spec.builder_params(), **splits.info.model_params})
    started = time.perf_counter()
    history = distributed.fit(
        model,
        tf.distribute.get_strategy(),
        lambda batch: classification.datasets(splits, spec, batch)[:2],
        global_batch=spec.training.batch_size,
        epochs=spec.training.epochs,
        callbacks=[],
        backup_dir=Path(tempfile.mkdtemp()) / "backup",
        verbose=0,
    )
    return len(splits.x_train) * len(history["loss"]) / (time.perf_counter() - started)


def run(mode: str, data_dir: Path, epochs: int) -> float:
    """One measurement in fresh processes (two for the workers; the chief's number counts)."""
    command = [sys.executable, __file__, "--measure", mode, "--data-dir", str(data_dir), "--epochs", str(epochs)]
    workers = 2 if mode == "workers2" else 1
    from keraslab.training.cluster import free_ports, tf_config

    addresses = [f"127.0.0.1:{p}" for p in free_ports(workers)]
    processes = []
    for index in range(workers):
        env = dict(os.environ)
        if mode == "workers2":
            env["TF_CONFIG"] = json.dumps(tf_config(addresses, index))
        processes.append(subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True, cwd="/tmp"))
    outputs = [p.communicate(timeout=900)[0] for p in processes]
    if any(p.returncode for p in processes):
        raise RuntimeError(f"{mode} failed: {[p.returncode for p in processes]}")
    return json.loads(outputs[0].strip().splitlines()[-1])["samples_per_second"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=Path(os.environ.get("KERASLAB_DATA_DIR", "data")))
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--measure", choices=sorted(MODES.values()), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps({"samples_per_second": measure(args.measure, args.data_dir.resolve(), args.epochs)}))
        return

    started = time.perf_counter()
    samples: dict[str, list[float]] = {mode: [] for mode in MODES.values()}
    for repeat in range(args.repeats):
        order = list(MODES.values())
        order = order[repeat % len(order) :] + order[: repeat % len(order)]
        for mode in order:
            samples[mode].append(run(mode, args.data_dir.resolve(), args.epochs))
            print(f"{mode}: {samples[mode][-1]:,.0f} samples/s", flush=True)
    median = {mode: statistics.median(values) for mode, values in samples.items()}
    rows = [
        f"| {label} | {median[mode]:,.0f} | {median[mode] / median['fit1']:.2f}x | "
        + ", ".join(f"{v:,.0f}" for v in samples[mode])
        + " |"
        for label, mode in MODES.items()
    ]
    overhead = median["fit1"] / median["loop1"] - 1
    table = "\n".join(
        [
            f"mnist-mlp (2 × 512), full MNIST training split (54,000 images), {args.epochs} epochs, per-replica "
            f"batch 128, medians of {args.repeats} interleaved repeats; {time.perf_counter() - started:.0f} s in all.",
            "",
            "| configuration | train samples/s | vs fit, 1 replica | each repeat |",
            "|---|---:|---:|---|",
            *rows,
            "",
            f"Custom loop overhead vs fit on one device: {overhead:+.1%} (target ≤ +10 %).",
        ]
    )
    print(table)
    RESULTS.write_text(
        "# Distribution benchmark\n\n"
        "`python benchmarks/distribution.py --data-dir ../shared/data` (run once under the shared benchmark "
        "lock). The machine has 2 CPU cores, and other jobs were running: two replicas or two workers on it compete "
        "for the same 2 cores, so they cannot beat one replica here; these numbers show the overhead of each path, "
        "not the scaling on real hardware. Samples/s include the first epoch's tracing.\n\n" + table + "\n"
    )


if __name__ == "__main__":
    main()
