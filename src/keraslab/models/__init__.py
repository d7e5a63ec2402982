"""Builders shared by several projects (``mlp``, ``cnn``, ``rnn``); a project's own builders live in its package.
Each is a module with ``Params`` (pydantic, no TensorFlow) and ``build(params) -> keras.Model``.

``build`` is the single definition of a network: ``train`` calls it with a project's defaults, the tuner's
HyperModel with sampled values, and ``serve`` loads what it produced.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import keras


def build(builder: str, params: Mapping[str, Any]) -> keras.Model:
    """Validate ``params`` with builder ``builder``'s ``Params`` and build the compiled model."""
    from keraslab import registry

    module = registry.module("builders", builder)
    return module.build(module.Params.model_validate(dict(params)).model_dump())
