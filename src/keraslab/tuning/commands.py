"""``keraslab tune``: a Keras Tuner search over a project's builder, tracked in MLflow (TensorFlow loaded lazily)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from keraslab import registry
from keraslab.config import ConfigError
from keraslab.console import console, fail
from keraslab.options import DataDirOption, SetOption, TrackingUriOption

SEARCH_KEYS = ("tuner.", "space.")


def register(app: typer.Typer) -> None:
    app.command()(tune)


def tune(
    project: Annotated[str, typer.Argument(help="Project name (mnist-mlp) or path to a project TOML.")],
    space: Annotated[
        str | None, typer.Option(help="Search file name or path (default: tuning/<project>.toml).")
    ] = None,
    tuner: Annotated[str | None, typer.Option(help="random | hyperband | bayesian | grid (tuner.kind).")] = None,
    max_trials: Annotated[int | None, typer.Option(help="Trial budget (tuner.max_trials).")] = None,
    epochs: Annotated[int | None, typer.Option(help="Epochs per trial; Hyperband's max (tuner.epochs).")] = None,
    executions_per_trial: Annotated[int | None, typer.Option(help="Fits per trial, averaged.")] = None,
    overwrite: Annotated[bool, typer.Option(help="Start the search afresh instead of resuming it.")] = False,
    distributed: Annotated[
        bool, typer.Option(help="KT chief/worker: uses KERASTUNER_TUNER_ID, _ORACLE_IP, _ORACLE_PORT.")
    ] = False,
    directory: Annotated[
        Path | None, typer.Option(help="Keras Tuner's folder, shared by chief and workers (default: ./mlruns/tuning).")
    ] = None,
    set_: SetOption = None,
    data_dir: DataDirOption = None,
    tracking_uri: TrackingUriOption = None,
    experiment: Annotated[str | None, typer.Option(help="MLflow experiment (default: the project name).")] = None,
    register: Annotated[str | None, typer.Option(help="Register the best model under this name.")] = None,
    verbose: Annotated[int, typer.Option(help="Keras fit verbosity inside trials (0, 1, 2).")] = 0,
) -> None:
    """Search a project's hyperparameters with Keras Tuner; each trial is a child run of one MLflow parent run.

    --set keys starting with tuner. or space. change the search file, others the project. Run the same
    command again to resume an interrupted search.
    """
    overrides = list(set_ or [])
    shortcuts = {
        "kind": tuner,
        "max_trials": max_trials,
        "epochs": epochs,
        "executions_per_trial": executions_per_trial,
    }
    overrides += [f"tuner.{key}={value!r}" for key, value in shortcuts.items() if value is not None]
    search_overrides = [o for o in overrides if o.startswith(SEARCH_KEYS)]
    try:
        spec = registry.load(project, [o for o in overrides if not o.startswith(SEARCH_KEYS)])
        from keraslab.tuning.space import find_search, load_search

        search_file = find_search(spec, space)
        search = load_search(search_file, spec, search_overrides)
    except ConfigError as exc:
        raise fail(str(exc)) from None

    from keraslab.data import DataUnavailable
    from keraslab.tuning.search import SearchComplete, SearchOptions, run_search

    options = SearchOptions(
        data_dir=data_dir,
        uri=tracking_uri,
        experiment=experiment,
        register=register,
        overwrite=overwrite,
        distributed=distributed,
        directory=directory,
        verbose=verbose,
    )
    console.print(f"[bold]tuning {spec.name}[/] with {search.tuner.kind} search ({search_file})")
    try:
        result = run_search(spec, search, options)
    except (DataUnavailable, ConfigError, SearchComplete) as exc:
        raise fail(str(exc)) from None
    except KeyboardInterrupt:
        raise fail("interrupted: the runs ended KILLED; run the same command again to resume", 130) from None
    if result.role == "worker":
        console.print(f"worker done: {len(result.trials)} trials run under parent run {result.parent_run_id}")
        return
    table = Table(title=f"{spec.name}: best of {len(result.trials)} trials ({result.wall_seconds:.0f} s)")
    table.add_column("")
    table.add_column("value", justify="right")
    table.add_row(search.tuner.objective, f"{result.best_score:.4f}")
    for name, value in result.best_hyperparameters.items():
        table.add_row(name, f"{value:.4g}" if isinstance(value, float) else str(value))
    for name, value in result.test_metrics.items():
        table.add_row(name, f"{value:.4f}")
    console.print(table)
    console.print(f"MLflow parent run [bold]{result.parent_run_id}[/]  best model: {result.model_uri}")
