"""DeepXDE's own Burgers example (``examples/pinn_forward/Burgers.py``), run by ``benchmarks/pinn.py`` in DeepXDE's env.

Its documented settings: [2, 20, 20, 20, 1] tanh (Glorot normal) on x ∈ [−1, 1], t ∈ [0, 0.99]; 2,540 domain,
80 boundary and 160 initial points; Adam (lr 1e-3) for 15,000 iterations, then L-BFGS with DeepXDE's defaults.
The error is measured on the reference grid that ``benchmarks/pinn.py`` passes in (keraslab's Cole–Hopf grid), so
both rows use the same data and the same relative L2. After each phase one JSON line (phase, elapsed seconds,
relative L2, iterations) is appended to ``--out``, so a run cut off by the wall budget still reports its Adam phase.

    DDE_BACKEND=tensorflow $DEEPXDE_PYTHON benchmarks/pinn_deepxde.py --reference ref.npz --out out.jsonl
"""

from __future__ import annotations

import argparse
import json
import time

import deepxde as dde
import numpy as np


def pde(x, y):
    dy_x = dde.grad.jacobian(y, x, i=0, j=0)
    dy_t = dde.grad.jacobian(y, x, i=0, j=1)
    dy_xx = dde.grad.hessian(y, x, i=0, j=0)
    return dy_t + y * dy_x - 0.01 / np.pi * dy_xx


def example_model() -> dde.Model:
    geomtime = dde.geometry.GeometryXTime(dde.geometry.Interval(-1, 1), dde.geometry.TimeDomain(0, 0.99))
    bc = dde.icbc.DirichletBC(geomtime, lambda x: 0, lambda _, on_boundary: on_boundary)
    ic = dde.icbc.IC(geomtime, lambda x: -np.sin(np.pi * x[:, 0:1]), lambda _, on_initial: on_initial)
    data = dde.data.TimePDE(geomtime, pde, [bc, ic], num_domain=2540, num_boundary=80, num_initial=160)
    net = dde.nn.FNN([2] + [20] * 3 + [1], "tanh", "Glorot normal")
    return dde.Model(data, net)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", required=True, help=".npz with points (N, 2) and values (N, 1)")
    parser.add_argument("--out", required=True, help="JSON lines, one per finished phase")
    parser.add_argument("--adam-iterations", type=int, default=15_000)
    args = parser.parse_args()
    reference = np.load(args.reference)
    points, values = reference["points"], reference["values"]

    def record(phase: str, iterations: int) -> None:
        error = float(dde.metrics.l2_relative_error(values, model.predict(points)))
        line = {
            "phase": phase,
            "elapsed_s": time.perf_counter() - started,
            "rel_l2": error,
            "iterations": int(iterations),
        }
        with open(args.out, "a") as out:
            out.write(json.dumps(line) + "\n")
        print(line, flush=True)

    dde.config.set_random_seed(1234)
    model = example_model()
    started = time.perf_counter()
    model.compile("adam", lr=1e-3)
    model.train(iterations=args.adam_iterations, display_every=5000)
    record("Adam", model.train_state.step)
    model.compile("L-BFGS")
    model.train(display_every=5000)
    record("L-BFGS", model.train_state.step)


if __name__ == "__main__":
    main()
