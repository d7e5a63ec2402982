"""Command-line options and arguments that several commands share (typer annotations, nothing heavy)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

SetOption = Annotated[
    list[str] | None,
    typer.Option("--set", "-s", help="Override a config value: key.path=value (repeatable)."),
]
DataDirOption = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Folder with the dataset's official raw files (env: KERASLAB_DATA_DIR)."),
]
TrackingUriOption = Annotated[
    str | None,
    typer.Option("--tracking-uri", help="MLflow tracking URI [default: $MLFLOW_TRACKING_URI or ./mlruns]."),
]
ModelArgument = Annotated[
    str,
    typer.Argument(
        help="A run id, runs:/RUN/model, models:/NAME/VERSION, models:/NAME@ALIAS, a logged model id (m-…) "
        "or a model folder."
    ),
]
VerboseOption = Annotated[
    bool,
    typer.Option(
        "--verbose", help="Show every library's logs and warnings (env: KERASLAB_VERBOSE=1); quiet by default."
    ),
]
