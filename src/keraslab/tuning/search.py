"""``run_search(spec, search)``: data -> tracked KT tuner -> search -> parent run with the best model.

Roles: a lone process does everything. With ``distributed`` (KT's chief/worker over gRPC, configured by
``KERASTUNER_TUNER_ID`` / ``KERASTUNER_ORACLE_IP`` / ``KERASTUNER_ORACLE_PORT``) the **chief** owns the parent
run: it opens it before serving the oracle and, once every trial has ended, logs the summary and the best
model. **Workers** run the trials: they find the chief's parent run by the search key and log one child run
per trial under it. All processes need the same command, the same ``--directory`` and the same MLflow store.
"""

from __future__ import annotations

import csv
import io
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from keraslab import data as datasets
from keraslab.config import ConfigError, ProjectSpec, flatten, to_toml
from keraslab.tracking import queries
from keraslab.tracking.runs import RunTracker
from keraslab.tracking.store import ensure_experiment, store_dir, tracking_uri
from keraslab.training.session import RunSession
from keraslab.training.trainer import resolved_config, resume_key, run_tags

if TYPE_CHECKING:
    from keraslab.tuning.space import SearchSpec
    from keraslab.tuning.tuners import TrackedTuner

DISTRIBUTED_ENV = ("KERASTUNER_TUNER_ID", "KERASTUNER_ORACLE_IP", "KERASTUNER_ORACLE_PORT")
PARENT_WAIT_SECONDS = 600


class SearchComplete(RuntimeError):
    """The same search already finished; ``--overwrite`` starts it again."""


@dataclass
class SearchOptions:
    data_dir: str | Path | None = None
    uri: str | None = None  # None: $MLFLOW_TRACKING_URI or ./mlruns
    experiment: str | None = None  # None: the project's name
    register: str | None = None
    overwrite: bool = False
    distributed: bool = False
    directory: Path | None = None  # KT's project folders; None: ./mlruns/tuning
    verbose: int = 0  # Keras fit verbosity inside trials


@dataclass
class SearchResult:
    role: str  # "lone", "chief" or "worker"
    parent_run_id: str
    trials: list[dict[str, Any]] = field(default_factory=list)
    best_hyperparameters: dict[str, Any] = field(default_factory=dict)
    best_score: float | None = None
    test_metrics: dict[str, float] = field(default_factory=dict)
    model_uri: str | None = None
    wall_seconds: float = 0.0


def role(distributed: bool) -> str:
    """``lone``, ``chief`` or ``worker``; the KERASTUNER_* variables must match ``--distributed``."""
    present = [name for name in DISTRIBUTED_ENV if os.environ.get(name)]
    if not distributed:
        if "KERASTUNER_ORACLE_IP" in present:
            raise ConfigError("KERASTUNER_ORACLE_IP is set but --distributed was not given; unset it or pass it")
        return "lone"
    if missing := [name for name in DISTRIBUTED_ENV if name not in present]:
        raise ConfigError(f"--distributed needs the environment variables {', '.join(missing)}")
    return "chief" if "chief" in os.environ["KERASTUNER_TUNER_ID"] else "worker"


def run_search(spec: ProjectSpec, search: SearchSpec, options: SearchOptions | None = None) -> SearchResult:
    """Run (or resume) the search of ``search`` over project ``spec``'s builder, tracked in MLflow."""
    started = time.perf_counter()
    options = options or SearchOptions()
    me = role(options.distributed)

    import keras

    from keraslab import tasks
    from keraslab.tuning.hypermodel import ProjectHyperModel
    from keraslab.tuning.tuners import TrackingContext, make_tuner, planned_trials

    seed = spec.training.seed if search.tuner.seed is None else search.tuner.seed
    keras.utils.set_random_seed(spec.training.seed)
    splits = datasets.load(spec.data, options.data_dir, spec.training.seed)
    task = tasks.get(spec.task)
    params = {**spec.builder_params(), **splits.info.model_params}
    config = resolved_config(spec, params)
    key = resume_key({"project": config, "search": search.to_table()})
    directory = options.directory or store_dir() / "tuning"
    project_name = f"{spec.name}-{key}"
    resumable = (directory / project_name).exists() and not options.overwrite

    uri = tracking_uri(options.uri)
    experiment = options.experiment or spec.name
    hypermodel = ProjectHyperModel(spec.model.builder, params, search.space, spec.training)
    tuner = make_tuner(
        search.tuner,
        hypermodel,
        seed,
        directory=str(directory),
        project_name=project_name,
        overwrite=options.overwrite and me != "worker",
    )
    train_ds, val_ds, test_ds = task.datasets(splits, spec, spec.training.batch_size)
    fit_kwargs = {
        "validation_data": val_ds,
        "epochs": search.tuner.epochs,
        "callbacks": trial_callbacks(spec, splits),
        "verbose": options.verbose,
        "shuffle": False,  # the pipeline shuffles
    }

    def attach(experiment_id: str, parent_run_id: str) -> None:
        tuner.attach(TrackingContext(uri, experiment_id, parent_run_id, key, planned_trials(tuner)))

    if me == "worker":
        experiment_id, parent_run_id = wait_for_parent(uri, experiment, key)
        result = SearchResult(me, parent_run_id)
        attach(experiment_id, parent_run_id)
        tuner.search(train_ds, **fit_kwargs)
        result.trials = [vars(r) for r in tuner.records.values()]
        result.wall_seconds = time.perf_counter() - started
        return result

    experiment_id = ensure_experiment(uri, experiment)
    if resumable and (finished := queries.keyed_run(uri, experiment_id, key, "FINISHED")):
        raise SearchComplete(f"this search already finished (run {finished}); --overwrite starts it again")
    if options.overwrite:  # earlier unfinished parent runs of this search end KILLED instead of staying RUNNING
        queries.end_unfinished(uri, experiment_id, key)
    session = RunSession(RunTracker(uri, experiment), spec, splits)
    tags = {
        **run_tags(spec, "default", 1, splits.info.source),
        "keraslab.kind": "search",
        "keraslab.tuner": search.tuner.kind,
        "keraslab.distributed": str(me == "chief").lower(),
    }
    with session.open(
        run_name=f"tune-{spec.name}",
        tags=tags,
        key=key,
        resumable=resumable,
        config=config,
        params=flatten(search.to_table()),
        texts={"search.toml": to_toml(search.to_table())},
    ) as tracker:
        attach(experiment_id, tracker.run_id)
        tuner.search(train_ds, **fit_kwargs)
        result = SearchResult(me, tracker.run_id)
        result.trials = trials_table(tuner, uri, experiment_id, tracker.run_id)
        log_summary(tracker, tuner, search, result)
        evaluation, result.model_uri = session.finish(tuner.get_best_models(1)[0], test_ds, options.register)
        result.test_metrics = evaluation.metrics
    result.wall_seconds = time.perf_counter() - started
    return result


def trial_callbacks(spec: ProjectSpec, splits: Any) -> list[Any]:
    """What KT deep-copies for every trial: the trainer's training callbacks and the task's own.

    The task's callbacks get a disabled tracker: what they add to the epoch logs (e.g. a PINN's ``rel_l2``)
    reaches the trial's child run through the tuner; artifacts they would log are skipped for trials.
    """
    from keraslab import tasks
    from keraslab.training.callbacks import training_callbacks

    task_callbacks = tasks.get(spec.task).callbacks(spec, splits, RunTracker("", spec.name, enabled=False))
    return [*training_callbacks(spec.training), *task_callbacks]


def wait_for_parent(uri: str, experiment: str, key: str, timeout: float = PARENT_WAIT_SECONDS) -> tuple[str, str]:
    """A worker waits for the chief's RUNNING parent run of search ``key``: (experiment id, run id)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = queries.experiment_id(uri, experiment)  # the chief creates it
        if found and (parent := queries.keyed_run(uri, found, key, "RUNNING")):
            return found, parent
        time.sleep(1)
    raise RuntimeError(f"no parent run of search {key} appeared in {uri} within {timeout:.0f} s: is the chief up?")


def trials_table(tuner: TrackedTuner, uri: str, experiment_id: str, parent_run_id: str) -> list[dict[str, Any]]:
    """One row per trial: id, status, score, hyperparameters, child run and its measurements."""
    from keraslab.tuning.tuners import TRIAL_TAG

    children = queries.child_runs(uri, experiment_id, parent_run_id)
    latest = {run.data.tags.get(TRIAL_TAG): run for run in children}  # a retried trial: its last attempt
    rows = []
    for trial_id in sorted(tuner.oracle.trials):
        trial = tuner.oracle.trials[trial_id]
        run = latest.get(trial_id)
        measured = (
            {k: run.data.metrics.get(k) for k in ("trial_seconds", "overhead_seconds", "peak_rss_mb")} if run else {}
        )
        rows.append(
            {
                "trial_id": trial_id,
                "status": str(trial.status),
                "score": trial.score,
                **trial.hyperparameters.values,
                "run_id": run.info.run_id if run else None,
                **measured,
            }
        )
    return rows


def log_summary(tracker: RunTracker, tuner: TrackedTuner, search: SearchSpec, result: SearchResult) -> None:
    """Best hyperparameters and score, the trials table and its plots on the parent run."""
    from keraslab.tuning.plots import objective_per_trial, parallel_coordinates

    best = tuner.oracle.get_best_trials(1)
    if not best or best[0].score is None:
        raise RuntimeError("no trial completed: see the FAILED child runs for the reasons")
    values = {k: v for k, v in best[0].hyperparameters.values.items() if not k.startswith("tuner/")}
    result.best_hyperparameters, result.best_score = values, best[0].score
    objective = search.tuner.objective
    tracker.log_params({f"best.{k}": v for k, v in values.items()} | {"best.trial_id": best[0].trial_id})
    completed = sum(row["status"] == "COMPLETED" for row in result.trials)
    tracker.log_metrics(
        {f"best_{objective}": best[0].score, "trials": len(result.trials), "trials_completed": completed}
    )
    tracker.log_text(to_csv(result.trials), "trials.csv")
    names = list(search.space)
    tracker.log_figure(objective_per_trial(result.trials, objective, search.tuner.resolved_direction), "objective.png")
    tracker.log_figure(parallel_coordinates(result.trials, names, objective), "parallel_coordinates.png")


def to_csv(rows: list[dict[str, Any]]) -> str:
    columns = list(dict.fromkeys(key for row in rows for key in row))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns)
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()
