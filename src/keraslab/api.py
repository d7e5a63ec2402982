"""The Python API: ``projects``, ``train``, ``tune``, ``load``. The CLI's ``train`` is a thin layer over it.

Names and values are the CLI's: ``overrides`` takes the ``--set`` keys (a ``{"model.units": 256}`` mapping or
``["model.units=256"]`` strings) and a bad one raises ``ConfigError`` with the CLI's message. Results carry the
MLflow run, the test metrics and the model; in a notebook the final table renders as HTML.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from keraslab import quiet, registry
from keraslab.config import ConfigError

if TYPE_CHECKING:
    import keras
    import mlflow.pyfunc
    import pandas as pd
    from rich.table import Table

    from keraslab.config import ProjectSpec

Overrides = Mapping[str, Any] | Iterable[str] | None

#: Tuning overrides with these prefixes change the search file; the others change the project.
SEARCH_KEYS = ("tuner.", "space.")


def projects() -> list[str]:
    """The names of the course projects (fast: no TensorFlow)."""
    return [spec.name for spec in registry.all_projects()]


def show(project: str) -> ProjectSpec:
    """Project ``project``'s validated spec, every default filled in."""
    return registry.load(project)


def override_list(overrides: Overrides, **shortcuts: Any) -> list[str]:
    """``key.path=value`` strings from ``overrides`` plus the shortcuts that are not None (``training.epochs=…``)."""
    if overrides is None:
        items: list[str] = []
    elif isinstance(overrides, Mapping):
        items = [f"{key}={value!r}" for key, value in overrides.items()]
    elif isinstance(overrides, str):
        raise ConfigError(f"overrides must be a mapping or a list of key.path=value strings, not {overrides!r}")
    else:
        items = list(overrides)
    return items + [f"{key}={value!r}" for key, value in shortcuts.items() if value is not None]


@dataclass
class _Result:
    """What ``train`` and ``tune`` return in common: the run, its test metrics and its model."""

    project: str
    run_id: str | None
    model_uri: str | None
    metrics: dict[str, float]
    wall_seconds: float
    tracking_uri: str | None = field(default=None, repr=False)

    def load_model(self) -> mlflow.pyfunc.PyFuncModel:
        """The logged pyfunc, as ``keraslab serve`` answers with it (pre- and post-processing included)."""
        if self.model_uri is None:
            raise ValueError(f"run of {self.project} was not tracked: no logged model (use keras_model())")
        return load(self.model_uri, tracking_uri=self.tracking_uri)

    def keras_model(self) -> keras.Model:
        """The trained Keras network (from the logged model where this process has not kept it)."""
        return self.load_model().unwrap_python_model().model

    def history(self) -> pd.DataFrame:
        """The per-epoch metrics MLflow logged for the run (``loss``, ``val_accuracy``, …), one row per epoch."""
        import pandas as pd
        from mlflow import MlflowClient

        from keraslab.tracking.store import tracking_uri

        client = MlflowClient(tracking_uri(self.tracking_uri))
        names = [k for k, v in client.get_run(self._tracked_run()).data.metrics.items() if not k.startswith("test_")]
        columns = {name: {m.step: m.value for m in client.get_metric_history(self.run_id, name)} for name in names}
        epochs = max((len(steps) for steps in columns.values()), default=0)  # one-off metrics have fewer
        return pd.DataFrame({n: steps for n, steps in columns.items() if len(steps) == epochs}).rename_axis("epoch")

    def artifact(self, name: str) -> Path:
        """A file the run logged (``learning_curves.png``, ``confusion_matrix.png``, ``config.toml``, …)."""
        import mlflow

        from keraslab.tracking.store import tracking_uri

        return Path(
            mlflow.artifacts.download_artifacts(
                run_id=self._tracked_run(), artifact_path=name, tracking_uri=tracking_uri(self.tracking_uri)
            )
        )

    def _tracked_run(self) -> str:
        if self.run_id is None:
            raise ValueError(f"run of {self.project} was not tracked: MLflow holds nothing of it")
        return self.run_id

    def table(self) -> Table:
        from keraslab.console import metrics_table

        return metrics_table(self.title(), self.rows())

    def title(self) -> str:
        return f"{self.project} ({self.wall_seconds:.0f} s)"

    def rows(self) -> list[tuple[str, str]]:
        return [(name, f"{value:.4f}") for name, value in self.metrics.items()]

    def footer(self) -> str:
        return f"MLflow run {self.run_id}\nmodel: {self.model_uri}" if self.run_id else ""

    def __rich__(self) -> Table:
        return self.table()

    def _repr_html_(self) -> str:
        from keraslab.console import html

        return html(self.table(), self.footer())


@dataclass
class TrainResult(_Result):
    """A finished ``train``: ``.run_id``, ``.metrics`` (``test_accuracy``, …), ``.model_uri``, ``.load_model()``,
    ``.keras_model()``."""

    epochs_run: int = 0
    resumed: bool = False
    train_samples_per_second: float = 0.0
    model: keras.Model | None = field(default=None, repr=False)

    def keras_model(self) -> keras.Model:
        return self.model if self.model is not None else super().keras_model()

    def title(self) -> str:
        resumed = "resumed, " if self.resumed else ""
        return f"{self.project}: {resumed}{self.epochs_run} epochs in {self.wall_seconds:.0f} s"

    def rows(self) -> list[tuple[str, str]]:
        return [*super().rows(), ("train samples/s", f"{self.train_samples_per_second:,.0f}")]


@dataclass
class TuneResult(_Result):
    """A finished ``tune``: the parent run (``.run_id``), the best trial and the best model."""

    objective: str = ""
    best_score: float | None = None
    best_hyperparameters: dict[str, Any] = field(default_factory=dict)
    trials: list[dict[str, Any]] = field(default_factory=list)
    role: str = "lone"

    def title(self) -> str:
        return f"{self.project}: best of {len(self.trials)} trials ({self.wall_seconds:.0f} s)"

    def rows(self) -> list[tuple[str, str]]:
        rows = [(self.objective, f"{self.best_score:.4f}")] if self.best_score is not None else []
        rows += [(k, f"{v:.4g}" if isinstance(v, float) else str(v)) for k, v in self.best_hyperparameters.items()]
        return rows + super().rows()

    def footer(self) -> str:
        return f"MLflow parent run {self.run_id}\nbest model: {self.model_uri}" if self.run_id else ""


def train(
    project: str,
    *,
    epochs: int | None = None,
    overrides: Overrides = None,
    data_dir: str | Path | None = None,
    tracking_uri: str | None = None,
    seed: int | None = None,
    strategy: str | None = None,
    devices: Iterable[str] | None = None,
    mixed_precision: bool | None = None,
    jit_compile: bool | None = None,
    experiment: str | None = None,
    register: str | None = None,
    track: bool = True,
    verbose: int | None = None,
) -> TrainResult:
    """Train ``project`` (a name or a TOML path) with its defaults and ``overrides``, tracked in MLflow.

    ``verbose``: Keras's (1 progress bar, 2 a line per epoch, 0 silent and no table); None picks the bar on a
    terminal or in a notebook. Raises ``ConfigError`` for a bad project or override, ``DataUnavailable`` for
    missing data.
    """
    quiet.configure()
    spec = registry.load(
        project,
        override_list(
            overrides,
            **{
                "training.epochs": epochs,
                "training.seed": seed,
                "training.strategy": strategy,
                "training.devices": list(devices) if devices is not None else None,
                "training.mixed_precision": mixed_precision,
                "training.jit_compile": jit_compile,
            },
        ),
    )
    from keraslab.console import announce, report
    from keraslab.training.trainer import TrackingOptions
    from keraslab.training.trainer import train as run_training

    verbose = progress_verbosity(verbose)
    if verbose:
        announce(f"[bold]training {spec.name}[/] ({spec.model.builder}, {spec.training.epochs} epochs)")
    options = TrackingOptions(enabled=track, uri=tracking_uri, experiment=experiment, register=register)
    done = run_training(spec, data_dir=data_dir, tracking=options, verbose=verbose)
    result = TrainResult(
        project=spec.name,
        run_id=done.run_id,
        model_uri=done.model_uri,
        metrics=dict(done.test_metrics),
        wall_seconds=done.wall_seconds,
        tracking_uri=tracking_uri,
        epochs_run=done.epochs_run,
        resumed=done.resumed,
        train_samples_per_second=done.train_samples_per_second,
        model=done.model,
    )
    if verbose:
        report(result)
    return result


def tune(
    project: str,
    *,
    space: str | None = None,
    tuner: str | None = None,
    max_trials: int | None = None,
    epochs: int | None = None,
    executions_per_trial: int | None = None,
    overrides: Overrides = None,
    data_dir: str | Path | None = None,
    tracking_uri: str | None = None,
    experiment: str | None = None,
    register: str | None = None,
    overwrite: bool = False,
    distributed: bool = False,
    directory: str | Path | None = None,
    verbose: int = 0,
) -> TuneResult:
    """Search ``project``'s hyperparameters with Keras Tuner (``tuning/<project>.toml`` or ``space``); each trial
    is a child run of one MLflow parent run. ``overrides`` keys starting with ``tuner.``/``space.`` change the
    search, the others the project. ``verbose`` is Keras's inside trials. Rerunning resumes the search."""
    quiet.configure()
    items = override_list(
        overrides,
        **{
            "tuner.kind": tuner,
            "tuner.max_trials": max_trials,
            "tuner.epochs": epochs,
            "tuner.executions_per_trial": executions_per_trial,
        },
    )
    spec = registry.load(project, [o for o in items if not o.startswith(SEARCH_KEYS)])
    from keraslab.tuning.search import SearchOptions, run_search
    from keraslab.tuning.space import find_search, load_search

    search_file = find_search(spec, space)
    search = load_search(search_file, spec, [o for o in items if o.startswith(SEARCH_KEYS)])
    options = SearchOptions(
        data_dir=data_dir,
        uri=tracking_uri,
        experiment=experiment,
        register=register,
        overwrite=overwrite,
        distributed=distributed,
        directory=Path(directory) if directory is not None else None,
        verbose=verbose,
    )
    from keraslab.console import announce, report

    announce(f"[bold]tuning {spec.name}[/] with {search.tuner.kind} search ({search_file})")
    done = run_search(spec, search, options)
    result = TuneResult(
        project=spec.name,
        run_id=done.parent_run_id,
        model_uri=done.model_uri,
        metrics=dict(done.test_metrics),
        wall_seconds=done.wall_seconds,
        tracking_uri=tracking_uri,
        objective=search.tuner.objective,
        best_score=done.best_score,
        best_hyperparameters=dict(done.best_hyperparameters),
        trials=list(done.trials),
        role=done.role,
    )
    if result.role != "worker":
        report(result)
    return result


def load(model_uri: str, *, tracking_uri: str | None = None) -> mlflow.pyfunc.PyFuncModel:
    """A logged model as an MLflow pyfunc: a run id, ``runs:/RUN/model``, ``models:/NAME/VERSION``,
    ``models:/NAME@ALIAS``, a logged model id (``m-…``) or a model folder."""
    quiet.configure()
    import mlflow

    from keraslab.serving.server import ModelNotFound
    from keraslab.serving.server import model_uri as resolve
    from keraslab.tracking.store import tracking_uri as resolve_tracking

    try:
        uri = resolve(model_uri)
    except ModelNotFound as exc:
        raise ConfigError(str(exc)) from None
    mlflow.set_tracking_uri(resolve_tracking(tracking_uri))
    return mlflow.pyfunc.load_model(uri)


def progress_verbosity(verbose: int | None) -> int:
    """Keras's verbosity: as given, else the progress bar on a terminal or in a notebook, a line per epoch
    otherwise (a log file)."""
    import sys

    if verbose is not None:
        return verbose
    from keraslab.console import in_notebook

    return 1 if sys.stdout.isatty() or in_notebook() else 2
