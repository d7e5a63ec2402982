"""Schedules that follow the run's length: whatever ``--epochs`` or a tuning trial gives ``fit``, they read it from
``fit`` itself (``self.params["epochs"]`` and ``["steps"]``) when training begins, never from a copied number."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import keras


def polish_epochs(epochs: int, fraction: float) -> int:
    """How many of ``epochs`` a ``fraction`` is: rounded, at least one when the fraction is positive."""
    return 0 if fraction <= 0 else min(epochs, max(1, round(fraction * epochs)))


def linear_decay_factor(epoch: int, epochs: int, decay_start: float) -> float:
    """The learning-rate factor of (0-based) ``epoch``: 1 for the first ``decay_start × epochs`` epochs, then
    falling linearly (the CycleGAN paper's rule: the last epoch trains at 1 / (decaying epochs + 1))."""
    start = math.floor(decay_start * epochs)
    return 1.0 - max(0, epoch + 1 - start) / (epochs - start + 1)


def warmup_cosine(step: int, total_steps: int, peak: float, warmup_steps: int, min_ratio: float) -> float:
    """Linear warmup from 0 to ``peak`` over ``warmup_steps``, then cosine decay to ``peak × min_ratio`` at
    ``total_steps`` (Keras's ``CosineDecay`` with a warmup, its decay spanning the rest of the run)."""
    if step < warmup_steps:
        return peak * step / warmup_steps
    progress = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
    return peak * (min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * progress)))


class LinearDecay(keras.callbacks.Callback):
    """The learning rate of every optimizer named in ``optimizers`` (attributes of the model) stays at ``rate`` for
    ``decay_start`` of this fit's epochs, then falls linearly towards zero (per epoch)."""

    def __init__(self, rate: float, decay_start: float, optimizers: Sequence[str] = ("optimizer",)) -> None:
        super().__init__()
        self.rate, self.decay_start, self.optimizers = rate, decay_start, optimizers

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        rate = self.rate * linear_decay_factor(epoch, self.params["epochs"], self.decay_start)
        for name in self.optimizers:
            getattr(self.model, name).learning_rate.assign(rate)


class WarmupCosine(keras.callbacks.Callback):
    """Sets the learning rate before every executed batch from ``warmup_cosine``, its decay ending at this fit's
    last step (epochs × steps per epoch). With ``steps_per_execution`` N it changes every N steps."""

    def __init__(self, peak: float, warmup_steps: int, min_ratio: float) -> None:
        super().__init__()
        self.peak, self.warmup_steps, self.min_ratio = peak, warmup_steps, min_ratio

    def on_train_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        step = int(self.model.optimizer.iterations.numpy())
        total = self.params["epochs"] * self.params["steps"]
        rate = warmup_cosine(step, total, self.peak, self.warmup_steps, self.min_ratio)
        self.model.optimizer.learning_rate.assign(rate)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        """The epoch's last rate joins its logs (as Keras's LearningRateScheduler does), so it is checkpointed and
        logged with the epoch's other metrics: once, also when a killed epoch is run again."""
        if logs is not None:
            logs["learning_rate"] = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
