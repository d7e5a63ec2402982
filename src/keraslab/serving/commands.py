"""CLI commands ``serve``, ``predict`` and ``export`` (TensorFlow and MLflow are imported inside them)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from keraslab.options import ModelArgument, TrackingUriOption
from keraslab.serving.server import ModelNotFound, model_uri

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg"}


def register(app: typer.Typer) -> None:
    app.command()(serve)
    app.command()(predict)
    app.command()(export)


def _resolve(model: str, tracking: str | None) -> tuple[str, str]:
    from keraslab.console import fail
    from keraslab.tracking.store import tracking_uri

    try:
        return model_uri(model), tracking_uri(tracking)
    except ModelNotFound as exc:
        raise fail(str(exc)) from None


def serve(
    model: ModelArgument,
    host: Annotated[str, typer.Option(help="Interface to bind (keep 127.0.0.1 unless you mean it).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 5001,
    workers: Annotated[int, typer.Option(help="uvicorn worker processes.")] = 1,
    tracking_uri: TrackingUriOption = None,
) -> None:
    """Serve a logged model with MLflow's scoring server (local environment): POST JSON to /invocations."""
    from keraslab.console import console
    from keraslab.processes import run_foreground, server_env
    from keraslab.serving.server import serve_command

    uri, tracking = _resolve(model, tracking_uri)
    env = server_env(tracking)
    console.print(f"serving {uri} on http://{host}:{port}/invocations (store: {tracking}); Ctrl-C to stop")
    raise typer.Exit(run_foreground(serve_command(uri, host, port, env, workers), env))


def predict(
    model: ModelArgument,
    files: Annotated[
        list[Path], typer.Argument(help="PNG/JPEG images, .npy arrays (one item or a batch) or .csv recordings.")
    ],
    timeline: Annotated[
        Path | None, typer.Option(help="Ask for a smoothed timeline (activity models) and save its plot here (.png).")
    ] = None,
    tracking_uri: TrackingUriOption = None,
) -> None:
    """Predict offline with the served model (same pre/post-processing as `serve`) and print a table."""
    import mlflow
    import pandas as pd
    from mlflow.exceptions import MlflowException
    from rich.table import Table

    from keraslab.console import console, fail

    uri, tracking = _resolve(model, tracking_uri)
    mlflow.set_tracking_uri(tracking)
    rows, sources = [], []
    for path in files:
        for index, row in enumerate(_rows(path)):
            rows.append(row)
            sources.append(path.name if index == 0 else f"{path.name}[{index}]")
    try:
        result = mlflow.pyfunc.load_model(uri).predict(
            pd.DataFrame(rows), params={"timeline": True} if timeline else None
        )
    except MlflowException as exc:
        raise fail(exc.message) from None
    table = Table(title=f"predictions of {uri}")
    table.add_column("file")
    frame = result if isinstance(result, pd.DataFrame) else pd.DataFrame({"output": list(result)})
    if timeline and not {"row", "start_s", "end_s", "label"} <= set(frame.columns):
        raise fail(
            f"{uri} answered no timeline (columns {list(frame.columns)}); --timeline needs an activity model "
            "that takes the timeline param"
        )
    shown = frame[["start_s", "end_s", "label", "probability"]] if timeline else frame
    for column in shown.columns:
        table.add_column(str(column), justify="right")
    row_sources = frame["row"].map(sources.__getitem__) if timeline else sources
    for source, values in zip(row_sources, shown.itertuples(index=False), strict=True):
        table.add_row(source, *(_cell(v) for v in values))
    console.print(table)
    if timeline:
        _plot_timeline(frame, timeline, sources)
        console.print(f"timeline plot saved to {timeline}")


def _plot_timeline(frame: Any, path: Path, sources: list[str]) -> None:
    """One bar per file: its segments coloured by label, over seconds."""
    from matplotlib.figure import Figure

    labels = sorted(set(frame["label"]))
    fig = Figure(figsize=(10, 1 + 0.6 * len(sources)), layout="constrained")
    ax = fig.subplots()
    colours = {label: f"C{i % 10}" for i, label in enumerate(labels)}
    for segment in frame.itertuples(index=False):
        ax.broken_barh(
            [(segment.start_s, segment.end_s - segment.start_s)], (segment.row - 0.4, 0.8), color=colours[segment.label]
        )
    ax.set(yticks=range(len(sources)), yticklabels=sources, xlabel="seconds")
    handles = [ax.bar(0, 0, color=c, label=n) for n, c in colours.items()]
    ax.legend(handles=handles, fontsize=7, ncols=min(6, len(labels)), loc="lower left", bbox_to_anchor=(0, 1))
    fig.savefig(path, dpi=120)


def _rows(path: Path) -> list[dict[str, Any]]:
    """One request row per image, per .npy item (a 3-D or deeper .npy is a batch of 2-D items)."""
    import base64

    import numpy as np

    from keraslab.console import fail

    if not path.is_file():
        raise fail(f"{path}: file not found")
    suffix = path.suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        return [{"image": base64.b64encode(path.read_bytes()).decode("ascii")}]
    if suffix == ".csv":
        return [{"recording": path.read_text()}]
    if suffix != ".npy":
        raise fail(f"{path}: expected a .png, .jpg, .jpeg, .npy or .csv file")
    try:
        array = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise fail(f"{path}: not a readable .npy array ({exc})") from None
    items = array if array.ndim >= 3 else array[None]
    return [{"array": item.tolist()} for item in items]


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    if isinstance(value, list | tuple):
        return " ".join(f"{v:.2f}" if isinstance(v, float) else str(v) for v in value)
    return str(value)


def export(
    model: ModelArgument,
    directory: Annotated[Path, typer.Argument(help="Output folder (must not exist yet).")],
    format_: Annotated[
        Literal["saved_model", "tflite"], typer.Option("--format", help="Export format.")
    ] = "saved_model",
    inputs: Annotated[
        Path | None, typer.Option(help="tflite: a .npy batch of real inputs to verify on (default: random ones).")
    ] = None,
    tracking_uri: TrackingUriOption = None,
) -> None:
    """Export the model's network as a TF SavedModel (signature serving_default) for TF Serving, or as a TFLite
    model for phones; both verified against the Keras model."""
    import mlflow
    import numpy as np

    from keraslab.console import console, fail
    from keraslab.serving.export import SIGNATURE, export_saved_model, export_tflite

    uri, tracking = _resolve(model, tracking_uri)
    if directory.exists():
        raise fail(f"{directory} already exists; choose a new folder")
    mlflow.set_tracking_uri(tracking)
    try:
        if format_ == "tflite":
            lite = export_tflite(uri, directory, np.load(inputs) if inputs else None)
            console.print(
                f"TFLite model written to {lite.path} ({lite.size_bytes / 1e3:.0f} kB, builtin ops); on {lite.windows} "
                f"inputs labels agree {lite.label_agreement:.2%} with the Keras model, max |difference| "
                f"{lite.max_abs_difference:.2g}; {lite.latency_ms:.3f} ms per input (1 thread)"
            )
            return
        check = export_saved_model(uri, directory)
    except (ValueError, RuntimeError, OSError) as exc:
        raise fail(str(exc)) from None
    console.print(
        f"SavedModel written to {check.directory} (signature {SIGNATURE}, input (N, "
        f"{', '.join(map(str, check.input_shape))})); reloaded, max |difference| {check.max_abs_difference:.2g}"
    )
