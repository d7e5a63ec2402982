"""Language models: prompts in, continuations out, decoded with the key/value cache.

Each request row holds a ``prompt`` (text). Params choose the decoding (``decoding``):
``strategy`` (greedy | sample | beam), ``max_new_tokens``, ``temperature``, ``top_k``, ``top_p``, ``beam_width``,
``length_penalty``, ``stop`` (one token that ends a continuation) and ``seed``. The answer has ``prompt`` and
``continuation`` per row. A prompt with symbols outside the vocabulary is refused (HTTP 400) naming them.
The tokenizer travels inside the pyfunc (as its JSON).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd
from mlflow.models import ModelSignature
from mlflow.types.schema import ColSpec, ParamSchema, ParamSpec, Schema
from pydantic import ValidationError

import keraslab.projects.transformer.layers  # noqa: F401 - registers the layers before the .keras artifact loads
from keraslab.projects.transformer.decoding import Compiled, DecodingSettings, generate
from keraslab.projects.transformer.tokenizers import Tokenizer, UnknownSymbols
from keraslab.serving.pyfunc import KerasPyfunc, Wrapper, bad_input

if TYPE_CHECKING:
    import keras

    from keraslab.config import ProjectSpec
    from keraslab.data import Splits

PROMPT, CONTINUATION = "prompt", "continuation"
MAX_NEW_TOKENS = 4096
PARAMS = ParamSchema(
    [
        ParamSpec("strategy", "string", "sample"),
        ParamSpec("max_new_tokens", "long", 200),
        ParamSpec("temperature", "double", 0.8),
        ParamSpec("top_k", "long", None),
        ParamSpec("top_p", "double", None),
        ParamSpec("beam_width", "long", 4),
        ParamSpec("length_penalty", "double", 0.6),
        ParamSpec("stop", "string", None),
        ParamSpec("seed", "long", None),
    ]
)


class TextGenerator(KerasPyfunc):
    def __init__(self, tokenizer_json: str) -> None:
        self.tokenizer_json = tokenizer_json

    def load_keras(self, model: keras.Model) -> None:
        """Compile the model's decoding functions (a subclassed model: no single traced input)."""
        self.model, self.tokenizer = model, Tokenizer.from_json(self.tokenizer_json)
        self.compiled = Compiled(model)

    def settings(self, params: dict[str, Any] | None) -> DecodingSettings:
        given = {k: v for k, v in (params or {}).items() if v is not None}
        try:
            settings = DecodingSettings(**given)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise bad_input(f"decoding params: {problems}") from None
        if settings.max_new_tokens > MAX_NEW_TOKENS:
            raise bad_input(f"max_new_tokens = {settings.max_new_tokens}: at most {MAX_NEW_TOKENS} per request")
        return settings

    # No type hints: MLflow would read them as the model's input schema.
    def predict(self, context, model_input, params=None):
        settings = self.settings(params)
        frame = model_input if isinstance(model_input, pd.DataFrame) else pd.DataFrame(model_input)
        if PROMPT not in frame.columns or len(frame) == 0:
            raise bad_input(f"send one or more rows with a '{PROMPT}' column (text)")
        continuations = []
        for index, prompt in enumerate(frame[PROMPT]):
            if not isinstance(prompt, str) or not prompt:
                raise bad_input(f"row {index}: '{PROMPT}' must be non-empty text, got {prompt!r}")
            try:
                continuations.append(generate(self.compiled, self.tokenizer, prompt, settings))
            except (UnknownSymbols, ValueError) as exc:
                raise bad_input(f"row {index}: {exc}") from None
        return pd.DataFrame({PROMPT: list(frame[PROMPT]), CONTINUATION: continuations})


def wrapper(spec: ProjectSpec, splits: Splits, model: keras.Model) -> Wrapper:
    tokenizer: Tokenizer = splits.info.extra["tokenizer"]
    signature = ModelSignature(
        inputs=Schema([ColSpec("string", PROMPT)]),
        outputs=Schema([ColSpec("string", PROMPT), ColSpec("string", CONTINUATION)]),
        params=PARAMS,
    )
    known = [token for token in splits.x_train[:64] if token != 0]  # no <unk> in the example prompt
    example = pd.DataFrame({PROMPT: [tokenizer.decode(known[:16])]})
    return Wrapper(TextGenerator(tokenizer.to_json()), signature, example)
