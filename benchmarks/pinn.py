"""PINN benchmark: ``keraslab train pinn-burgers`` and ``pinn-burgers-inverse`` end to end, error vs wall time.

Both runs go through the project's one training path (trainer, callbacks, MLflow into a temporary store); the
per-epoch ``rel_l2`` (against the Cole–Hopf reference) and ``elapsed_s`` are read back from MLflow.

    python benchmarks/pinn.py                    # project defaults, both problems
    python benchmarks/pinn.py --only inverse     # one problem: rewrites only its section of the results
    python benchmarks/pinn.py --deepxde-python PATH/TO/deepxde-venv/bin/python   # + DeepXDE side by side

With ``--deepxde-python`` DeepXDE's own Burgers example (``benchmarks/pinn_deepxde.py``, its documented settings,
TensorFlow backend) runs in that interpreter's environment after ours, on the same reference grid with the same
error measure, within the same wall budget as our forward run took (``--deepxde-budget`` overrides): what it
finished within the budget is reported.

Anchors (issue 7): DeepXDE's examples/pinn_forward/Burgers.py measured on this machine: relative L2 1.43e-2
after 18 min 53 s; Raissi et al. (2019): 6.7e-4 (8 × 40, L-BFGS only), 9.6e-4 (8 × 20, N_u = 200).
Targets: forward relative L2 <= 1e-3 within 10 minutes; inverse ν within 1 % with 1 % noise.
Results go to ``benchmarks/results/pinn.md``, one ``## `` section per problem (``--only`` keeps the other's).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from keraslab.training.schedules import polish_epochs

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "pinn.md"
TARGET_ERROR, TARGET_SECONDS, NU_TOLERANCE = 1e-3, 600.0, 0.01
HEADINGS = {
    "forward": "Forward: `keraslab train pinn-burgers` (ν = 0.01/π)",
    "inverse": "Inverse: `keraslab train pinn-burgers-inverse`",
}
SECTIONS = tuple(HEADINGS)
DEEPXDE = ("DeepXDE Burgers example (issue 7, measured here)", "[2, 20, 20, 20, 1]", 1.43e-2, 18 * 60 + 53)


def run(project: str, overrides: list[str]) -> dict:
    """Train ``project`` tracked into the current store; its per-epoch curves and test metrics."""
    from mlflow import MlflowClient

    from keraslab import registry
    from keraslab.training.trainer import train

    spec = registry.load(project, overrides)
    started = time.perf_counter()
    result = train(spec, verbose=2)
    wall = time.perf_counter() - started
    client = MlflowClient()
    keys = ("elapsed_s", "rel_l2", "loss", "lbfgs_iterations", "nu")
    curves = {k: {m.step: m.value for m in client.get_metric_history(result.run_id, k)} for k in keys}
    return {"spec": spec, "result": result, "wall": wall, "curves": curves}


def run_deepxde(python: str, budget: float) -> dict:
    """DeepXDE's Burgers example in ``python``'s environment, killed after ``budget`` seconds; its finished phases."""
    from keraslab.projects.pinn.problems import make_problem

    reference = make_problem("burgers").reference()
    with tempfile.TemporaryDirectory() as tmp:
        np.savez(Path(tmp) / "reference.npz", points=reference.points, values=reference.values)
        out, log = Path(tmp) / "phases.jsonl", Path(tmp) / "deepxde.log"
        command = [python, str(ROOT / "benchmarks" / "pinn_deepxde.py"), "--reference", f"{tmp}/reference.npz"]
        env = {**os.environ, "DDE_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "2"}
        started = time.perf_counter()
        try:
            with log.open("w") as sink:
                done = subprocess.run([*command, "--out", str(out)], env=env, stdout=sink, stderr=sink, timeout=budget)
            if done.returncode:
                raise RuntimeError(f"DeepXDE run failed ({done.returncode}):\n{log.read_text()[-3000:]}")
            finished = True
        except subprocess.TimeoutExpired:
            finished = False
        wall = time.perf_counter() - started
        phases = [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []
    return {"phases": phases, "finished": finished, "wall": wall, "budget": budget}


def error_vs_time(curves: dict, adam_epochs: int) -> list[tuple[int, str, float, float, float]]:
    """(epoch, phase, elapsed s, loss, rel_l2) per epoch."""
    rows = []
    for epoch in sorted(curves["rel_l2"]):
        phase = "Adam" if epoch < adam_epochs else f"L-BFGS ({int(curves['lbfgs_iterations'].get(epoch, 0))} it)"
        rows.append((epoch + 1, phase, curves["elapsed_s"][epoch], curves["loss"][epoch], curves["rel_l2"][epoch]))
    return rows


def main() -> None:
    from keraslab import registry

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=SECTIONS, help="run one problem; the other's results section is kept")
    parser.add_argument("--set", action="append", default=[], help="override for the forward project")
    parser.add_argument("--inverse-set", action="append", default=[], help="override for the inverse project")
    parser.add_argument("--seeds", type=int, default=1, help="inverse runs, seeds from the project's on")
    parser.add_argument("--deepxde-python", help="python of an environment with deepxde (TensorFlow backend)")
    parser.add_argument("--deepxde-budget", type=float, help="seconds for DeepXDE (default: our forward run's)")
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

    sections = {}
    if args.only in (None, "forward"):
        load_before = os.getloadavg()
        with tempfile.TemporaryDirectory() as tmp:
            os.chdir(tmp)  # ./mlruns of this benchmark only
            forward = run("pinn-burgers", args.set)
        deepxde = None
        if args.deepxde_python:
            deepxde = run_deepxde(args.deepxde_python, args.deepxde_budget or forward["wall"])
        sections["forward"] = forward_section(forward, deepxde, load_before, os.getloadavg())
    if args.only in (None, "inverse"):
        load_before = os.getloadavg()
        with tempfile.TemporaryDirectory() as tmp:
            os.chdir(tmp)
            seed = registry.load("pinn-burgers-inverse", args.inverse_set).training.seed
            inverses = [
                run("pinn-burgers-inverse", [*args.inverse_set, f"training.seed={seed + i}"]) for i in range(args.seeds)
            ]
        sections["inverse"] = inverse_section(inverses, load_before, os.getloadavg())

    text = merge(RESULTS.read_text() if RESULTS.exists() else "", sections)
    print(text)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text)
    print(f"written to {RESULTS}")


def merge(previous: str, sections: dict[str, list[str]]) -> str:
    """The results file: the title, then the forward and inverse sections, new ones replacing ``previous``'s."""
    kept = {name: f"## {HEADINGS[name]}" for name in SECTIONS}
    old = {name: "" for name in SECTIONS}
    for block in previous.split("\n## ")[1:]:
        for name in SECTIONS:
            if ("## " + block).startswith(kept[name]):
                old[name] = "## " + block.strip() + "\n"
    parts = ["# PINN benchmark: Burgers forward and inverse", ""]
    for name in SECTIONS:
        text = "\n".join(sections[name]) + "\n" if name in sections else old[name]
        if text:
            parts += [text]
    return "\n".join(parts)


def machine(load_before: tuple, load_after: tuple) -> str:
    import tensorflow as tf

    return (
        f"Machine: {os.cpu_count()} CPU cores ({platform.processor() or platform.machine()}), TensorFlow "
        f"{tf.__version__}, while other jobs were running: load average {load_before[0]:.1f} before, "
        f"{load_after[0]:.1f} after (1-minute). Times are wall-clock of one run each, so contention inflates them."
    )


def forward_section(forward: dict, deepxde: dict | None, load_before: tuple, load_after: tuple) -> list[str]:
    spec, metrics = forward["spec"], forward["result"].test_metrics
    params = spec.builder_params()
    lbfgs_epochs = polish_epochs(spec.training.epochs, spec.training.lbfgs_fraction)
    adam_epochs = spec.training.epochs - lbfgs_epochs
    rows = error_vs_time(forward["curves"], adam_epochs)
    reached = next(((t, e) for _, _, t, _, e in rows if e <= TARGET_ERROR), None)
    final_time = rows[-1][2]
    opts = spec.data.options
    lines = [
        f"## {HEADINGS['forward']}",
        "",
        machine(load_before, load_after),
        "",
        f"Network {params['hidden_layers']} × {params['units']} {params['activation']}, {params['dtype']}; "
        f"{opts['collocation']:,} {opts['sampler']} collocation points, conditions {opts.get('points')}; "
        f"Adam lr {params['learning_rate']} for {adam_epochs * opts['steps_per_epoch']:,} steps, then "
        f"{lbfgs_epochs} × up to {params['lbfgs_iterations']:,} L-BFGS iterations (compiled "
        f"value-and-gradient; collocation points after the first L-BFGS epoch: {opts.get('lbfgs_resample', 'none')}). "
        f"Error: relative L2 on the 256 × 101 Cole–Hopf reference grid.",
        "",
        "| | network | relative L2 | wall time |",
        "|---|---|---|---|",
        f"| {DEEPXDE[0]} | {DEEPXDE[1]} | {DEEPXDE[2]:.2e} | {fmt(DEEPXDE[3])} |",
        *deepxde_rows(deepxde),
        "| Raissi et al. 2019 (paper, L-BFGS only) | 8 × 40 / 8 × 20 | 6.7e-4 / 9.6e-4 | — |",
        f"| **keraslab, end of fit** | {params['hidden_layers']} × {params['units']} | "
        f"**{metrics['test_rel_l2']:.2e}** | {fmt(final_time)} (fit), {fmt(forward['wall'])} (whole run) |",
        f"| keraslab, first epoch at ≤ {TARGET_ERROR:g} | | "
        + (f"{reached[1]:.2e} | {fmt(reached[0])} |" if reached else "not reached | — |"),
        "",
        f"Target relative L2 ≤ {TARGET_ERROR:g} within {fmt(TARGET_SECONDS)}: "
        + ("**met**" if reached and reached[0] <= TARGET_SECONDS else "**not met**")
        + (
            f"; error ratio DeepXDE / keraslab = {DEEPXDE[2] / metrics['test_rel_l2']:.1f}×, "
            f"time ratio = {DEEPXDE[3] / final_time:.1f}×."
        ),
        "",
        "Error vs wall time (per epoch, from the run's MLflow metrics):",
        "",
        "| epoch | phase | elapsed | loss | relative L2 |",
        "|---|---|---|---|---|",
    ]
    lines += [f"| {e} | {phase} | {fmt(t)} | {loss:.2e} | {err:.2e} |" for e, phase, t, loss, err in rows]
    if deepxde:
        lines += [
            "",
            f"DeepXDE ran side by side in its own environment (`benchmarks/pinn_deepxde.py`: its example's settings, "
            f"TensorFlow backend; trained on t ∈ [0, 0.99] as documented, measured on the same grid) with a wall "
            f"budget of {fmt(deepxde['budget'])}, "
            + ("and finished within it." if deepxde["finished"] else "and was stopped there before it finished."),
        ]
    else:
        lines += ["", "DeepXDE was not run side by side (no `--deepxde-python`); its row is the issue's measurement."]
    command = "python benchmarks/pinn.py --only forward --deepxde-python PATH/TO/deepxde-venv/bin/python"
    return [*lines, "", f"Reproduce: `{command}`."]


def inverse_section(inverses: list[dict], load_before: tuple, load_after: tuple) -> list[str]:
    """One row per seed (observations, noise, collocation points and initial weights all depend on it)."""
    spec = inverses[0]["spec"]
    opts, params = spec.data.options, spec.builder_params()
    truth = 0.01 / math.pi
    errors = [i["result"].test_metrics["test_nu_rel_error"] for i in inverses]
    lbfgs_epochs = polish_epochs(spec.training.epochs, spec.training.lbfgs_fraction)
    lines = [
        f"## {HEADINGS['inverse']}",
        "",
        machine(load_before, load_after),
        "",
        f"{opts['points']['data']:,} observations of the reference with {opts['noise']:.0%} Gaussian noise, "
        f"{opts['collocation']:,} {opts['sampler']} collocation points (L-BFGS epochs after the first: "
        f"{opts.get('lbfgs_resample', 'none')}), ν learnt as log ν from {opts['problem_options']['nu_guess']}; "
        f"network {params['hidden_layers']} × {params['units']} {params['activation']}, {params['dtype']}; Adam lr "
        f"{params['learning_rate']} for {(spec.training.epochs - lbfgs_epochs) * opts['steps_per_epoch']:,}"
        f" steps, then {lbfgs_epochs} × up to {params['lbfgs_iterations']:,} L-BFGS iterations.",
        "",
        "| seed | true ν | recovered ν | relative error | relative L2 of u | L-BFGS iterations | wall time |",
        "|---|---|---|---|---|---|---|",
    ]
    for inverse in inverses:
        m, curves = inverse["result"].test_metrics, inverse["curves"]["lbfgs_iterations"]
        lines.append(
            f"| {inverse['spec'].training.seed} | {truth:.6f} | {m['test_nu']:.6f} | {m['test_nu_rel_error']:.2%} | "
            f"{m['test_rel_l2']:.2e} | {int(curves[max(curves)]) if curves else 0:,} | {fmt(inverse['wall'])} |"
        )
    worst, median = max(errors), float(np.median(errors))
    lines += [
        "",
        f"Target ν within {NU_TOLERANCE:.0%}: "
        + ("**met**" if worst <= NU_TOLERANCE else "**not met**")
        + f" (median over {len(errors)} seed(s) {median:.2%}, worst {worst:.2%}; Raissi et al.: 0.0032098, 0.84 % "
        "off, with 1 % noise and 2,000 observations).",
        "",
        f"Reproduce: `python benchmarks/pinn.py --only inverse --seeds {len(inverses)}`.",
    ]
    return lines


def deepxde_rows(deepxde: dict | None) -> list[str]:
    if deepxde is None:
        return []
    rows = [
        f"| DeepXDE example, side by side, after {p['phase']} ({p['iterations']:,} it) | [2, 20, 20, 20, 1] | "
        f"{p['rel_l2']:.2e} | {fmt(p['elapsed_s'])} |"
        for p in deepxde["phases"]
    ]
    if not deepxde["finished"]:
        rows.append(f"| DeepXDE example, side by side: stopped at the budget | | — | {fmt(deepxde['wall'])} |")
    return rows


def fmt(seconds: float) -> str:
    return f"{int(seconds // 60)} min {seconds % 60:04.1f} s"


if __name__ == "__main__":
    main()
