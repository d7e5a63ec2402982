"""The most probable reading that parses: a beam search over each symbol's top-k labels.

Prefixes are pruned with the parser itself: a prefix is kept only while the parser's first error is
at its very end (``ExpressionError.at_end``), i.e. while some continuation could still be valid. A complete
reading is weighted by a prior: ``LEADING_DOT`` per number written without its leading digit (``.5``), which
people rarely write and a misread symbol often makes (``1.5`` read as ``/.5``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from keraslab.projects.aircalc.parser import ExpressionError, check_syntax, leading_dots

Candidates = Sequence[tuple[str, float]]  # (label, probability), best first
LEADING_DOT = 0.05  # prior weight of a reading for each number that starts with its decimal point


def best_parseable(candidates: Sequence[Candidates], beam_width: int = 64) -> tuple[str, float] | None:
    """The parseable label sequence with the highest product of probabilities times its prior (and that score),
    or None."""
    beam: list[tuple[float, str]] = [(0.0, "")]
    for options in candidates:
        extended = [(score + math.log(max(p, 1e-12)), prefix + label) for score, prefix in beam for label, p in options]
        beam = sorted((item for item in extended if viable(item[1])), reverse=True)[:beam_width]
        if not beam:
            return None
    complete = [(score + math.log(LEADING_DOT) * leading_dots(text), text) for score, text in beam if parses(text)]
    if not complete:
        return None
    score, text = max(complete)
    return text, math.exp(score)


def viable(prefix: str) -> bool:
    try:
        check_syntax(prefix)
    except ExpressionError as exc:
        return exc.at_end
    return True


def parses(text: str) -> bool:
    try:
        check_syntax(text)
    except ExpressionError:
        return False
    return True
