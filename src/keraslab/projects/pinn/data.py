"""PINN points: collocation points in the problem's domain, condition points and the reference solution.

Nothing is read from disk: the points are sampled (``data.options.sampler``) and the reference is computed
(``problems``). The splits hold collocation points as ``x_train`` (targets: residual 0), nothing as
validation, and the reference grid as ``x_test``/``y_test``; ``info.extra`` holds the condition points.

``data.options`` keys: ``problem``, ``problem_options`` (the problem's own settings), ``collocation``,
``sampler``, ``resample_every`` (steps; 0 keeps the points), ``lbfgs_resample`` (``none``, ``fresh`` or
``residual``: new collocation points for each L-BFGS epoch after the first, residual-weighted from
``candidates`` draws),
``steps_per_epoch``, ``points`` (condition -> count, overriding the problem's defaults) and ``noise``
(relative noise on observations).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import Field, model_validator

from keraslab.config import Strict
from keraslab.data.splits import DataInfo, Splits
from keraslab.projects.pinn.problems import make_problem
from keraslab.projects.pinn.sampling import Sampler, sample

if TYPE_CHECKING:
    from keraslab.config import DataSpec
    from keraslab.projects.pinn.problems import Problem


class Options(Strict):
    """``[data.options]`` of the PINN projects."""

    problem: str = "burgers"
    problem_options: dict[str, Any] = Field(default_factory=dict)
    collocation: int = Field(10_000, ge=1)
    sampler: Sampler = "lhs"
    resample_every: int = Field(0, ge=0, description="draw new collocation points every N steps; 0: never")
    lbfgs_resample: Literal["none", "fresh", "residual"] = Field(
        "none", description="points of L-BFGS epochs after the first: the initial ones, fresh draws, residual-weighted"
    )
    candidates: int = Field(100_000, ge=1, description="points drawn to pick the residual-weighted ones from")
    steps_per_epoch: int = Field(100, ge=1)
    points: dict[str, int] = Field(default_factory=dict, description="condition -> number of points")
    noise: float = Field(0.0, ge=0.0, description="observation noise, relative to the solution's std")

    @model_validator(mode="after")
    def _known_problem(self) -> Options:
        problem = make_problem(self.problem, self.problem_options)  # a bad name or option fails at load time
        names = [c.name for c in problem.conditions]
        if unknown := sorted(set(self.points) - set(names)):
            raise ValueError(f"points names {unknown}: problem {self.problem!r} has {', '.join(names)}")
        if bad := {name: n for name, n in self.points.items() if n < 1}:
            raise ValueError(f"points {bad}: expected at least 1 point per condition")
        return self


def load(spec: DataSpec, data_dir: Path | None, seed: int) -> Splits:
    """Sampled training points and the reference grid of the configured problem (``data_dir`` is unused)."""
    opts = Options.model_validate(spec.options)
    problem = make_problem(opts.problem, opts.problem_options)
    rng = np.random.default_rng(seed)
    x_train = collocation(problem, opts, rng)
    conditions = condition_points(problem, opts, rng)
    reference = problem.reference()
    d = len(problem.inputs)
    return Splits(
        x_train=x_train,
        y_train=np.zeros((len(x_train), 1)),
        x_val=np.zeros((0, d)),
        y_val=np.zeros((0, 1)),
        x_test=reference.points,
        y_test=reference.values,
        info=DataInfo(
            source=f"pinn:{opts.problem}",
            model_params={"problem": opts.problem, "problem_options": opts.problem_options},
            sizes={"collocation": len(x_train), **{k: len(v[0]) for k, v in conditions.items()}},
            extra={"problem": problem, "conditions": conditions, "axes": reference.axes, "options": opts},
        ),
    )


def collocation(problem: Problem, opts: Options, rng: np.random.Generator) -> np.ndarray:
    return sample(np.array(problem.lower), np.array(problem.upper), opts.collocation, opts.sampler, rng)


def condition_points(
    problem: Problem, opts: Options, rng: np.random.Generator
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Condition name -> (points, values); observations (``data``) get Gaussian noise of ``opts.noise`` × std."""

    def draw(lower: np.ndarray, upper: np.ndarray, n: int) -> np.ndarray:
        return sample(lower, upper, n, opts.sampler, rng)

    out = {}
    for condition in problem.conditions:
        n = opts.points.get(condition.name, condition.default_points)
        points, values = problem.condition_data(condition, n, draw)
        if condition.name == "data" and opts.noise:
            values = values + opts.noise * values.std() * rng.standard_normal(values.shape)
        out[condition.name] = (points, values)
    return out
