"""``keraslab tune``: a Keras Tuner search over a project's builder, tracked in MLflow (TensorFlow loaded lazily)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from keraslab.config import ConfigError
from keraslab.console import console, fail
from keraslab.options import DataDirOption, SetOption, TrackingUriOption


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
    fit_verbose: Annotated[int, typer.Option(help="Keras fit verbosity inside trials (0, 1, 2).")] = 0,
) -> None:
    """Search a project's hyperparameters with Keras Tuner; each trial is a child run of one MLflow parent run.

    --set keys starting with tuner. or space. change the search file, others the project. Run the same
    command again to resume an interrupted search.
    """
    from keraslab import api
    from keraslab.data import DataUnavailable
    from keraslab.tuning.search import SearchComplete

    try:
        result = api.tune(
            project,
            space=space,
            tuner=tuner,
            max_trials=max_trials,
            epochs=epochs,
            executions_per_trial=executions_per_trial,
            overrides=list(set_ or []),
            data_dir=data_dir,
            tracking_uri=tracking_uri,
            experiment=experiment,
            register=register,
            overwrite=overwrite,
            distributed=distributed,
            directory=directory,
            verbose=fit_verbose,
        )
    except (DataUnavailable, ConfigError, SearchComplete) as exc:
        raise fail(str(exc)) from None
    except KeyboardInterrupt:
        raise fail("interrupted: the runs ended KILLED; run the same command again to resume", 130) from None
    if result.role == "worker":
        console.print(f"worker done: {len(result.trials)} trials run under parent run {result.run_id}")
