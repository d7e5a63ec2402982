"""Decoding a trained ``TransformerLM``: greedy, temperature/top-k/top-p sampling and beam search.

Greedy decoding and sampling run as ONE compiled (XLA) ``tf.while_loop`` (``Compiled.run``): no Python per token.
Cached, each new token costs one step over a fixed-size key/value cache (layers, 2, batch, heads, context, head_dim)
updated in place; uncached, each token is a full forward pass over a fixed window of ``context`` tokens. Beam
search reorders its hypotheses in Python between compiled steps (``Session``). Up to ``context`` tokens the cached
and uncached paths give the same logits. Beyond it the uncached path slides its window by one token per step
(like nanoGPT), while the cached one restarts its cache from the newest half window once it is full.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    import keras

    from keraslab.projects.transformer.tokenizers import Tokenizer


LOOP_BUFFER = 64  # the compiled loop's output buffer: this many tokens, else the next power of two


class DecodingSettings(BaseModel):
    """How to continue a prompt (validated: the CLI, serving and the training samples share it)."""

    model_config = ConfigDict(extra="forbid")

    strategy: Literal["greedy", "sample", "beam"] = "sample"
    max_new_tokens: int = Field(200, ge=1, le=100_000)
    temperature: float = Field(0.8, gt=0, description="sample: logits / temperature")
    top_k: int | None = Field(None, ge=1, description="sample: keep the k most likely tokens")
    top_p: float | None = Field(None, gt=0, le=1, description="sample: keep the smallest set with mass >= p")
    beam_width: int = Field(4, ge=1, le=64)
    length_penalty: float = Field(0.6, ge=0, description="beam: score / ((5 + length) / 6) ** alpha")
    stop: str | None = Field(None, description="a token that ends the continuation (kept in the output)")
    seed: int | None = None
    cached: bool = Field(True, description="use the key/value cache")


class Compiled:
    """The model's compiled entry points: full forward, cache prefill, the one-token XLA step and the decode loop."""

    def __init__(self, model: keras.Model) -> None:
        import tensorflow as tf

        self.model, self.context = model, model.context
        tokens = [tf.TensorSpec((None, None), tf.int32)]  # any batch, any length: traced once
        self.last_logits = tf.function(lambda t: model(t, training=False)[:, -1], input_signature=tokens)
        self.prefill = tf.function(self._prefill, input_signature=tokens)
        self.step = tf.function(self._step, jit_compile=True, reduce_retracing=True)  # XLA: fixed shapes
        self.loop = tf.function(self._loop, jit_compile=True)  # one XLA program per (cached, buffer size)

    def run(self, prompt: np.ndarray, settings: DecodingSettings, stop_id: int | None) -> np.ndarray:
        """Greedy or sampled new token ids after ``prompt`` (1-D), all generated inside one compiled loop."""
        import tensorflow as tf

        window = np.zeros((1, self.context), dtype=np.int32)
        kept = prompt[-self.context :]
        window[0, : len(kept)] = kept
        size = max(LOOP_BUFFER, 1 << (settings.max_new_tokens - 1).bit_length())  # few shapes: few compilations
        seed = settings.seed if settings.seed is not None else np.random.default_rng().integers(2**31)
        vocab = self.model.vocab_size
        out, n = self.loop(
            tf.constant(window),
            tf.constant(len(kept), tf.int32),
            tf.zeros((size,), tf.int32),
            tf.constant(settings.max_new_tokens, tf.int32),
            tf.constant(settings.temperature, tf.float32),
            tf.constant(min(settings.top_k or vocab, vocab), tf.int32),
            tf.constant(settings.top_p if settings.top_p is not None else 1.0, tf.float32),
            tf.constant([seed % 2**31, 0], tf.int32),
            tf.constant(-1 if stop_id is None else stop_id, tf.int32),
            tf.constant(settings.strategy == "greedy"),
            settings.cached,
        )
        return out.numpy()[: int(n)]

    def _loop(
        self,
        window: Any,
        length: Any,
        out: Any,
        max_new: Any,
        temperature: Any,
        top_k: Any,
        top_p: Any,
        seed: Any,
        stop_id: Any,
        greedy: Any,
        cached: bool,
    ) -> tuple[Any, Any]:
        """``while i < max_new and the last token is not stop_id``: pick a token, append it, compute the next logits.

        ``window`` (1, context) holds the newest ``length`` tokens left-aligned (it slides once full); ``out`` the
        new tokens. Returns ``out`` and how many were written.
        """
        import tensorflow as tf

        model, context = self.model, self.context
        half = context // 2

        def prefill(tokens: Any) -> tuple[Any, Any]:
            return model.decode(tokens, model.empty_cache(1), 0, training=False)

        def last(logits: Any, cache: Any) -> tuple[Any, Any]:
            return logits[:, -1], cache

        def pick(logits: Any, i: Any) -> Any:
            return tf.cond(
                greedy,
                lambda: tf.argmax(logits, axis=-1, output_type=tf.int32),
                lambda: sample_in_graph(logits, temperature, top_k, top_p, seed + tf.stack([0, i])),
            )

        def body(i: Any, window: Any, length: Any, logits: Any, cache: Any, filled: Any, out: Any, _: Any) -> tuple:
            token = pick(logits, i)
            out = tf.tensor_scatter_nd_update(out, [[i]], token)
            window = tf.where(length == context, tf.roll(window, -1, axis=1), window)  # full: slide by one
            window = tf.tensor_scatter_nd_update(window, [[0, tf.minimum(length, context - 1)]], token)
            length = tf.minimum(length + 1, context)
            if cached:  # the cache full: restart it from the newest half window
                logits, cache, filled = tf.cond(
                    filled == context,
                    lambda: (*last(*prefill(window[:, context - half :])), tf.constant(half)),
                    lambda: (*last(*model.decode(token[:, None], cache, filled, training=False)), filled + 1),
                )
            else:
                logits = tf.gather(model(window, training=False), length - 1, axis=1)
            return i + 1, window, length, logits, cache, filled, out, token[0] == stop_id

        if cached:
            logits, cache = prefill(window)
        else:
            logits, cache = model(window, training=False), tf.zeros(())
        logits = tf.gather(logits, length - 1, axis=1)
        state = (tf.constant(0), window, length, logits, cache, length, out, tf.constant(False))
        state = tf.while_loop(lambda i, *rest: (i < max_new) & ~rest[-1], body, state)
        return state[6], state[0]

    def _prefill(self, tokens: Any) -> tuple[Any, Any]:
        from keras import ops

        logits, cache = self.model.decode(tokens, self.model.empty_cache(ops.shape(tokens)[0]), 0, training=False)
        return logits[:, -1], cache

    def _step(self, tokens: Any, cache: Any, start: Any) -> tuple[Any, Any]:
        logits, cache = self.model.decode(tokens, cache, start, training=False)
        return logits[:, -1], cache


@dataclass
class Session:
    """A batch of growing sequences and their next-token logits."""

    compiled: Compiled
    cached: bool = True
    tokens: np.ndarray | None = None  # (B, n)
    cache: Any = None
    filled: int = 0  # positions written in the cache

    def start(self, prompts: np.ndarray) -> np.ndarray:
        self.tokens = np.asarray(prompts, dtype=np.int32)
        return self._refill(self.tokens[:, -self.compiled.context :])

    def push(self, new: np.ndarray) -> np.ndarray:
        """Append one token per row; the logits (B, vocab) of the token after it."""
        new = np.asarray(new, dtype=np.int32)[:, None]
        self.tokens = np.concatenate([self.tokens, new], axis=1)
        if not self.cached:
            return self._numpy(self.compiled.last_logits(self.tokens[:, -self.compiled.context :]))
        if self.filled == self.compiled.context:
            return self._refill(self.tokens[:, -(self.compiled.context // 2) :])
        logits, self.cache = self.compiled.step(new, self.cache, np.int32(self.filled))
        self.filled += 1
        return self._numpy(logits)

    def reorder(self, rows: np.ndarray) -> None:
        """Keep rows ``rows`` (beam search), in that order."""
        self.tokens = self.tokens[rows]
        if self.cached:
            import tensorflow as tf

            self.cache = tf.gather(self.cache, rows, axis=2)

    def _refill(self, window: np.ndarray) -> np.ndarray:
        if not self.cached:
            return self._numpy(self.compiled.last_logits(window))
        logits, self.cache = self.compiled.prefill(window)
        self.filled = window.shape[1]
        return self._numpy(logits)

    @staticmethod
    def _numpy(logits: Any) -> np.ndarray:
        return np.asarray(logits, dtype=np.float64)


def log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def sample_in_graph(logits: Any, temperature: Any, top_k: Any, top_p: Any, seed: Any) -> Any:
    """One draw per row from softmax(logits / T), restricted to the top-k and then the top-p nucleus (in graph).

    The nucleus is the smallest set of most likely tokens whose probability reaches ``top_p``; ties at a cut-off
    are all kept. ``seed``: a stateless seed pair, so a given seed reproduces the same tokens.
    """
    import tensorflow as tf

    scaled = logits / temperature
    ranked = tf.sort(scaled, axis=-1, direction="DESCENDING")
    kth = tf.gather(ranked, top_k - 1, axis=-1)[:, None]
    ranked = tf.where(ranked < kth, -np.inf, ranked)
    probs = tf.nn.softmax(ranked, axis=-1)
    in_nucleus = tf.cumsum(probs, axis=-1) - probs < top_p  # the mass before this token is still short of p
    cutoff = tf.maximum(tf.reduce_min(tf.where(in_nucleus, ranked, np.inf), axis=-1, keepdims=True), kth)
    kept = tf.where(scaled < cutoff, -np.inf, scaled)
    return tf.random.stateless_categorical(kept, 1, seed, dtype=tf.int32)[:, 0]


def continue_ids(
    compiled: Compiled, prompt: np.ndarray, settings: DecodingSettings, stop_id: int | None = None
) -> np.ndarray:
    """New token ids after ``prompt`` (1-D) by ``settings.strategy``; ends early after ``stop_id``."""
    if len(prompt) == 0:
        raise ValueError("the prompt is empty: give at least one token")
    if settings.strategy == "beam":
        return beam_search(Session(compiled, settings.cached), np.asarray(prompt), settings, stop_id)
    return compiled.run(np.asarray(prompt), settings, stop_id)


def beam_search(session: Session, prompt: np.ndarray, settings: DecodingSettings, stop_id: int | None) -> np.ndarray:
    """Keep the ``beam_width`` best continuations by length-normalised log-probability.

    A beam that emitted ``stop_id`` is frozen (its score and length no longer change) and competes on.
    """
    width = settings.beam_width
    logits = session.start(np.repeat(prompt[None], width, axis=0))
    scores = np.full(width, -np.inf)
    scores[0] = 0.0  # all rows start identical: expand one
    lengths = np.zeros(width, dtype=np.int64)
    done = np.zeros(width, dtype=bool)
    for step in range(settings.max_new_tokens):
        logp = log_softmax(logits)
        logp[done] = -np.inf
        logp[done, stop_id if stop_id is not None else 0] = 0.0  # a frozen beam extends by nothing
        totals = scores[:, None] + logp
        new_lengths = lengths[:, None] + (~done)[:, None]
        normalised = totals / length_norm(new_lengths, settings.length_penalty)
        best = np.argsort(-normalised, axis=None, kind="stable")[:width]
        rows, tokens = np.divmod(best, logp.shape[1])
        scores, lengths = totals[rows, tokens], new_lengths[rows, 0]
        done = done[rows] | (tokens == stop_id)
        session.reorder(rows)
        if done.all() or step == settings.max_new_tokens - 1:
            session.tokens = np.concatenate([session.tokens, tokens[:, None]], axis=1)
            break
        logits = session.push(tokens)
    best_row = int(np.argmax(scores / length_norm(lengths, settings.length_penalty)))
    return session.tokens[best_row, len(prompt) : len(prompt) + lengths[best_row]]


def length_norm(lengths: np.ndarray, alpha: float) -> np.ndarray:
    """GNMT's length penalty ((5 + |Y|) / 6) ** alpha (1 when alpha = 0)."""
    return ((5.0 + lengths) / 6.0) ** alpha


def generate(
    model: keras.Model | Compiled, tokenizer: Tokenizer, prompt: str, settings: DecodingSettings | None = None
) -> str:
    """The continuation of ``prompt`` (text); symbols outside the vocabulary raise ``UnknownSymbols``."""
    settings = settings or DecodingSettings()
    compiled = model if isinstance(model, Compiled) else Compiled(model)
    stop_id = None
    if settings.stop is not None:
        stop_ids = tokenizer.encode(settings.stop)
        if len(stop_ids) != 1:
            raise ValueError(f"stop = {settings.stop!r} must be exactly one token, it is {len(stop_ids)}")
        stop_id = int(stop_ids[0])
    return tokenizer.decode(continue_ids(compiled, tokenizer.encode(prompt), settings, stop_id))
