"""Physics-informed neural networks: problems (domain + residual + conditions), kept apart from the network
(``builder``) and the optimisers (Adam in ``fit``, L-BFGS polishing in ``pinn.lbfgs``).

This package imports no TensorFlow at import time: the problems are NumPy and plain arithmetic on whatever
tensors the model hands their residual.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from keraslab.config import ConfigError
from keraslab.projects.pinn.burgers import Burgers, BurgersInverse
from keraslab.projects.pinn.heat import Heat
from keraslab.projects.pinn.oscillator import Oscillator
from keraslab.projects.pinn.problem import Condition, Problem, Reference

PROBLEMS: dict[str, type[Problem]] = {cls.name: cls for cls in (Burgers, BurgersInverse, Heat, Oscillator)}

__all__ = ["PROBLEMS", "Condition", "Problem", "Reference", "make_problem"]


def make_problem(name: str, options: dict[str, Any] | None = None) -> Problem:
    """Problem ``name`` with ``options`` (its dataclass fields); bad names or keys raise ``ConfigError``."""
    if name not in PROBLEMS:
        raise ConfigError(f"PINN problem {name!r} is not known; known: {', '.join(sorted(PROBLEMS))}")
    cls = PROBLEMS[name]
    allowed = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(options or {}) - set(allowed))
    if unknown:
        raise ConfigError(
            f"problem_options {unknown} are not options of problem {name!r}; allowed: {', '.join(allowed) or '(none)'}"
        )
    try:
        return cls(**(options or {}))
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"problem {name!r} with options {options}: {exc}") from None
