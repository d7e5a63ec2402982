"""``keraslab generate MODEL "prompt"``: continue a prompt with a logged language model (TensorFlow imported inside)."""

from __future__ import annotations

from typing import Annotated, Literal

import typer

from keraslab.options import ModelArgument, TrackingUriOption
from keraslab.serving.server import ModelNotFound, model_uri


def register(app: typer.Typer) -> None:
    app.command()(generate)


def generate(
    model: ModelArgument,
    prompt: Annotated[str, typer.Argument(help="Text to continue; every symbol must be in the model's vocabulary.")],
    max_new_tokens: Annotated[int, typer.Option(help="Tokens to add.")] = 200,
    strategy: Annotated[Literal["greedy", "sample", "beam"], typer.Option(help="Decoding strategy.")] = "sample",
    temperature: Annotated[float, typer.Option(help="sample: divide the logits by this.")] = 0.8,
    top_k: Annotated[int | None, typer.Option(help="sample: keep the k most likely tokens.")] = None,
    top_p: Annotated[float | None, typer.Option(help="sample: keep the smallest set with probability >= p.")] = None,
    beam_width: Annotated[int, typer.Option(help="beam: hypotheses kept.")] = 4,
    length_penalty: Annotated[float, typer.Option(help="beam: alpha of ((5 + length) / 6) ** alpha.")] = 0.6,
    stop: Annotated[str | None, typer.Option(help="A token that ends the continuation, e.g. a newline.")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed for sampling (reproducible output).")] = None,
    tracking_uri: TrackingUriOption = None,
) -> None:
    """Continue PROMPT with a language model logged by `keraslab train` (greedy, sampling or beam search)."""
    import mlflow
    import pandas as pd
    from mlflow.exceptions import MlflowException

    from keraslab.console import console, fail
    from keraslab.tracking.store import tracking_uri as resolve_uri

    try:
        uri = model_uri(model)
    except ModelNotFound as exc:
        raise fail(str(exc)) from None
    mlflow.set_tracking_uri(resolve_uri(tracking_uri))
    params = {
        "strategy": strategy,
        "max_new_tokens": max_new_tokens,
        "temperature": temperature,
        "top_k": top_k,
        "top_p": top_p,
        "beam_width": beam_width,
        "length_penalty": length_penalty,
        "stop": stop.encode().decode("unicode_escape") if stop else None,  # --stop '\n' means a newline
        "seed": seed,
    }
    try:
        served = mlflow.pyfunc.load_model(uri)
        schema = served.metadata.get_input_schema()
        if schema is None or "prompt" not in schema.input_names():
            raise fail(f"{uri} is not a language model (its input has no 'prompt' column)")
        answer = served.predict(
            pd.DataFrame({"prompt": [prompt]}), params={k: v for k, v in params.items() if v is not None}
        )
    except MlflowException as exc:
        raise fail(exc.message) from None
    console.print(prompt + answer["continuation"][0], highlight=False, markup=False)
