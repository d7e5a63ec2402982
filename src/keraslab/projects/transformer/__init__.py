"""The course's transformer: a pre-LN causal transformer as a character language model on Tiny Shakespeare.

What it teaches: tokenisation, causal self-attention, positional embeddings, learning-rate warmup and decay, and
sampling text with a KV cache. ``tokenizers``, ``layers`` and ``builder`` define the model, ``decoding`` samples
from it, ``data``, ``task`` and ``wrapper`` train and serve it, ``commands`` adds ``keraslab generate``.
"""

from keraslab.registry import Components

COMPONENTS = Components(
    datasets={"text": f"{__name__}.data"},
    builders={"transformer": f"{__name__}.builder"},
    tasks={"language_model": f"{__name__}.task"},
    wrappers={"language_model": f"{__name__}.wrapper"},
    commands=(f"{__name__}.commands",),
)
