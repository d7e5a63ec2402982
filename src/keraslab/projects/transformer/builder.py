"""Pre-LN causal transformer language model (layers in ``layers``), AdamW + warmup/cosine.

tokens -> embedding + positions (sinusoidal or learned) -> dropout -> N blocks -> LN -> logits over the vocabulary.
A block is Y = X + MHSA(LN(X)), X' = Y + MLP(LN(Y)) with causal softmax(QKᵀ/√d_k)V attention and a GELU MLP.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

if TYPE_CHECKING:
    import keras


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")

    vocab_size: int = Field(66, ge=2, description="from the tokenizer (set by the data)")
    context: int = Field(256, ge=2, description="tokens the model attends over (block size)")
    layers: int = Field(6, ge=1, le=48)
    heads: int = Field(6, ge=1)
    width: int = Field(384, ge=8, description="model dimension d_model; divisible by heads")
    mlp_ratio: int = Field(4, ge=1, description="MLP hidden width = mlp_ratio × width")
    dropout: float = Field(0.2, ge=0.0, lt=1.0)
    positions: Literal["sinusoidal", "learned"] = "learned"
    tie_weights: bool = Field(True, description="share the token embedding with the output projection")
    optimizer: Literal["adamw", "adam"] = "adamw"
    learning_rate: float = Field(1e-3, gt=0, le=1, description="peak learning rate after warmup")
    min_lr_ratio: float = Field(0.1, ge=0, le=1, description="final learning rate / peak (cosine decay)")
    warmup_steps: int = Field(100, ge=0)
    weight_decay: float = Field(0.1, ge=0, description="AdamW decay of matrices (not biases, norms)")
    beta_2: float = Field(0.99, gt=0, lt=1)
    clipnorm: float | None = Field(1.0, gt=0, description="global gradient-norm clipping; None: off")

    @model_validator(mode="after")
    def _heads_divide_width(self) -> Params:
        if self.width % self.heads:
            raise ValueError(f"width = {self.width} is not divisible by heads = {self.heads}")
        return self


def make_optimizer(params: Mapping[str, Any]) -> keras.optimizers.Optimizer:
    """Adam(W) with global-norm gradient clipping; the task's ``WarmupCosine`` callback sets its learning rate
    (warmup to ``learning_rate``, then cosine decay over the rest of the run)."""
    import keras

    common = {
        "learning_rate": params["learning_rate"],
        "beta_2": params["beta_2"],
        "global_clipnorm": params["clipnorm"],
    }
    if params["optimizer"] == "adam":
        return keras.optimizers.Adam(**common)
    optimizer = keras.optimizers.AdamW(weight_decay=params["weight_decay"], **common)
    optimizer.exclude_from_weight_decay(var_names=["bias", "gamma", "beta"])
    return optimizer


def build(params: Mapping[str, Any]) -> keras.Model:
    """Build and compile the language model described by ``params`` (a plain mapping of ``Params`` fields)."""
    import keras

    from keraslab.projects.transformer.layers import TransformerLM

    model = TransformerLM(**{key: params[key] for key in TransformerLM.ARCHITECTURE}, name="transformer_lm")
    model.build((None, params["context"]))
    model.compile(
        optimizer=make_optimizer(params),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    return model
