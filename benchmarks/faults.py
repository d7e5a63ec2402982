"""Fault benchmark on real MNIST: processes killed with SIGKILL at random moments and rerun, and the scoring server
under concurrent load with malformed requests.

    python benchmarks/faults.py --data-dir ../shared/data              # all four sections, ~45 min on 2 busy cores
    python benchmarks/faults.py --data-dir ../shared/data --only serving

- **train**: ``--train-kills`` commands (``keraslab train mnist-mlp``, small MLP, a few epochs, one seed each),
  each killed once (in rotation: at a random moment of the whole run, mid-epoch, while the epoch backup is being
  written, while the model is logged) and rerun with the same command. Checks: one FINISHED run per command and no
  other, every epoch's metrics logged exactly once, test accuracy against uninterrupted runs, no RUNNING run left.
- **tune**: ``--tune-kills`` searches (3 random trials of 1 epoch), each killed at a random moment and rerun.
  Checks: one parent run, FINISHED; one FINISHED child per trial (interrupted ones KILLED); the trial count.
- **cluster**: ``keraslab cluster train --workers 2``; worker 1 is killed mid-epoch, the same command is rerun
  (the documented recovery). Checks: the chief's run is the only run, FINISHED, its epochs complete; no worker
  folder left in the checkpoints or the system's temporary folder.
- **serving**: ``keraslab serve --workers N`` on a trained model; 8 client threads send 2,000 requests, one in five
  malformed (bad JSON, wrong keys, bad base64, a non-image, > 10 MiB). Reports requests/s, p50/p99, 5xx, dropped
  connections and the server's memory (all its processes) before and after.

Everything runs in a scratch folder (its own ``./mlruns``). Results go to ``benchmarks/results/faults.md``; each
section rewrites only its own part.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import numpy as np

from sections import write_section  # benchmarks/sections.py

ROOT = Path(__file__).resolve().parents[1]
ORDER = ["train", "tune", "cluster", "serving"]
RESULTS = ROOT / "benchmarks" / "results" / "faults.md"
MODEL = ["model.hidden_layers=1", "model.units=64", "training.batch_size=256", "training.early_stopping.enabled=false"]
EPOCH_KEYS = ("loss", "accuracy", "val_loss", "val_accuracy")
SPACE = """
[tuner]
kind = "random"
objective = "val_accuracy"
max_trials = 3
epochs = 1

[space.units]
type = "choice"
values = [32, 64]

[space.learning_rate]
type = "choice"
values = [0.001, 0.003]
"""


class Scratch:
    """The scratch folder every command runs in, and its MLflow store."""

    def __init__(self, folder: Path, data_dir: Path) -> None:
        self.folder, self.data_dir = folder, data_dir.resolve()
        self.uri = f"sqlite:///{folder / 'mlruns' / 'mlflow.db'}"

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "keraslab", *args, "--data-dir", str(self.data_dir)]

    def start(self, command: list[str], log: str) -> subprocess.Popen:
        out = (self.folder / log).open("ab")
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        return subprocess.Popen(command, cwd=self.folder, stdout=out, stderr=subprocess.STDOUT, env=env)

    def run(self, command: list[str], log: str, timeout: float = 900) -> tuple[int, float]:
        started = time.perf_counter()
        process = self.start(command, log)
        try:
            return process.wait(timeout), time.perf_counter() - started
        finally:
            process.kill()

    def client(self):  # MLflow is imported lazily
        from mlflow import MlflowClient

        return MlflowClient(self.uri)

    def runs(self, experiment: str) -> list:
        client = self.client()
        found = client.get_experiment_by_name(experiment)
        return client.search_runs([found.experiment_id], max_results=1000) if found else []

    def steps(self, run_id: str) -> dict[str, list[int]]:
        return {k: sorted(m.step for m in self.client().get_metric_history(run_id, k)) for k in EPOCH_KEYS}


def wait_for(condition: Callable[[], bool], process: subprocess.Popen, timeout: float, poll: float = 0.02) -> bool:
    """Poll ``condition`` until it holds (True), the process exits or ``timeout`` passes (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        if condition():
            return True
        time.sleep(poll)
    return False


def backup_epoch(folder: Path) -> int:
    """The newest committed epoch of any backup under ``folder``'s checkpoints (0 if none)."""
    epochs = [0]
    for state in (folder / "mlruns" / "checkpoints").rglob("state.json"):
        with contextlib.suppress(OSError, ValueError):
            epochs.append(json.loads(state.read_text())["epoch"])
    return max(epochs)


def partial_files(folder: Path) -> list[Path]:
    return list((folder / "mlruns" / "checkpoints").rglob("*.partial*"))


def has_metric(scratch: Scratch, experiment: str, key: str) -> bool:
    return any(key in run.data.metrics for run in scratch.runs(experiment) if run.info.status == "RUNNING")


# ---------------------------------------------------------------------- train


def kill_train(scratch: Scratch, command: list[str], mode: str, full: float, rng: random.Random) -> str:
    """Start ``command``, SIGKILL it at a moment chosen by ``mode``; say where the kill landed."""
    process = scratch.start(command, "train.log")
    folder, landed = scratch.folder, mode
    if mode == "random":
        wait_for(lambda: False, process, rng.uniform(1.0, 0.9 * full))
    elif mode == "mid-epoch":
        wait_for(lambda: backup_epoch(folder) >= 1, process, 600)
        time.sleep(rng.uniform(0.0, 1.0) * full / 10)
    elif mode == "checkpoint write":
        landed = "checkpoint write" if wait_for(lambda: bool(partial_files(folder)), process, 600, 0.0005) else "?"
    elif mode == "model logging":
        wait_for(lambda: has_metric(scratch, "faults-train", "test_accuracy"), process, 600, 0.01)
        time.sleep(rng.uniform(0.0, 0.3))
    if process.poll() is not None:
        return f"{mode}: finished before the kill"
    process.send_signal(signal.SIGKILL)
    process.wait()
    seed = command[command.index("--seed") + 1]
    if any(r.data.params.get("training.seed") == seed for r in scratch.runs("faults-train")) and not any(
        r.info.status != "FINISHED" and r.data.params.get("training.seed") == seed for r in scratch.runs("faults-train")
    ):
        return f"{mode}: after its run had ended FINISHED (no rerun: the command was done)"
    if landed == "checkpoint write":  # a torn temporary file left behind proves the kill was mid-write
        landed += " (torn file left)" if partial_files(folder) else " (just after)"
    return landed


def train_section(scratch: Scratch, kills: int, epochs: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    base = ["train", "mnist-mlp", "--epochs", str(epochs), *(f"--set={o}" for o in MODEL)]
    baseline = []
    for s in (1001, 1002, 1003):
        code, seconds = scratch.run(
            scratch.command(*base, "--seed", str(s), "--experiment", "faults-baseline"), "b.log"
        )
        assert code == 0, f"baseline run failed: see {scratch.folder / 'b.log'}"
        baseline.append(seconds)
    accuracy = [r.data.metrics["test_accuracy"] for r in scratch.runs("faults-baseline")]
    full = float(np.median(baseline))
    modes = ["random", "mid-epoch", "checkpoint write", "model logging"]
    landed, reruns = [], 0
    for i in range(kills):
        command = scratch.command(*base, "--seed", str(i + 1), "--experiment", "faults-train")
        landed.append(kill_train(scratch, command, modes[i % len(modes)], full, rng))
        if "no rerun" in landed[-1]:
            continue
        while scratch.run(command, "train.log")[0] != 0 and reruns < 3 * kills:
            reruns += 1
    runs = scratch.runs("faults-train")
    by_seed: dict[str, list] = {}
    for run in runs:
        by_seed.setdefault(run.data.params["training.seed"], []).append(run)
    ok = [
        len(group) == 1
        and group[0].info.status == "FINISHED"
        and all(steps == list(range(epochs)) for steps in scratch.steps(group[0].info.run_id).values())
        for group in by_seed.values()
    ]
    finished = [g[0] for g in by_seed.values() if g[0].info.status == "FINISHED"]
    resumed_acc = [r.data.metrics["test_accuracy"] for r in finished]
    running = sum(r.info.status == "RUNNING" for r in runs)
    counts = {mode: sum(x == mode for x in landed) for mode in dict.fromkeys(landed)}
    return [
        f"{kills} commands (`keraslab train mnist-mlp`, 1 × 64 ReLU, {epochs} epochs, batch 256, seeds 1–{kills}; an "
        f"uninterrupted run takes {full:.0f} s here), each killed once with SIGKILL, then rerun with the same command.",
        "",
        "| check | result |",
        "|---|---|",
        f"| kill landed | {', '.join(f'{k}: {v}' for k, v in counts.items())} |",
        f"| commands ending with exactly one run, FINISHED, every epoch logged once (no duplicate step) | "
        f"**{sum(ok)}/{kills}** |",
        f"| runs left RUNNING | {running} |",
        f"| reruns needed beyond one per kill | {reruns} |",
        f"| test accuracy, killed and resumed (mean, min–max) | {np.mean(resumed_acc):.4f} "
        f"({min(resumed_acc):.4f}–{max(resumed_acc):.4f}) |",
        f"| test accuracy, 3 uninterrupted runs (mean, min–max) | {np.mean(accuracy):.4f} "
        f"({min(accuracy):.4f}–{max(accuracy):.4f}) |",
    ]


# ---------------------------------------------------------------------- tune


def tune_section(scratch: Scratch, kills: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    space = scratch.folder / "space.toml"
    space.write_text(SPACE)
    full = None
    results = []
    for i in range(kills + 1):  # search 0 runs uninterrupted: its time bounds the kill moments
        experiment = f"faults-tune-{i}"
        set_ = ["--set=" + o for o in [*MODEL, f"training.seed={i + 1}"]]
        command = scratch.command("tune", "mnist-mlp", "--space", str(space), "--experiment", experiment, *set_)
        if full is None:
            code, full = scratch.run(command, "tune.log")
            assert code == 0, f"uninterrupted search failed: see {scratch.folder / 'tune.log'}"
            continue
        process = scratch.start(command, "tune.log")
        wait_for(lambda: False, process, rng.uniform(2.0, full))
        process.send_signal(signal.SIGKILL)
        process.wait()
        code, _ = scratch.run(command, "tune.log")
        log_tail = (scratch.folder / "tune.log").read_text(errors="replace")[-600:]
        already = code != 0 and "already finished" in log_tail
        runs = scratch.runs(experiment)
        parents = [r for r in runs if r.data.tags.get("keraslab.kind") == "search"]
        children = [r for r in runs if "keraslab.trial_id" in r.data.tags]
        trials: dict[str, list[str]] = {}
        for child in children:
            trials.setdefault(child.data.tags["keraslab.trial_id"], []).append(child.info.status)
        results.append(
            {
                "ok": (code == 0 or already)
                and len(parents) == 1
                and parents[0].info.status == "FINISHED"
                and len(trials) == 3
                and all(s.count("FINISHED") == 1 and set(s) <= {"FINISHED", "KILLED"} for s in trials.values()),
                "killed_children": sum(s.count("KILLED") for s in trials.values()),
                "running": sum(r.info.status == "RUNNING" for r in runs),
            }
        )
    return [
        f"{kills} searches (`keraslab tune mnist-mlp`, random, 3 trials of 1 epoch, one seed each; uninterrupted "
        f"{full:.0f} s), each killed with SIGKILL at a random moment, then rerun with the same command.",
        "",
        "| check | result |",
        "|---|---|",
        f"| searches with one FINISHED parent, 3 trials, one FINISHED child each (others KILLED) | "
        f"**{sum(r['ok'] for r in results)}/{kills}** |",
        f"| interrupted trials' child runs, ended KILLED | {sum(r['killed_children'] for r in results)} |",
        f"| runs left RUNNING | {sum(r['running'] for r in results)} |",
    ]


# ---------------------------------------------------------------------- cluster


def worker_process(parent: int, index: int) -> int | None:
    """The pid of the child of ``parent`` whose TF_CONFIG makes it worker ``index``."""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            stat = (proc / "stat").read_text()
            environ = (proc / "environ").read_bytes()
        except OSError:
            continue
        if int(stat.rpartition(")")[2].split()[1]) == parent and f'"index": {index}}}'.encode() in environ:
            return int(proc.name)
    return None


def cluster_section(scratch: Scratch, tries: int, epochs: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    scratch_dirs = lambda: set(Path(tempfile.gettempdir()).glob("keraslab-worker-*"))  # noqa: E731
    before = scratch_dirs()
    results = []
    for i in range(tries):
        experiment = f"faults-cluster-{i}"
        args = ["cluster", "train", "mnist-mlp", "--workers", "2", "--epochs", str(epochs), "--seed", str(i + 1)]
        command = scratch.command(*args, "--experiment", experiment, *(f"--set={o}" for o in MODEL))
        process = scratch.start(command, "cluster.log")
        wait_for(lambda: backup_epoch(scratch.folder) >= 1, process, 900, 0.05)
        time.sleep(rng.uniform(0.2, 2.0))  # into the next epoch
        worker = worker_process(process.pid, 1)
        if worker is not None:
            os.kill(worker, signal.SIGKILL)
        first = process.wait(120)
        code, _ = scratch.run(command, "cluster.log")  # the documented recovery: the same command again
        runs = scratch.runs(experiment)
        steps = scratch.steps(runs[0].info.run_id) if len(runs) == 1 else {}
        results.append(
            {
                "killed": worker is not None and first != 0,
                "ok": code == 0
                and len(runs) == 1
                and runs[0].info.status == "FINISHED"
                and all(s == list(range(epochs)) for s in steps.values()),
                "left": len(list((scratch.folder / "mlruns" / "checkpoints").rglob("worker-*"))),
            }
        )
    return [
        f"{tries} tries of `keraslab cluster train mnist-mlp --workers 2` ({epochs} epochs, same model): worker 1 "
        "killed with SIGKILL mid-epoch (the launcher then stops the chief), then the same command rerun.",
        "",
        "| check | result |",
        "|---|---|",
        f"| tries where the worker was killed and the first command failed | {sum(r['killed'] for r in results)}"
        f"/{tries} |",
        f"| recoveries: the chief's run is the only run, FINISHED, every epoch logged once | "
        f"**{sum(r['ok'] for r in results)}/{tries}** |",
        f"| worker folders left in the checkpoints / in {tempfile.gettempdir()} | "
        f"{sum(r['left'] for r in results)} / {len(scratch_dirs() - before)} |",
    ]


# ---------------------------------------------------------------------- serving


def tree_rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` and all its descendants (the CLI, MLflow, uvicorn and its workers), in MiB."""
    parents, rss = {}, {}
    for proc in Path("/proc").iterdir():
        with contextlib.suppress(OSError, AttributeError, ValueError):
            status = (proc / "status").read_text()
            parents[int(proc.name)] = int(re.search(r"PPid:\s+(\d+)", status).group(1))
            rss[int(proc.name)] = int(re.search(r"VmRSS:\s+(\d+)", status).group(1))
    tree, frontier = {pid}, [pid]
    while frontier:
        children = [child for child, parent in parents.items() if parent in frontier and child not in tree]
        tree.update(children)
        frontier = children
    return sum(rss.get(p, 0) for p in tree) / 1024


def bodies(images: np.ndarray, count: int) -> list[tuple[str, bytes]]:
    """``count`` request bodies: valid PNG digits, and every fifth one malformed (five kinds in turn)."""
    from keraslab.serving.wrappers.classification import png_base64

    bad = [
        ("bad JSON", b'{"dataframe_records": [{"image": "abc"'),
        ("wrong keys", json.dumps({"dataframe_records": [{"picture": "x"}]}).encode()),
        ("bad base64", json.dumps({"dataframe_records": [{"image": "not base64 !!"}]}).encode()),
        ("not an image", json.dumps({"dataframe_records": [{"image": base64.b64encode(b"hello" * 50).decode()}]})),
        ("oversize", json.dumps({"dataframe_records": [{"image": "A" * (11 * 2**20)}]}).encode()),
    ]
    out = []
    for i in range(count):
        if i % 5 == 4:
            kind, body = bad[(i // 5) % len(bad)]
            out.append((kind, body if isinstance(body, bytes) else body.encode()))
        else:
            image = png_base64(images[i % len(images)])
            out.append(("valid", json.dumps({"dataframe_records": [{"image": image}]}).encode()))
    return out


def load(url: str, requests_: list[tuple[str, bytes]], clients: int) -> dict:
    import requests

    lock, records = threading.Lock(), []
    chunks = [requests_[i::clients] for i in range(clients)]

    def client(chunk: list[tuple[str, bytes]]) -> None:
        session = requests.Session()
        for kind, body in chunk:
            started = time.perf_counter()
            try:
                status = session.post(
                    f"{url}/invocations", data=body, headers={"Content-Type": "application/json"}, timeout=120
                ).status_code
            except requests.RequestException:
                status = None  # dropped: no answer
            with lock:
                records.append((kind, status, time.perf_counter() - started))

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(client, chunks))
    return {"records": records, "seconds": time.perf_counter() - started}


def serving_section(scratch: Scratch, workers: list[int], total: int, clients: int, rounds: int) -> list[str]:
    from keraslab.processes import stop, wait_ready
    from keraslab.projects.mnist.data import read_local
    from keraslab.training.cluster import free_ports

    run = next((r for r in scratch.runs("faults-baseline") if r.info.status == "FINISHED"), None)
    if run is None:
        base = ["train", "mnist-mlp", "--epochs", "2", "--experiment", "faults-baseline"]
        assert scratch.run(scratch.command(*base, *(f"--set={o}" for o in MODEL)), "b.log")[0] == 0
        run = next(r for r in scratch.runs("faults-baseline") if r.info.status == "FINISHED")
    images = read_local(scratch.data_dir, "test")[0][:500, ..., 0]
    requests_ = bodies(images, total)
    lines = [
        f"`keraslab serve` on a `mnist-mlp` model; {clients} client threads (a keep-alive session each) send "
        f"{total:,} requests in all, one PNG digit each, one in five malformed (bad JSON, wrong keys, bad base64, a "
        "non-image, an 11 MiB image field, in turn); the table's figures are from the second round of them, after a "
        "warm-up round of the same requests. Memory: resident, all the server's processes: once started, before and "
        f"after the measured round, and after {rounds} more rounds (growth that goes on is a leak; a plateau is the "
        "allocators' high-water mark of this load).",
        "",
        "| workers | requests/s | valid p50 / p99 ms | malformed p50 / p99 ms | 2xx | 4xx | 5xx | dropped "
        f"| RSS started (MiB) | RSS before → after (MiB) | RSS after {rounds} more rounds (MiB) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for n in workers:
        (port,) = free_ports(1)
        command = [sys.executable, "-m", "keraslab", "serve", run.info.run_id, "--port", str(port)]
        command += ["--workers", str(n), "--tracking-uri", scratch.uri]
        log = (scratch.folder / f"serve-{n}.log").open("wb")
        server = subprocess.Popen(
            command, cwd=scratch.folder, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        url = f"http://127.0.0.1:{port}"
        try:
            wait_ready(url, server, timeout=300)
            cold = tree_rss_mb(server.pid)
            load(url, requests_, clients)  # warm-up: the allocators reach the high-water mark of this load
            before = tree_rss_mb(server.pid)
            result = load(url, requests_, clients)  # the measured round
            after = tree_rss_mb(server.pid)
            for _ in range(rounds):  # the same load again: growth that goes on is a leak, a plateau is not
                load(url, requests_, clients)
            final = tree_rss_mb(server.pid)
        finally:
            stop(server)
        records = result["records"]
        ms = {
            kind: [r[2] * 1000 for r in records if (r[0] == "valid") == (kind == "valid")] for kind in ("valid", "bad")
        }
        status = [r[1] for r in records]
        client_errors = sum(s is not None and 400 <= s < 500 for s in status)
        lines.append(
            f"| {n} | {len(records) / result['seconds']:.0f} | "
            f"{np.percentile(ms['valid'], 50):.1f} / {np.percentile(ms['valid'], 99):.1f} | "
            f"{np.percentile(ms['bad'], 50):.1f} / {np.percentile(ms['bad'], 99):.1f} | "
            f"{sum(s is not None and s < 300 for s in status)} | {client_errors} "
            f"| **{sum(s is not None and s >= 500 for s in status)}** | **{status.count(None)}** | "
            f"{cold:.0f} | {before:.0f} → {after:.0f} (**{after - before:+.0f}**) "
            f"| {final:.0f} ({final - before:+.0f}) |"
        )
    return lines


# ---------------------------------------------------------------------- results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--only", choices=["train", "tune", "cluster", "serving"], action="append")
    parser.add_argument("--train-kills", type=int, default=20)
    parser.add_argument("--tune-kills", type=int, default=10)
    parser.add_argument("--cluster-tries", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--rounds", type=int, default=2, help="serving: more rounds of the load, for the memory trend")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    sections = args.only or ["train", "tune", "cluster", "serving"]
    scratch = Scratch(Path(tempfile.mkdtemp(prefix="keraslab-faults-")), args.data_dir)
    print(f"scratch folder: {scratch.folder}", flush=True)
    for name in sections:
        started = time.perf_counter()
        if name == "train":
            lines = train_section(scratch, args.train_kills, args.epochs, args.seed)
        elif name == "tune":
            lines = tune_section(scratch, args.tune_kills, args.seed)
        elif name == "cluster":
            lines = cluster_section(scratch, args.cluster_tries, args.epochs, args.seed)
        else:
            lines = serving_section(scratch, args.workers, args.requests, args.clients, args.rounds)
        load_avg = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        header = [
            f"`python benchmarks/faults.py --data-dir ../shared/data --only {name}`  ",
            f"{datetime.now():%Y-%m-%d %H:%M}, {os.cpu_count()} CPU cores, no GPU; "
            f"{time.perf_counter() - started:.0f} s; "
            f"load average afterwards {load_avg} (other jobs were running).",
        ]
        write_section(RESULTS, "Fault benchmark", name, [*header, "", *lines], ORDER)
        print("\n".join(lines), flush=True)


if __name__ == "__main__":
    main()
