"""Derivatives of a network with respect to its inputs, by nested ``tf.GradientTape``s."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import tensorflow as tf


@dataclass(frozen=True)
class Jet:
    """u (N, 1) at N points, its gradient (N, d) and the second derivatives along some axes."""

    u: tf.Tensor
    gradient: tf.Tensor
    second: dict[int, tf.Tensor]

    def d(self, axis: int) -> tf.Tensor:
        """∂u/∂(input ``axis``), shape (N, 1)."""
        return self.gradient[:, axis : axis + 1]

    def dd(self, axis: int) -> tf.Tensor:
        """∂²u/∂(input ``axis``)², shape (N, 1); only for the axes ``jet`` was asked for."""
        return self.second[axis]


def jet(fn: Callable[[tf.Tensor], tf.Tensor], points: tf.Tensor, second: Sequence[int] = ()) -> Jet:
    """u = fn(points) with first derivatives and the second derivatives along ``second``.

    Points are independent, so the gradient of Σu gives every point's ∂u/∂x_i, and the gradient of Σ ∂u/∂x_i
    along column i gives ∂²u/∂x_i². The slices are taken inside the outer tape so that it records them.
    """
    with tf.GradientTape(persistent=len(second) > 1) as outer:
        outer.watch(points)
        with tf.GradientTape() as inner:
            inner.watch(points)
            u = fn(points)
        gradient = inner.gradient(u, points)
        columns = {axis: gradient[:, axis] for axis in second}
    curvature = {axis: outer.gradient(col, points)[:, axis : axis + 1] for axis, col in columns.items()}
    return Jet(u, gradient, curvature)
