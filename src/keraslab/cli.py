"""``keraslab``: run, track and compare the course's projects. TensorFlow is imported only where a model is.

Commands are a thin layer over the Python API (``keraslab.api``): the same names, one path.
"""

from __future__ import annotations

import os

# MLflow 3's usage telemetry phones home (there is no network offline), and its thread deletes a variable from
# os.environ while HTTP clients read it (KeyError '_MLFLOW_TELEMETRY_SESSION_ID' in requests to a server).
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")

import importlib
import sys
from typing import Annotated

import typer
from rich.table import Table

from keraslab import api, quiet, registry
from keraslab.config import ConfigError
from keraslab.console import console, fail, short_description
from keraslab.options import DataDirOption, SetOption, TrackingUriOption, VerboseOption

app = typer.Typer(
    help="Run the projects of a deep-learning course: train, tune, track in MLflow, serve.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def main_options(verbose: VerboseOption = False) -> None:
    """Run the projects of a deep-learning course: train, tune, track in MLflow, serve."""
    # Before any TensorFlow or MLflow import: quiet unless asked (also `CMD --verbose`, which train takes).
    if not quiet.configure(verbose or "--verbose" in sys.argv[1:] or None):
        quiet.filter_native_stderr()


@app.command()
def projects(
    wide: Annotated[bool, typer.Option(help="Show dataset, builder and the whole description.")] = False,
) -> None:
    """List the projects (fast: no TensorFlow); `keraslab show PROJECT` for one in full."""
    try:
        specs = registry.all_projects()
    except ConfigError as exc:
        raise fail(str(exc)) from None
    columns = ("project", "task", "dataset", "builder", "description") if wide else ("project", "what it learns")
    table = Table(title="keraslab projects")
    for column in columns:
        table.add_column(column, no_wrap=column == "project")
    for spec in specs:
        if wide:
            table.add_row(spec.name, spec.task, spec.data.dataset, spec.model.builder, spec.description)
        else:
            table.add_row(spec.name, short_description(spec.description))
    console.print(table)


@app.command()
def show(project: Annotated[str, typer.Argument(help="Project name or path to a project TOML.")]) -> None:
    """One project in full: its description and resolved configuration (every default filled in)."""
    from keraslab.config import to_toml

    try:
        spec = api.show(project)
    except ConfigError as exc:
        raise fail(str(exc)) from None
    console.print(f"[bold]{spec.name}[/] — {spec.description}\n", highlight=False)
    console.print(to_toml(spec.model_dump(mode="json", exclude={"name", "description"})), highlight=False, markup=False)


@app.command()
def train(
    project: Annotated[str, typer.Argument(help="Project name (mnist-cnn) or path to a project TOML.")],
    set_: SetOption = None,
    epochs: Annotated[int | None, typer.Option(help="Shortcut for --set training.epochs=N.")] = None,
    seed: Annotated[int | None, typer.Option(help="Shortcut for --set training.seed=N.")] = None,
    strategy: Annotated[
        str | None, typer.Option(help="auto | default | one-device | mirrored | multiworker | tpu (training.strategy).")
    ] = None,
    devices: Annotated[
        str | None, typer.Option(help="Comma-separated devices, e.g. GPU:0,GPU:1 or cpu:0,cpu:1.")
    ] = None,
    mixed_precision: Annotated[
        bool | None, typer.Option(help="mixed_float16 on GPU, mixed_bfloat16 on CPU (training.mixed_precision).")
    ] = None,
    jit_compile: Annotated[bool | None, typer.Option(help="XLA-compile the train step (training.jit_compile).")] = None,
    data_dir: DataDirOption = None,
    tracking_uri: TrackingUriOption = None,
    experiment: Annotated[str | None, typer.Option(help="MLflow experiment (default: the project name).")] = None,
    register: Annotated[str | None, typer.Option(help="Register the model under this name.")] = None,
    track: Annotated[bool, typer.Option("--track/--no-track", help="Log the run to MLflow.")] = True,
    verbose: VerboseOption = False,
) -> None:
    """Train a project with its defaults (overridable) and log the run to MLflow."""
    del verbose  # applied before the command runs, by main_options: the libraries must not have started yet
    from keraslab.data import DataUnavailable

    try:
        api.train(
            project,
            overrides=set_,
            epochs=epochs,
            seed=seed,
            strategy=strategy,
            devices=[d.strip() for d in devices.split(",") if d.strip()] if devices else None,
            mixed_precision=mixed_precision,
            jit_compile=jit_compile,
            data_dir=data_dir,
            tracking_uri=tracking_uri,
            experiment=experiment,
            register=register,
            track=track,
        )
    except (DataUnavailable, ConfigError) as exc:
        raise fail(str(exc)) from None
    except KeyboardInterrupt:
        raise fail("interrupted: the run ended KILLED; run the same command again to resume", 130) from None


@app.command()
def runs(
    project: Annotated[str, typer.Argument(help="Project name (its MLflow experiment).")],
    metric: Annotated[str, typer.Option(help="Sort by this metric, best first.")] = "test_accuracy",
    ascending: Annotated[bool, typer.Option(help="Lower is better for the sort metric.")] = False,
    limit: Annotated[int, typer.Option(help="How many runs to show.")] = 10,
    every_status: Annotated[
        bool, typer.Option("--all", help="Also unfinished runs (RUNNING, KILLED, FAILED) and why they ended.")
    ] = False,
    tracking_uri: TrackingUriOption = None,
    experiment: Annotated[str | None, typer.Option(help="MLflow experiment (default: the project name).")] = None,
) -> None:
    """Table of a project's best finished runs (--all: every run) with their metrics, from MLflow. RUNNING runs
    whose process is gone on this host are marked KILLED first."""
    from keraslab.tracking.queries import project_runs
    from keraslab.tracking.store import tracking_uri as resolve_uri

    try:
        name = experiment or registry.load(project).name
    except ConfigError as exc:
        raise fail(str(exc)) from None
    uri = resolve_uri(tracking_uri)
    rows = project_runs(uri, name, metric, ascending, limit, every_status)
    if rows is None:
        raise fail(f"no MLflow experiment {name!r} in {uri}: train the project first", 1)
    table = Table(title=f"{name}: {'runs' if every_status else 'best finished runs'} by {metric}")
    columns = ["run", *(["status"] if every_status else []), "started", "ep", metric, "test_loss", "val_acc"]
    for column in [*columns, "reason"] if every_status else columns:  # fits 80 columns; --all wraps the reason
        table.add_column(column, justify="left" if column in ("run", "status", "reason") else "right")
    for row in rows:
        m = row.metrics
        cells = [row.run_id[:8], *([row.status] if every_status else []), _timestamp(row.start_time), row.epochs]
        cells += [f"{m[k]:.4f}" if k in m else "" for k in (metric, "test_loss", "val_accuracy")]
        table.add_row(*cells, *([row.reason[:120]] if every_status else []))
    console.print(table)


def _timestamp(millis: int | None) -> str:
    from datetime import datetime

    return datetime.fromtimestamp(millis / 1000).strftime("%m-%d %H:%M") if millis else ""


@app.command()
def ui(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = 5000,
    host: Annotated[str, typer.Option(help="Interface to bind (keep 127.0.0.1 unless you mean it).")] = "127.0.0.1",
    tracking_uri: TrackingUriOption = None,
) -> None:
    """Open the MLflow UI over the same store (one worker, job execution off)."""
    from keraslab.processes import run_foreground
    from keraslab.tracking.server import mlflow_server
    from keraslab.tracking.store import tracking_uri as resolve_uri

    uri = resolve_uri(tracking_uri)
    command, env = mlflow_server(uri, host, port)
    console.print(f"MLflow UI on http://{host}:{port}  (store: {uri}); Ctrl-C to stop")
    raise typer.Exit(run_foreground(command, env))


for module_name in registry.command_modules():  # each defines register(app) and imports no TensorFlow
    importlib.import_module(module_name).register(app)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
