"""PINN network: inputs scaled to [−1, 1] -> N × Dense(width, tanh/sin/gelu) -> u, inside a ``PinnModel``.

The problem (``problems``) is set by the data (``data.options.problem``); the builder attaches it, so the
compiled model's ``train_step`` knows its residual and conditions. ``lbfgs_*`` configure the L-BFGS polish that
``task`` runs over the last epochs (``training.epochs`` counts both phases).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from keraslab.models._blocks import Optimizer, make_optimizer

if TYPE_CHECKING:
    import keras


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")

    problem: str = Field("burgers", description="set by the data: a problem of keraslab.projects.pinn.problems")
    problem_options: dict[str, Any] = Field(default_factory=dict, description="set by the data")
    hidden_layers: int = Field(8, ge=1, le=20)
    units: int = Field(20, ge=1, le=1024)
    activation: Literal["tanh", "sin", "gelu"] = "tanh"
    initializer: Literal["glorot_normal", "glorot_uniform", "he_normal", "lecun_normal"] = "glorot_normal"
    dtype: Literal["float32", "float64"] = "float32"
    optimizer: Optimizer = "adam"
    learning_rate: float | None = Field(1e-3, gt=0, le=1, description="None: the optimizer's course default")
    loss_weights: dict[str, float] = Field(
        default_factory=dict, description="loss term (pde or a condition of the problem) -> weight >= 0 (default 1)"
    )
    lbfgs_iterations: int = Field(1000, ge=1, description="L-BFGS iterations per polishing epoch")


def build(params: Mapping[str, Any]) -> keras.Model:
    """The compiled ``PinnModel`` for ``params`` (a plain mapping of ``Params`` fields)."""
    import keras
    import numpy as np

    from keraslab.projects.pinn.model import PinnModel, sine
    from keraslab.projects.pinn.problems import make_problem

    problem = make_problem(params["problem"], params["problem_options"])
    lower, upper = np.array(problem.lower), np.array(problem.upper)
    dtype = params["dtype"]
    activation = sine if params["activation"] == "sin" else params["activation"]

    inputs = keras.Input(shape=(len(problem.inputs),), dtype=dtype, name="points")
    x = keras.layers.Rescaling(
        scale=(2.0 / (upper - lower)).tolist(), offset=(-(upper + lower) / (upper - lower)).tolist(), dtype=dtype
    )(inputs)
    for _ in range(params["hidden_layers"]):
        x = keras.layers.Dense(
            params["units"], activation=activation, kernel_initializer=params["initializer"], dtype=dtype
        )(x)
    outputs = keras.layers.Dense(1, kernel_initializer=params["initializer"], dtype=dtype, name="u")(x)
    network = keras.Model(inputs, outputs, name="network")

    model = PinnModel(network, params["problem"], params["problem_options"], params["loss_weights"], name="pinn")
    model.compile(optimizer=make_optimizer(params["optimizer"], params["learning_rate"]))
    return model
