"""Serving benchmark on the real data: MLflow's scoring server on the stock ``mlflow.keras`` model vs keraslab's
pyfunc for the same trained MNIST CNN, side by side on 127.0.0.1.

    python benchmarks/serving.py --data-dir ../shared/data                 # ~6 min on 2 busy cores

Trains the ``mnist-cnn`` project (``--epochs``, default 1) in a scratch MLflow store (the trainer logs the
keraslab pyfunc), logs the same Keras model with ``mlflow.keras`` (the stock flavor), starts both servers, then
with one Python client (keep-alive session) and bounded loops, interleaving the servers request by request:

- latency of one image (p50/p99 over ``--requests``): stock gets a 1×28×28×1 float tensor (its only input);
  keraslab gets the same digit as a 28×28 array and, separately, as a base64 PNG;
- throughput for batches of 64 (``--batches`` requests each);
- accuracy of keraslab's server on ``--accuracy`` real MNIST test digits sent as 28×28 arrays and as PNG files
  at 28 to 448 px (bicubic upscaling, as a scan of the same digit), light on dark and dark on light.

Results go to ``benchmarks/results/serving.md``.
"""

from __future__ import annotations

import argparse
import json
import platform
import socket
import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path

import numpy as np
import requests

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "serving.md"
JSON = {"Content-Type": "application/json"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stock_body(images: np.ndarray) -> bytes:
    return json.dumps({"inputs": (images[..., None] / 255.0).tolist()}).encode()


def array_body(images: np.ndarray) -> bytes:
    return json.dumps(
        {"dataframe_split": {"columns": ["array"], "data": [[image.tolist()] for image in images]}}
    ).encode()


def png_body(images: np.ndarray) -> bytes:
    from keraslab.serving.wrappers.classification import png_base64

    return json.dumps({"dataframe_records": [{"image": png_base64(image)} for image in images]}).encode()


SIZES = (28, 56, 84, 112, 224, 448)


def as_scans(images: np.ndarray, size: int, dark_on_light: bool) -> np.ndarray:
    """28×28 uint8 digits as ``size`` px images (bicubic, like a finer scan of the same digit), inverted when
    ``dark_on_light``."""
    from PIL import Image

    scans = np.stack(
        [np.asarray(Image.fromarray(image).resize((size, size), Image.Resampling.BICUBIC)) for image in images]
    )
    return 255 - scans if dark_on_light else scans


def accuracy_by_input(session: requests.Session, url: str, x_test: np.ndarray, y_test: np.ndarray) -> dict[str, float]:
    """Share of digits labelled right, sent as arrays and as PNGs of each size and polarity (batches of 50)."""

    def correct(body: bytes, labels: np.ndarray) -> int:
        answer = session.post(f"{url}/invocations", data=body, headers=JSON, timeout=120)
        answer.raise_for_status()
        return int(np.sum(np.array([int(p["label"]) for p in answer.json()["predictions"]]) == labels))

    cases = {"28×28 array": lambda batch: array_body(batch)}
    for dark in (False, True):
        for size in SIZES:
            cases[f"{size}|{dark}"] = lambda batch, size=size, dark=dark: png_body(as_scans(batch, size, dark))
    return {
        name: sum(correct(encode(x_test[i : i + 50]), y_test[i : i + 50]) for i in range(0, len(x_test), 50))
        / len(x_test)
        for name, encode in cases.items()
    }


def timed(session: requests.Session, url: str, body: bytes) -> float:
    started = time.perf_counter()
    answer = session.post(f"{url}/invocations", data=body, headers=JSON, timeout=60)
    elapsed = time.perf_counter() - started
    answer.raise_for_status()
    return elapsed


def interleaved(session: requests.Session, cases: dict[str, tuple[str, bytes]], n: int) -> dict[str, list[float]]:
    """``n`` rounds; each round sends every case once, in rotating order, so load drift hits all alike."""
    names, times = list(cases), {name: [] for name in cases}
    for name in names:  # warm up
        for _ in range(5):
            timed(session, *cases[name])
    for i in range(n):
        for name in names[i % len(names) :] + names[: i % len(names)]:
            times[name].append(timed(session, *cases[name]))
    return times


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--requests", type=int, default=300, help="single-image requests per case")
    parser.add_argument("--batches", type=int, default=30, help="64-image requests per case")
    parser.add_argument("--accuracy", type=int, default=1000, help="test digits sent per input size and polarity")
    args = parser.parse_args()

    import mlflow
    from mlflow.models import infer_signature

    from keraslab import processes as child_processes
    from keraslab import registry
    from keraslab.projects.mnist.data import read_local
    from keraslab.serving import server
    from keraslab.tracking.runs import pinned_requirements
    from keraslab.training.trainer import TrackingOptions, train

    scratch = Path(tempfile.mkdtemp(prefix="serving-bench-"))
    tracking = f"sqlite:///{scratch / 'mlflow.db'}"
    spec = registry.load("mnist-cnn", [f"training.epochs={args.epochs}"])
    started = time.perf_counter()
    result = train(
        spec, data_dir=args.data_dir, tracking=TrackingOptions(uri=tracking, experiment="serving"), verbose=2
    )
    train_seconds = time.perf_counter() - started
    x_test, y_test = read_local(args.data_dir, "test")
    x_test = x_test[..., 0]

    mlflow.set_tracking_uri(tracking)
    with mlflow.start_run(run_id=result.run_id):
        sample = x_test[:2, ..., None].astype(np.float32) / 255.0
        stock = mlflow.keras.log_model(
            result.model,
            name="stock",
            signature=infer_signature(sample, result.model.predict(sample, verbose=0)),
            pip_requirements=pinned_requirements(),
        )

    ports = {"stock": free_port(), "keraslab": free_port()}
    uris = {"stock": stock.model_uri, "keraslab": result.model_uri}
    processes = {
        name: server.start(uris[name], "127.0.0.1", ports[name], tracking, log=scratch / f"{name}.log")
        for name in ports
    }
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    try:
        for name in processes:
            child_processes.wait_ready(urls[name], processes[name], timeout=300)
        session = requests.Session()
        one, batch = x_test[:1], x_test[:64]
        single = interleaved(
            session,
            {
                "stock `mlflow.keras`, tensor": (urls["stock"], stock_body(one)),
                "keraslab pyfunc, 28×28 array": (urls["keraslab"], array_body(one)),
                "keraslab pyfunc, PNG": (urls["keraslab"], png_body(one)),
            },
            args.requests,
        )
        batched = interleaved(
            session,
            {
                "stock `mlflow.keras`, tensor": (urls["stock"], stock_body(batch)),
                "keraslab pyfunc, 28×28 array": (urls["keraslab"], array_body(batch)),
                "keraslab pyfunc, PNG": (urls["keraslab"], png_body(batch)),
            },
            args.batches,
        )
        accuracy = accuracy_by_input(session, urls["keraslab"], x_test[: args.accuracy], y_test[: args.accuracy])
    finally:
        for process in processes.values():
            child_processes.stop(process)

    stock_p50 = statistics.median(single["stock `mlflow.keras`, tensor"])
    lines = [
        "# Serving benchmark",
        "",
        f"`python benchmarks/serving.py --data-dir {args.data_dir} --epochs {args.epochs} --requests {args.requests} "
        f"--batches {args.batches} --accuracy {args.accuracy}`  ",
        f"{datetime.now():%Y-%m-%d %H:%M}, {platform.machine()}, 2 CPU cores, no GPU. The machine was shared with "
        "other jobs while measuring: absolute numbers are noisy; the cases were interleaved request by "
        "request, so the ratios are the fair comparison. Medians and percentiles are over all requests.",
        "",
        f"Model: `mnist-cnn` defaults trained {args.epochs} epoch(s) in {train_seconds:.0f} s "
        f"(test accuracy {result.test_metrics.get('test_accuracy', float('nan')):.4f}), served by MLflow's scoring "
        "server (`mlflow models serve --env-manager local`, 1 uvicorn worker) both times; client: Python "
        "`requests` session on 127.0.0.1.",
        "",
        f"## One image ({args.requests} requests per case)",
        "",
        "| server, request | p50 ms | p99 ms | stock p50 / this p50 |",
        "|---|---:|---:|---:|",
    ]
    for name, times in single.items():
        p50 = statistics.median(times)
        lines.append(f"| {name} | {p50 * 1000:.1f} | {percentile(times, 99) * 1000:.1f} | {stock_p50 / p50:.1f}× |")
    lines += [
        "",
        f"## Batches of 64 ({args.batches} requests per case)",
        "",
        "| server, request | p50 ms per batch | images/s (at p50) | images/s (total) |",
        "|---|---:|---:|---:|",
    ]
    for name, times in batched.items():
        lines.append(
            f"| {name} | {statistics.median(times) * 1000:.1f} | {64 / statistics.median(times):,.0f} "
            f"| {64 * len(times) / sum(times):,.0f} |"
        )
    lines += [
        "",
        "## Correctness by input size: real MNIST test digits sent to the keraslab server",
        "",
        f"The first {args.accuracy} test digits, as 28×28 arrays and as PNGs of each size (bicubic upscaling of the "
        "28 px digit, as a finer scan of it would look), in both ink polarities. The PNGs go through the MNIST-style "
        "normalisation (ink found and inverted if light, box on the half-intensity outline fitted to 20×20 with "
        "area-preserving resampling, centre of mass at pixel 14, MNIST-bright strokes). Target: 84, 112 and 224 px "
        "within 0.5 points of 28 px.",
        "",
        f"28×28 arrays (no image path): **{accuracy['28×28 array']:.1%}**",
        "",
        "| PNG size | light on dark | dark on light |",
        "|---:|---:|---:|",
        *(f"| {size} px | {accuracy[f'{size}|False']:.1%} | {accuracy[f'{size}|True']:.1%} |" for size in SIZES),
        "",
    ]
    text = "\n".join(lines)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
