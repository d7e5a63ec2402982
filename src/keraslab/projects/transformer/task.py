"""Language modelling: random context windows for training, loss in nats / bits per character / perplexity.

Training batches are ``steps_per_epoch`` (``data.options``) batches of windows of ``context + 1`` tokens at
random offsets of the training stream, drawn anew each epoch; inputs are a window's first ``context`` tokens,
targets its last. Validation and test cover their streams in consecutive windows. Each epoch logs the learning
rate and a text sample; the served model carries the tokenizer (``wrapper``) for ``keraslab generate``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from keraslab.projects.transformer.data import Options
from keraslab.projects.transformer.decoding import DecodingSettings, continue_ids
from keraslab.tasks import Evaluation

if TYPE_CHECKING:
    import keras
    import tensorflow as tf

    from keraslab.config import ProjectSpec
    from keraslab.data import Splits
    from keraslab.projects.transformer.decoding import Compiled
    from keraslab.projects.transformer.tokenizers import Tokenizer
    from keraslab.tracking.runs import RunTracker

SAMPLE = DecodingSettings(strategy="sample", max_new_tokens=300, temperature=0.8, seed=0)
PROMPT_TOKENS = 32  # the samples continue the first tokens of the validation text


def datasets(
    splits: Splits, spec: ProjectSpec, global_batch: int
) -> tuple[tf.data.Dataset, tf.data.Dataset | None, tf.data.Dataset]:
    """Random training windows (new offsets every epoch); validation and test in consecutive windows."""
    import tensorflow as tf

    context = spec.builder_params()["context"]
    opts = Options.model_validate(spec.data.options)
    stream = tf.constant(splits.x_train)
    n_offsets = len(splits.x_train) - context
    if n_offsets < 1:
        raise ValueError(f"the training text has {len(splits.x_train)} tokens, fewer than context + 1 = {context + 1}")

    def windows(draws: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        starts = tf.math.floormod(draws, n_offsets)
        batch = tf.gather(stream, starts[:, None] + tf.range(context + 1, dtype=tf.int64)[None])
        return batch[:, :-1], batch[:, 1:]

    train = (
        tf.data.Dataset.random(seed=spec.training.seed, rerandomize_each_iteration=True)
        .take(opts.steps_per_epoch * global_batch)
        .batch(global_batch, drop_remainder=True)
        .map(windows, num_parallel_calls=tf.data.AUTOTUNE)
        .prefetch(tf.data.AUTOTUNE)
    )
    val = eval_dataset(splits.x_val, context, global_batch, opts.eval_windows)
    return train, val, eval_dataset(splits.x_test, context, global_batch, opts.eval_windows)


def consecutive_windows(stream: np.ndarray, context: int, limit: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(inputs, targets)`` of shape (n, context) covering ``stream`` without overlap (targets shifted by one)."""
    n = (len(stream) - 1) // context
    n = n if limit is None else min(n, limit)
    return stream[: n * context].reshape(n, context), stream[1 : n * context + 1].reshape(n, context)


def eval_dataset(stream: np.ndarray, context: int, batch: int, limit: int | None) -> tf.data.Dataset | None:
    import tensorflow as tf

    inputs, targets = consecutive_windows(stream, context, limit)
    if not len(inputs):
        return None
    return tf.data.Dataset.from_tensor_slices((inputs, targets)).batch(batch).cache().prefetch(tf.data.AUTOTUNE)


def callbacks(spec: ProjectSpec, splits: Splits, tracker: RunTracker) -> list[keras.callbacks.Callback]:
    """The warmup-cosine learning rate over the run (it adds the rate to each epoch's logs), and a text sample
    after every epoch."""
    import keras

    from keraslab.projects.transformer.decoding import Compiled
    from keraslab.training.schedules import WarmupCosine

    params = spec.builder_params()
    schedule = WarmupCosine(params["learning_rate"], params["warmup_steps"], params["min_lr_ratio"])

    tokenizer, prompt = splits.info.extra["tokenizer"], sample_prompt(splits)

    class EpochLogger(keras.callbacks.Callback):
        def on_train_begin(self, logs: dict | None = None) -> None:
            self.compiled = Compiled(self.model)

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            tracker.log_text(sample(self.compiled, tokenizer, prompt, SAMPLE), f"samples/epoch_{epoch + 1:03d}.txt")

    return [schedule, EpochLogger()]


def sample_prompt(splits: Splits) -> np.ndarray:
    """The first tokens of the validation text (of the training text without validation)."""
    return (splits.x_val if len(splits.x_val) else splits.x_train)[:PROMPT_TOKENS]


def sample(compiled: Compiled, tokenizer: Tokenizer, prompt: np.ndarray, settings: DecodingSettings) -> str:
    """The prompt and its continuation, as text."""
    return tokenizer.decode(np.concatenate([prompt, continue_ids(compiled, prompt, settings)]))


def evaluate(model: keras.Model, test_ds: tf.data.Dataset | None, splits: Splits) -> Evaluation:
    """Best validation and test loss (nats per token), bits per character, perplexity; the tokenizer; samples.

    Both held-out streams are scored whole (``data.options.eval_windows`` only caps the per-epoch validation).
    """
    from keraslab.projects.transformer.decoding import Compiled

    tokenizer = splits.info.extra["tokenizer"]
    metrics: dict[str, float] = {}
    for name, stream in (("val", splits.x_val), ("test", splits.x_test)):
        inputs, targets = consecutive_windows(stream, model.context)
        if not len(inputs):
            continue
        loss = float(model.evaluate(inputs, targets, batch_size=64, verbose=0, return_dict=True)["loss"])
        characters = len(tokenizer.decode(targets.ravel()))
        metrics["best_val_loss" if name == "val" else "test_loss"] = loss
        metrics[f"{name}_bits_per_char"] = loss * targets.size / characters / math.log(2)
        metrics[f"{name}_perplexity"] = math.exp(loss)
    compiled, prompt = Compiled(model), sample_prompt(splits)
    samples = [
        f"--- {settings.strategy} ---\n{sample(compiled, tokenizer, prompt, settings)}\n"
        for settings in (
            SAMPLE.model_copy(update={"strategy": "greedy"}),
            SAMPLE,
            SAMPLE.model_copy(update={"strategy": "beam", "max_new_tokens": 100}),
        )
    ]
    return Evaluation(metrics=metrics, texts={"samples/final.txt": "\n".join(samples)})
