"""AirCalc: a handwritten arithmetic expression (trace or image) -> symbols -> CNN -> exact value.

Modules, one job each: ``symbols`` (the classes), ``strokes`` (operator stroke generator), ``raster``
(the one rasteriser, shared by generated symbols and user traces), ``segment`` (strokes/components ->
symbols), ``normalise`` (a symbol -> a 28×28 MNIST-like image at the expression's scale), ``parser``
(exact grammar over ``fractions.Fraction``), ``beam`` (most probable parseable reading), ``pipeline``
(all of it), ``server`` (the canvas page) and ``commands`` (the CLI).
"""
