"""AirCalc: a handwritten arithmetic expression (trace or image) -> symbols -> CNN -> exact value.

Modules, one job each: ``symbols`` (the classes), ``strokes`` (operator stroke generator), ``raster``
(the one rasteriser, shared by generated symbols and user traces), ``segment`` (strokes/components ->
symbols), ``normalise`` (a symbol -> a 28×28 MNIST-like image at the expression's scale), ``parser``
(exact grammar over ``fractions.Fraction``), ``beam`` (most probable parseable reading), ``pipeline``
(all of it), ``server`` (the canvas page) and ``commands`` (the CLI); ``data`` (digits from MNIST, operators),
``task`` (training and per-class evaluation) and ``wrapper`` (serving).

What it teaches: a CNN used inside a larger program, segmentation and normalisation to the training
distribution, and decoding under a grammar.
"""

from keraslab.registry import Components

COMPONENTS = Components(
    datasets={"aircalc": f"{__name__}.data"},
    tasks={"aircalc": f"{__name__}.task"},
    wrappers={"aircalc": f"{__name__}.wrapper"},
    commands=(f"{__name__}.commands",),
)
