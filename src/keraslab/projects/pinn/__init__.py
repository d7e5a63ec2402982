"""Physics-informed neural networks: Burgers (forward and inverse), the heat equation and a damped oscillator.

What it teaches: a network as the solution of a PDE, residuals by automatic differentiation, boundary and initial
conditions as losses, Adam then L-BFGS, and identifying a physical parameter from data. ``problems`` (and one
module per problem) describe the physics apart from the network (``builder``, ``model``) and the optimisers
(``lbfgs``, ``callbacks``); ``data`` samples points, ``task`` trains and plots the field, ``wrapper`` serves it.
"""

from keraslab.registry import Components

COMPONENTS = Components(
    datasets={"pinn": f"{__name__}.data"},
    builders={"pinn_mlp": f"{__name__}.builder"},
    tasks={"pinn": f"{__name__}.task"},
    wrappers={"pinn": f"{__name__}.wrapper"},
)
