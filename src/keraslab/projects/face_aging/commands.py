"""``keraslab age photo.jpg -o older.png [--younger]``: age (or rejuvenate) the face in a photo with a logged
face-aging model (TensorFlow and MLflow are imported inside)."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Annotated

import typer

from keraslab.options import TrackingUriOption
from keraslab.serving.server import ModelNotFound, model_uri

EXPERIMENT = "face-aging"


def register(app: typer.Typer) -> None:
    app.command()(age)


def age(
    photo: Annotated[Path, typer.Argument(help="A PNG or JPEG photo with frontal faces (or a face crop).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write the PNG result.")] = Path("older.png"),
    younger: Annotated[bool, typer.Option("--younger", help="Rejuvenate instead of aging.")] = False,
    whole_image: Annotated[
        bool, typer.Option("--whole-image", help="The photo is already a face crop: skip face detection.")
    ] = False,
    model: Annotated[
        str | None,
        typer.Option(help=f"Model: a run id, runs:/…, models:/… or a folder (default: the newest '{EXPERIMENT}' run)."),
    ] = None,
    tracking_uri: TrackingUriOption = None,
) -> None:
    """Make the faces in PHOTO look older (or with --younger younger) with a model from `keraslab train face-aging`."""
    import mlflow
    import pandas as pd
    from mlflow.exceptions import MlflowException

    from keraslab.console import console, fail
    from keraslab.tracking.store import tracking_uri as resolve_uri

    if not photo.is_file():
        raise fail(f"{photo}: no such file; expected a PNG or JPEG photo")
    mlflow.set_tracking_uri(resolve_uri(tracking_uri))
    try:
        uri = model_uri(model) if model else newest_model(EXPERIMENT)
        served = mlflow.pyfunc.load_model(uri)
        answer = served.predict(
            pd.DataFrame({"image": [base64.b64encode(photo.read_bytes()).decode("ascii")]}),
            params={"direction": "younger" if younger else "older", "crop": "none" if whole_image else "face"},
        )
    except (ModelNotFound, LookupError) as exc:
        raise fail(str(exc)) from None
    except MlflowException as exc:
        raise fail(exc.message) from None
    output.write_bytes(base64.b64decode(answer["image"][0]))
    boxes = [list(answer["box"][0][i : i + 4]) for i in range(0, len(answer["box"][0]), 4)]
    faces = f"{len(boxes)} face{'s' * (len(boxes) != 1)}"
    console.print(f"{'rejuvenated' if younger else 'aged'} {faces} (boxes {boxes}) written to {output}")


def newest_model(experiment: str) -> str:
    """The model of the newest finished run of ``experiment``; LookupError when there is none."""
    import mlflow

    from keraslab.tracking.runs import finished_model_uri

    found = finished_model_uri(mlflow.get_tracking_uri(), experiment, "attributes.start_time DESC")
    if found is None:
        raise LookupError(
            f"no finished '{experiment}' run in the store; train one (keraslab train {experiment}) or pass --model"
        )
    return found
