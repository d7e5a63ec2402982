"""Decoding a trained ``TransformerLM``: greedy, temperature/top-k/top-p sampling and beam search.

``Session`` keeps the running sequences and, when cached, a fixed-size key/value cache: each new token costs one
compiled (XLA) step over the cache instead of a pass over the whole prefix. Up to ``context`` tokens the cached
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

    from keraslab.transformer.tokenizers import Tokenizer


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
    """The model's compiled entry points: full forward, cache prefill and the one-token XLA step."""

    def __init__(self, model: keras.Model) -> None:
        import tensorflow as tf

        self.model, self.context = model, model.context
        tokens = [tf.TensorSpec((None, None), tf.int32)]  # any batch, any length: traced once
        self.last_logits = tf.function(lambda t: model(t, training=False)[:, -1], input_signature=tokens)
        self.prefill = tf.function(self._prefill, input_signature=tokens)
        self.step = tf.function(self._step, jit_compile=True, reduce_retracing=True)  # XLA: fixed shapes

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


def sample_token(logits: np.ndarray, settings: DecodingSettings, rng: np.random.Generator) -> int:
    """One draw from softmax(logits / T), restricted to the top-k and then the top-p nucleus."""
    order = np.argsort(-logits, kind="stable")
    if settings.top_k is not None:
        order = order[: settings.top_k]
    probs = np.exp(log_softmax(logits[order] / settings.temperature))
    if settings.top_p is not None:
        keep = int(np.searchsorted(np.cumsum(probs), settings.top_p) + 1)
        order, probs = order[:keep], probs[:keep]
    return int(rng.choice(order, p=probs / probs.sum()))


def continue_ids(
    compiled: Compiled, prompt: np.ndarray, settings: DecodingSettings, stop_id: int | None = None
) -> np.ndarray:
    """New token ids after ``prompt`` (1-D) by ``settings.strategy``; ends early after ``stop_id``."""
    if len(prompt) == 0:
        raise ValueError("the prompt is empty: give at least one token")
    session = Session(compiled, settings.cached)
    if settings.strategy == "beam":
        return beam_search(session, prompt, settings, stop_id)
    rng = np.random.default_rng(settings.seed)
    logits = session.start(prompt[None])[0]
    new: list[int] = []
    while len(new) < settings.max_new_tokens:
        token = int(np.argmax(logits)) if settings.strategy == "greedy" else sample_token(logits, settings, rng)
        new.append(token)
        if token == stop_id or len(new) == settings.max_new_tokens:
            break
        logits = session.push(np.array([token]))[0]
    return np.array(new, dtype=np.int32)


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
