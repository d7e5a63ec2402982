"""MNIST benchmark on the real data: time to accuracy of ``keraslab train mnist-cnn`` against keras-io's
``mnist_convnet`` script, accuracy of the project defaults, throughput against the same script trained by plain
Keras, and the cost of MLflow tracking.

    python benchmarks/mnist.py --data-dir ../shared/data            # everything (~40 min on 2 cores)
    python benchmarks/mnist.py --data-dir ../shared/data --skip-accuracy --skip-throughput   # time to accuracy
    python benchmarks/mnist.py --data-dir ../shared/data --skip-accuracy --skip-time --repeats 3

Every measurement runs in its own process (fresh TensorFlow) and its own folder. A tracked run finds its MLflow
store and experiment already there, as every run after a project's first does; creating a store, which only the
first run in a folder pays, is timed on its own. The throughput and overhead runs are interleaved, rotating their
order each repeat, so drifting machine load hits all alike; the table reports medians. Results go to
``benchmarks/results/mnist.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "mnist.md"
TRAIN_IMAGES = 54_000  # MNIST's 60,000 training images minus the 10 % validation split

#: keras-io examples/vision/mnist_convnet.py expressed as overrides of the project's CNN builder.
KERAS_IO_CONVNET = [
    "model.filters=[32, 64]",
    "model.convs_per_block=1",
    "model.padding='valid'",
    "model.batch_norm=false",
    "model.block_dropout=0.0",
    "model.dense_units=[]",
    "model.dropout=0.5",
    "model.initializer='glorot_uniform'",
    "model.learning_rate=0.001",
    "training.early_stopping.enabled=false",
    "training.reduce_lr.enabled=false",
]
TIME_PLOT = ROOT / "benchmarks" / "results" / "mnist_time_to_accuracy.png"
T0_ENV = "KERASLAB_BENCH_T0"  # the parent's clock when it started the measured process


def plain_keras_io(data_dir: Path, epochs: int, clock: bool = False) -> dict[str, float]:
    """keras-io's mnist_convnet, verbatim but for the data loading (the same IDX files, no download); with
    ``clock``, a callback notes each epoch's end (seconds since ``$KERASLAB_BENCH_T0``) and validation accuracy."""
    import keras
    import numpy as np
    from keras import layers

    from keraslab.projects.mnist.data import read_local

    (x_train, y_train), (x_test, y_test) = read_local(data_dir, "train"), read_local(data_dir, "test")
    x_train, x_test = x_train.astype("float32") / 255, x_test.astype("float32") / 255
    num_classes, input_shape = 10, (28, 28, 1)
    y_train, y_test = keras.utils.to_categorical(y_train, num_classes), keras.utils.to_categorical(y_test, num_classes)
    model = keras.Sequential(
        [
            keras.Input(shape=input_shape),
            layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
            layers.MaxPooling2D(pool_size=(2, 2)),
            layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
            layers.MaxPooling2D(pool_size=(2, 2)),
            layers.Flatten(),
            layers.Dropout(0.5),
            layers.Dense(num_classes, activation="softmax"),
        ]
    )
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    epochs_seen: list[tuple[float, float]] = []
    callbacks = [epoch_clock(epochs_seen)] if clock else []
    started = time.perf_counter()
    model.fit(x_train, y_train, batch_size=128, epochs=epochs, validation_split=0.1, verbose=2, callbacks=callbacks)
    fit_seconds = time.perf_counter() - started
    score = model.evaluate(x_test, y_test, verbose=0)
    n_train = int(len(x_train) * 0.9)
    return {
        **({"curve": epochs_seen} if clock else {}),
        "fit_seconds": fit_seconds,
        "samples_per_second": n_train * epochs / fit_seconds,
        "test_accuracy": float(score[1]),
        "params": float(np.sum([w.size for w in model.get_weights()])),
    }


def epoch_clock(seen: list[tuple[float, float]]):
    """A callback appending (seconds since the parent started this process, val_accuracy) at each epoch's end."""
    import keras

    t0 = float(os.environ[T0_ENV])

    class EpochClock(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            seen.append((time.time() - t0, float((logs or {})["val_accuracy"])))

    return EpochClock()


#: Opens (creating if needed) the store and experiment in the cwd; prints the seconds that took, imports excluded.
OPEN_STORE = (
    "import sys, time, mlflow\n"
    "from keraslab.tracking.store import ensure_experiment, tracking_uri\n"
    "started = time.perf_counter()\n"
    "ensure_experiment(tracking_uri(), sys.argv[1])\n"
    "print(time.perf_counter() - started)\n"
)


def open_store(cwd: str, experiment: str) -> float:
    """Seconds to open ``cwd``'s store and experiment, creating them when missing (a fresh process each time)."""
    done = subprocess.run(
        [sys.executable, "-c", OPEN_STORE, experiment], cwd=cwd, capture_output=True, text=True, check=True
    )
    return float(done.stdout.strip().splitlines()[-1])


def store_creation(repeats: int) -> dict[str, float]:
    """Median seconds to create a new store (first run in a folder) and to open an existing one."""
    created, opened = [], []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory(prefix="keraslab-store-") as cwd:
            created.append(open_store(cwd, "mnist-cnn"))
            opened.append(open_store(cwd, "mnist-cnn"))
    return {"create": statistics.median(created), "open": statistics.median(opened)}


def keraslab_cli(project: str, data_dir: Path, overrides: list[str], track: bool = True) -> dict[str, float]:
    """Run ``keraslab train`` in a fresh process and folder, its store already created when tracked; read its
    numbers back from MLflow."""
    with tempfile.TemporaryDirectory(prefix="keraslab-bench-") as cwd:
        command = [sys.executable, "-m", "keraslab", "train", project, "--data-dir", str(data_dir)]
        command += [arg for o in overrides for arg in ("--set", o)]
        command += [] if track else ["--no-track"]
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
        env.pop("MLFLOW_TRACKING_URI", None)
        if track:
            open_store(cwd, project.replace("_", "-"))
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if done.returncode:
            raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        result = {"wall_seconds": wall, "cpu_seconds": cpu}
        if printed := re.search(r"train samples/s\W+([\d,]+)", done.stdout):  # the CLI's table, tracked or not
            result["cli_samples_per_second"] = float(printed.group(1).replace(",", ""))
        if track:
            from mlflow import MlflowClient

            client = MlflowClient(f"sqlite:///{cwd}/mlruns/mlflow.db")
            (run,) = client.search_runs([client.get_experiment_by_name(project.replace("_", "-")).experiment_id])
            result |= run.data.metrics
            result["epochs"] = len(client.get_metric_history(run.info.run_id, "loss"))
        return result


def worker(kind: str, data_dir: Path, epochs: int) -> dict[str, float]:
    if kind in ("plain", "keras-io"):
        return plain_keras_io(data_dir, epochs, clock=kind == "keras-io")
    overrides = [*KERAS_IO_CONVNET, f"training.epochs={epochs}"]
    return keraslab_cli("mnist-cnn", data_dir, overrides, track=kind == "tracked")


def spawn(kind: str, data_dir: Path, epochs: int) -> dict[str, float]:
    """One measurement in its own Python process (fresh TensorFlow state)."""
    command = [sys.executable, __file__, "--worker", kind, "--data-dir", str(data_dir), "--epochs", str(epochs)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode:
        raise RuntimeError(f"worker {kind} failed:\n{done.stderr[-4000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["load_average"] = os.getloadavg()[0]
    result.setdefault("cpu_seconds", (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))
    return result


def outside_fit(run: dict[str, float], epochs: int) -> float:
    """Seconds of a ``keraslab train`` process spent outside ``fit`` (imports, data, evaluation, tracking)."""
    return run["wall_seconds"] - TRAIN_IMAGES * epochs / run["cli_samples_per_second"]


def throughput_and_overhead(data_dir: Path, repeats: int, epochs: int) -> tuple[list[str], dict[str, list[dict]]]:
    kinds = ["plain", "tracked", "untracked"]
    samples: dict[str, list[dict]] = {k: [] for k in kinds}
    store = store_creation(3)
    for r in range(repeats):
        order = kinds[r % 3 :] + kinds[: r % 3]
        for kind in order:
            started = time.perf_counter()
            samples[kind].append(spawn(kind, data_dir, epochs))
            samples[kind][-1].setdefault("wall_seconds", time.perf_counter() - started)
            print(f"repeat {r + 1}/{repeats} {kind}: {samples[kind][-1]}", flush=True)
    med = {k: {key: statistics.median(s[key] for s in v) for key in v[0]} for k, v in samples.items()}
    ratio = med["tracked"]["train_samples_per_second"] / med["plain"]["samples_per_second"]
    ratios = [t["train_samples_per_second"] / p["samples_per_second"] for t, p in
              zip(samples["tracked"], samples["plain"], strict=True)]  # fmt: skip
    overhead = med["tracked"]["wall_seconds"] / med["untracked"]["wall_seconds"] - 1
    # The same minus each run's own fit time: what tracking adds outside fit, free of fit's run-to-run noise.
    outside = {k: statistics.median(outside_fit(r, epochs) for r in samples[k]) for k in ("tracked", "untracked")}
    outside_overhead = (outside["tracked"] - outside["untracked"]) / med["untracked"]["wall_seconds"]
    cpu_overhead = med["tracked"]["cpu_seconds"] / med["untracked"]["cpu_seconds"] - 1
    walls = {k: ", ".join(f"{s['wall_seconds']:.1f}" for s in samples[k]) for k in ("tracked", "untracked")}
    cpus = {k: ", ".join(f"{s['cpu_seconds']:.1f}" for s in samples[k]) for k in ("tracked", "untracked")}
    loads = ", ".join(f"{s['load_average']:.1f}" for k in kinds for s in samples[k])
    rows = [
        "## Throughput: keras-io mnist_convnet, plain Keras script vs `keraslab train` (tracking on)",
        "",
        f"{epochs} epochs each (keras-io's recipe: batch 128, Adam), {repeats} repeats interleaved; "
        "samples/s = 54,000 training images × epochs / fit time (validation included, as Keras reports it).",
        "",
        "| runner | median samples/s | median fit s | median test acc |",
        "|---|---:|---:|---:|",
        f"| plain Keras script (keras-io) | {med['plain']['samples_per_second']:,.0f} | "
        f"{med['plain']['fit_seconds']:.1f} | {med['plain']['test_accuracy']:.4f} |",
        f"| `keraslab train` (tracking on) | {med['tracked']['train_samples_per_second']:,.0f} | "
        f"{med['tracked']['fit_seconds']:.1f} | {med['tracked']['test_accuracy']:.4f} |",
        "",
        f"**Ratio keraslab / plain: {ratio:.2f}** (median of samples/s; per-repeat ratios "
        f"{', '.join(f'{x:.2f}' for x in ratios)}; target ≥ 1.0)",
        "",
        "## Tracking overhead: the same `keraslab train` run, tracking on vs `--no-track`",
        "",
        "Tracked runs find their store and experiment already created, as every run after a project's first does.",
        "",
        "| tracking | median wall s (whole process) | runs | median CPU s (user+sys) | runs |",
        "|---|---:|---|---:|---|",
        f"| on | {med['tracked']['wall_seconds']:.1f} | {walls['tracked']} | "
        f"{med['tracked']['cpu_seconds']:.1f} | {cpus['tracked']} |",
        f"| off | {med['untracked']['wall_seconds']:.1f} | {walls['untracked']} | "
        f"{med['untracked']['cpu_seconds']:.1f} | {cpus['untracked']} |",
        "",
        f"**Overhead: {overhead:+.1%} of wall time, {cpu_overhead:+.1%} of CPU time** (target ≤ 3 %). On a shared "
        "machine the CPU time is the steadier measure: wall time also counts waiting for other jobs.",
        "",
        f"Outside fit (whole process minus its own fit time, which carries most of the run-to-run noise): "
        f"{outside['tracked']:.1f} s tracked vs {outside['untracked']:.1f} s untracked (medians): tracking adds "
        f"**{outside_overhead:+.1%}** of the untracked run's wall time there. Inside fit it adds one asynchronous "
        "MLflow metrics call per epoch.",
        "",
        f"The first run in a new folder also creates the store (MLflow's schema migrations): {store['create']:.1f} s "
        f"vs {store['open']:.1f} s to open an existing one (medians of 3 fresh processes, imports excluded). Such a "
        f"run's overhead outside fit is therefore "
        f"**{outside_overhead + (store['create'] - store['open']) / med['untracked']['wall_seconds']:+.1%}**.",
        "",
        f"1-minute load average at the end of each run: {loads} (2 cores; above 2 means other jobs competed).",
    ]
    return rows, samples


def time_to_accuracy(data_dir: Path, repeats: int) -> list[str]:
    """``keraslab train mnist-cnn`` (defaults, tracking on) and keras-io's script, whole processes timed from
    start to exit, alternating; per-epoch validation accuracy against wall seconds, test accuracy at exit."""
    runs: dict[str, list[dict]] = {"keraslab": [], "keras-io": []}
    loads = [os.getloadavg()[0]]
    for r in range(repeats):
        for kind in ("keraslab", "keras-io") if r % 2 == 0 else ("keras-io", "keraslab"):
            runs[kind].append(timed_keraslab(data_dir) if kind == "keraslab" else timed_keras_io(data_dir))
            loads.append(os.getloadavg()[0])
            print(f"repeat {r + 1}/{repeats} {kind}: {runs[kind][-1]}", flush=True)
    plot_time_to_accuracy(runs)
    median = {k: statistics.median(r["wall_seconds"] for r in v) for k, v in runs.items()}
    rows = [
        "## Time to accuracy: `keraslab train mnist-cnn` (defaults, tracking on) vs keras-io's `mnist_convnet`",
        "",
        "Whole processes, timed from start to exit (imports, data, training, evaluation, tracking); runs "
        f"alternate, {repeats} of each. keras-io's script is its own (15 epochs, batch 128, Adam, its 34,826-"
        "parameter model), reading the same IDX files. Per-epoch points are validation accuracy (both hold out 10 %"
        " of the training set); the last column is test accuracy at exit.",
        "",
        "| runner | run | epochs | wall s to exit | val acc ≥ 99.0 % at | val acc ≥ 99.2 % at | final val acc "
        "| test accuracy |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for kind, results in runs.items():
        for i, run in enumerate(results, 1):
            rows.append(
                f"| {kind} | {i} | {len(run['curve'])} | {run['wall_seconds']:.0f} | {first_at(run['curve'], 0.990)} "
                f"| {first_at(run['curve'], 0.992)} | {run['curve'][-1][1]:.2%} | **{run['test_accuracy']:.2%}** |"
            )
    ratio = median["keraslab"] / median["keras-io"]
    accuracies = [r["test_accuracy"] for r in runs["keraslab"]]
    rows += [
        "",
        f"**keraslab / keras-io wall time: {ratio:.2f}** (medians {median['keraslab']:.0f} s / "
        f"{median['keras-io']:.0f} s; target ≤ 1.0); keraslab test accuracy "
        f"{', '.join(f'{a:.2%}' for a in accuracies)} (target ≥ 99.4 %).",
        "",
        f"![time to accuracy]({TIME_PLOT.name})",
        "",
        f"1-minute load average at the start and after each run: {', '.join(f'{x:.1f}' for x in loads)} (2 cores).",
    ]
    return rows


def first_at(curve: list[tuple[float, float]], level: float) -> str:
    """Wall seconds of the first epoch whose validation accuracy reaches ``level``, or "never"."""
    return next((f"{t:.0f} s" for t, acc in curve if acc >= level), "never")


def timed_keraslab(data_dir: Path) -> dict:
    """``keraslab train mnist-cnn`` with its defaults in a fresh folder (store created beforehand, as after a
    first run); the curve comes from the run's MLflow metric timestamps."""
    from mlflow import MlflowClient

    with tempfile.TemporaryDirectory(prefix="keraslab-tta-") as cwd:
        open_store(cwd, "mnist-cnn")
        env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
        started = time.time()
        done = subprocess.run(
            [sys.executable, "-m", "keraslab", "train", "mnist-cnn", "--data-dir", str(data_dir)],
            cwd=cwd, env=env, capture_output=True, text=True,
        )  # fmt: skip
        wall = time.time() - started
        if done.returncode:
            raise RuntimeError(f"keraslab train failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
        client = MlflowClient(f"sqlite:///{cwd}/mlruns/mlflow.db")
        (run,) = client.search_runs([client.get_experiment_by_name("mnist-cnn").experiment_id])
        history = client.get_metric_history(run.info.run_id, "val_accuracy")
        curve = [(m.timestamp / 1000 - started, m.value) for m in sorted(history, key=lambda m: m.step)]
        return {"wall_seconds": wall, "test_accuracy": run.data.metrics["test_accuracy"], "curve": curve,
                "stderr_lines": len(done.stderr.splitlines())}  # fmt: skip


def timed_keras_io(data_dir: Path) -> dict:
    """keras-io's script in its own process, timed from start to exit."""
    command = [sys.executable, __file__, "--worker", "keras-io", "--data-dir", str(data_dir), "--epochs", "15"]
    started = time.time()
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, T0_ENV: repr(started)})
    wall = time.time() - started
    if done.returncode:
        raise RuntimeError(f"keras-io worker failed:\n{done.stderr[-4000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return {"wall_seconds": wall, "test_accuracy": result["test_accuracy"], "curve": result["curve"]}


def plot_time_to_accuracy(runs: dict[str, list[dict]]) -> None:
    """Validation accuracy against wall seconds, test accuracy marked at each process's exit."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7, 4.2))
    for (kind, results), color in zip(runs.items(), ("tab:blue", "tab:orange"), strict=True):
        for i, run in enumerate(results):
            seconds, accuracy = zip(*run["curve"], strict=True)
            axes.plot(seconds, accuracy, "o-", color=color, alpha=0.8, label=f"{kind} (val)" if i == 0 else None)
            axes.plot(run["wall_seconds"], run["test_accuracy"], "*", color=color, markersize=13,
                      label=f"{kind} test, at exit" if i == 0 else None)  # fmt: skip
    axes.axhline(0.994, color="grey", linestyle="--", linewidth=1, label="target 99.4 %")
    axes.set(xlabel="wall seconds since the command started", ylabel="accuracy", ylim=(0.985, 0.997))
    axes.grid(alpha=0.3)
    axes.legend(loc="lower right")
    figure.tight_layout()
    figure.savefig(TIME_PLOT, dpi=110)


def accuracy(data_dir: Path) -> list[str]:
    rows = [
        "## Accuracy with the project defaults (`keraslab train PROJECT --data-dir ...`)",
        "",
        "| project | test accuracy | target | anchor | epochs run | wall time |",
        "|---|---:|---:|---|---:|---:|",
    ]
    targets = {
        "mnist-cnn": (0.994, "keras-io mnist_convnet 99.22 %"),
        "mnist-cnn-accurate": (0.994, "keras-io mnist_convnet 99.22 %"),
        "mnist-mlp": (0.983, "TF quickstart MLP ~97.7 %"),
    }
    for project, (target, anchor) in targets.items():
        result = keraslab_cli(project, data_dir, [])
        acc = result["test_accuracy"]
        verdict = "✅" if acc >= target else "❌"
        rows.append(
            f"| {project} | {acc:.2%} {verdict} | ≥ {target:.1%} | {anchor} | {result['epochs']:.0f} | "
            f"{result['wall_seconds'] / 60:.1f} min |"
        )
        print(rows[-1], flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=15, help="epochs per throughput run (keras-io uses 15)")
    parser.add_argument("--skip-accuracy", action="store_true")
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--skip-time", action="store_true", help="skip time to accuracy")
    parser.add_argument("--worker", choices=["plain", "keras-io", "tracked", "untracked"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    data_dir = args.data_dir.resolve()
    if args.worker:
        print(json.dumps(worker(args.worker, data_dir, args.epochs)))
        return

    import platform

    header = [
        "# MNIST benchmark",
        "",
        "`python benchmarks/mnist.py --data-dir ../shared/data` (sections can be rerun alone with "
        "`--skip-accuracy` / `--skip-throughput`).  ",
        f"Last run {time.strftime('%Y-%m-%d %H:%M')}, {platform.machine()}, {os.cpu_count()} CPU cores, no GPU. "
        "Compared runs are interleaved and reported as medians; each section gives the load average it saw.",
        "",
    ]
    sections = []
    if not args.skip_time:
        sections += [*time_to_accuracy(data_dir, args.repeats), ""]
    if not args.skip_throughput:
        rows, _ = throughput_and_overhead(data_dir, args.repeats, args.epochs)
        sections += [*rows, ""]
    if not args.skip_accuracy:
        sections += [*accuracy(data_dir), ""]
    print("\n".join(sections))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(merge_sections(RESULTS.read_text() if RESULTS.exists() else "", header, sections))


def merge_sections(previous: str, header: list[str], new: list[str]) -> str:
    """Replace the ``## `` sections measured now, keep the others from the previous results file."""

    def split(lines: list[str]) -> dict[str, list[str]]:
        parts: dict[str, list[str]] = {}
        current = None
        for line in lines:
            if line.startswith("## "):
                current = line
                parts[current] = []
            if current:
                parts[current].append(line)
        return parts

    merged = split(previous.splitlines()) | split(new)
    return "\n".join(header + [line for part in merged.values() for line in part]).rstrip() + "\n"


if __name__ == "__main__":
    main()
