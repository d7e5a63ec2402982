"""Keras layers of the transformer language model, with a key/value cache for decoding.

``TransformerLM.decode`` runs the same layers on new tokens against a fixed-size cache of past keys/values, so
generation never recomputes the prefix (see ``decoding``). Importing this module imports Keras.
"""

from __future__ import annotations

import math
from typing import Any

import keras
import numpy as np
from keras import ops

INIT_STD = 0.02  # GPT-2 / nanoGPT initialisation
NEG_INF = -1e9


def sinusoidal_table(length: int, width: int) -> np.ndarray:
    """PE[p, 2i] = sin(p / 10000^(2i/d)), PE[p, 2i+1] = cos(p / 10000^(2i/d)), float32 of shape (length, width)."""
    positions = np.arange(length, dtype=np.float64)[:, None]
    rates = 1.0 / 10000.0 ** (np.arange(0, width, 2, dtype=np.float64) / width)
    table = np.zeros((length, width))
    table[:, 0::2] = np.sin(positions * rates)
    table[:, 1::2] = np.cos(positions * rates[: width // 2])
    return table.astype(np.float32)


def dense(units: int, name: str, std: float = INIT_STD, **kwargs: Any) -> keras.layers.Dense:
    return keras.layers.Dense(
        units, kernel_initializer=keras.initializers.RandomNormal(stddev=std), name=name, **kwargs
    )


@keras.saving.register_keras_serializable(package="keraslab")
class CausalSelfAttention(keras.layers.Layer):
    """Multi-head softmax(QKᵀ/√d_k)V where query i sees keys 0..i only; ``attend`` takes an optional cache."""

    def __init__(self, width: int, heads: int, dropout: float, proj_std: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.width, self.heads, self.dropout, self.proj_std = width, heads, dropout, proj_std
        self.head_dim = width // heads
        self.qkv = dense(3 * width, "qkv")
        self.out = dense(width, "out", proj_std)
        self.attn_drop = keras.layers.Dropout(dropout)
        self.out_drop = keras.layers.Dropout(dropout)

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        self.qkv.build(input_shape)
        self.out.build((*input_shape[:-1], self.width))

    def split_heads(self, x: Any) -> Any:  # (B, T, width) -> (B, heads, T, head_dim)
        b, t = ops.shape(x)[0], ops.shape(x)[1]
        return ops.transpose(ops.reshape(x, (b, t, self.heads, self.head_dim)), (0, 2, 1, 3))

    def attend(self, x: Any, cache: Any = None, start: Any = 0, index: int = 0, training: bool | None = None) -> Any:
        """Attention output for ``x`` (tokens at positions start..start+T-1) and the updated cache.

        ``cache``: (layers, 2, B, heads, L, head_dim) keys/values of earlier positions, or None (no cache); this
        layer's slot is ``cache[index]``, written in place (one dynamic-update-slice, no copy of the other layers).
        """
        q, k, v = (self.split_heads(part) for part in ops.split(self.qkv(x), 3, axis=-1))
        t = ops.shape(x)[1]
        if cache is not None:
            cache = ops.slice_update(cache, (index, 0, 0, 0, start, 0), ops.stack([k, v])[None])
            k, v = cache[index, 0], cache[index, 1]
        query_pos = start + ops.arange(t)
        key_pos = ops.arange(ops.shape(k)[2])
        visible = key_pos[None, :] <= query_pos[:, None]  # causal mask, also hides unwritten cache slots
        scores = ops.matmul(q, ops.transpose(k, (0, 1, 3, 2))) / math.sqrt(self.head_dim)
        weights = ops.softmax(ops.where(visible, scores, NEG_INF), axis=-1)
        heads = ops.matmul(self.attn_drop(weights, training=training), v)
        merged = ops.reshape(ops.transpose(heads, (0, 2, 1, 3)), (ops.shape(x)[0], t, self.width))
        return self.out_drop(self.out(merged), training=training), cache

    def call(self, x: Any, training: bool | None = None) -> Any:
        return self.attend(x, training=training)[0]

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "width": self.width,
            "heads": self.heads,
            "dropout": self.dropout,
            "proj_std": self.proj_std,
        }


@keras.saving.register_keras_serializable(package="keraslab")
class Block(keras.layers.Layer):
    """Pre-LN block: Y = X + MHSA(LN(X)), X' = Y + MLP(LN(Y)), MLP = Dense(GELU) -> Dense -> dropout."""

    def __init__(self, width: int, heads: int, mlp_ratio: int, dropout: float, proj_std: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.width, self.heads, self.mlp_ratio = width, heads, mlp_ratio
        self.dropout, self.proj_std = dropout, proj_std
        self.ln1 = keras.layers.LayerNormalization(epsilon=1e-5, name="ln1")
        self.attention = CausalSelfAttention(width, heads, dropout, proj_std, name="attention")
        self.ln2 = keras.layers.LayerNormalization(epsilon=1e-5, name="ln2")
        self.hidden = dense(mlp_ratio * width, "mlp_hidden", activation="gelu")
        self.project = dense(width, "mlp_out", proj_std)
        self.mlp_drop = keras.layers.Dropout(dropout)

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        for layer in (self.ln1, self.attention, self.ln2, self.hidden):
            layer.build(input_shape)
        self.project.build((*input_shape[:-1], self.mlp_ratio * self.width))

    def step(self, x: Any, cache: Any = None, start: Any = 0, index: int = 0, training: bool | None = None) -> Any:
        attended, cache = self.attention.attend(self.ln1(x), cache, start, index, training)
        y = x + attended
        return y + self.mlp_drop(self.project(self.hidden(self.ln2(y))), training=training), cache

    def call(self, x: Any, training: bool | None = None) -> Any:
        return self.step(x, training=training)[0]

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "width": self.width,
            "heads": self.heads,
            "mlp_ratio": self.mlp_ratio,
            "dropout": self.dropout,
            "proj_std": self.proj_std,
        }


@keras.saving.register_keras_serializable(package="keraslab")
class TransformerLM(keras.Model):
    """Token ids (B, T) -> next-token logits (B, T, vocab); ``decode`` is the cached form of ``call``."""

    ARCHITECTURE = ("vocab_size", "context", "layers", "heads", "width", "mlp_ratio", "dropout", "positions",
                    "tie_weights")  # fmt: skip

    def __init__(
        self,
        vocab_size: int,
        context: int,
        layers: int,
        heads: int,
        width: int,
        mlp_ratio: int,
        dropout: float,
        positions: str,
        tie_weights: bool,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.vocab_size, self.context, self.n_layers, self.heads, self.width = vocab_size, context, layers, heads, width
        self.mlp_ratio, self.dropout, self.positions, self.tie_weights = mlp_ratio, dropout, positions, tie_weights
        init = keras.initializers.RandomNormal(stddev=INIT_STD)
        self.embedding = keras.layers.Embedding(vocab_size, width, embeddings_initializer=init, name="tokens")
        if positions == "learned":
            self.position_table = keras.layers.Embedding(context, width, embeddings_initializer=init, name="pos")
        else:
            self.position_table = None
            self.sinusoid = ops.convert_to_tensor(sinusoidal_table(context, width))
        self.embed_drop = keras.layers.Dropout(dropout)
        proj_std = INIT_STD / math.sqrt(2 * layers)  # residual projections scaled as in GPT-2
        self.blocks = [Block(width, heads, mlp_ratio, dropout, proj_std, name=f"block_{i}") for i in range(layers)]
        self.final_norm = keras.layers.LayerNormalization(epsilon=1e-5, name="final_norm")
        self.head = None if tie_weights else dense(vocab_size, "head", use_bias=False)

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        self.embedding.build(input_shape)
        if self.position_table is not None:
            self.position_table.build((None,))
        hidden = (*input_shape, self.width)
        for layer in (*self.blocks, self.final_norm):
            layer.build(hidden)
        if self.head is not None:
            self.head.build(hidden)
        self.built = True

    def position_encoding(self, positions: Any) -> Any:
        if self.position_table is not None:
            return self.position_table(positions)
        return ops.take(self.sinusoid, positions, axis=0)

    def decode(self, tokens: Any, cache: Any = None, start: Any = 0, training: bool | None = None) -> Any:
        """Logits for ``tokens`` at positions start.. and the cache (layers, 2, B, heads, L, head_dim) or None."""
        t = ops.shape(tokens)[1]
        x = self.embedding(tokens) + self.position_encoding(start + ops.arange(t))[None]
        x = self.embed_drop(x, training=training)
        for i, block in enumerate(self.blocks):
            x, cache = block.step(x, cache, start, i, training)
        x = self.final_norm(x)
        logits = self.head(x) if self.head is not None else ops.matmul(x, ops.transpose(self.embedding.embeddings))
        return logits, cache

    def call(self, tokens: Any, training: bool | None = None) -> Any:
        return self.decode(tokens, training=training)[0]

    def empty_cache(self, batch: int) -> Any:
        head_dim = self.width // self.heads
        return ops.zeros((self.n_layers, 2, batch, self.heads, self.context, head_dim))

    def get_config(self) -> dict[str, Any]:
        values = {**vars(self), "layers": self.n_layers}
        return {**super().get_config(), **{key: values[key] for key in self.ARCHITECTURE}}
