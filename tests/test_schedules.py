"""Schedules follow the epochs fit runs (``--epochs``, a trial's), not numbers copied into the project file."""

from __future__ import annotations

import itertools
import math

import keras
import numpy as np
import pytest

from keraslab.training.schedules import LinearDecay, WarmupCosine, polish_epochs, warmup_cosine


def test_warmup_cosine_rises_then_ends_at_its_floor() -> None:
    rates = [warmup_cosine(step, 100, 1.0, 10, 0.1) for step in range(101)]
    assert rates[0] == 0 and rates[5] == pytest.approx(0.5) and rates[10] == pytest.approx(1.0)
    assert all(a >= b for a, b in itertools.pairwise(rates[10:]))
    assert rates[100] == pytest.approx(0.1) and rates[55] == pytest.approx(
        0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi / 2))
    )


@pytest.mark.parametrize("fraction", [0.0, 0.1, 0.5, 0.99])
def test_polish_epochs_is_a_rounded_fraction_and_never_zero_when_asked(fraction: float) -> None:
    for epochs in (1, 3, 20, 23):
        n = polish_epochs(epochs, fraction)
        assert (n == 0) if fraction == 0 else (1 <= n <= epochs and abs(n - fraction * epochs) <= 0.5 + (n == 1))


def tiny_model() -> keras.Model:
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.5), loss="mse")
    return model


@pytest.mark.parametrize("epochs", [2, 5])
def test_warmup_cosine_callback_spans_whatever_epochs_fit_runs(epochs: int) -> None:
    x, y = np.zeros((40, 2), np.float32), np.zeros((40, 1), np.float32)
    model, seen = tiny_model(), []
    record = keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: seen.append(float(model.optimizer.learning_rate.numpy()))
    )
    history = model.fit(x, y, batch_size=10, epochs=epochs, verbose=0, callbacks=[WarmupCosine(1.0, 2, 0.1), record])
    assert history.history["learning_rate"] == pytest.approx(seen[3::4])  # each epoch's last rate, in its logs
    total = 4 * epochs
    assert seen[1] == pytest.approx(0.5) and max(seen) == pytest.approx(1.0)
    assert seen[-1] == pytest.approx(warmup_cosine(total - 1, total, 1.0, 2, 0.1), rel=1e-6) and seen[-1] < 0.2


@pytest.mark.parametrize("epochs", [4, 10])
def test_linear_decay_starts_at_its_fraction_of_fit_epochs(epochs: int) -> None:
    x, y = np.zeros((8, 2), np.float32), np.zeros((8, 1), np.float32)
    model, seen = tiny_model(), []
    record = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: seen.append(float(model.optimizer.learning_rate.numpy()))
    )
    model.fit(x, y, epochs=epochs, verbose=0, callbacks=[LinearDecay(1.0, 0.5), record])
    assert seen[: epochs // 2] == [1.0] * (epochs // 2) and 0 < seen[-1] < seen[epochs // 2] < 1.0
