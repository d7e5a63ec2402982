"""The run session: the one lifecycle of a tracked run, shared by ``train`` (a lone process or a cluster's chief)
and ``tune``'s parent run.

It opens (or resumes) the run, logs the resolved config as params and ``config.toml``, and at the end logs the
test evaluation (metrics, figures, texts) and the served model; the run then ends FINISHED, FAILED or KILLED
(``RunTracker.start``). Trials log their epochs through the tuner and their evaluation the same way.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from keraslab.config import flatten, to_toml

if TYPE_CHECKING:
    import keras
    import tensorflow as tf

    from keraslab.config import ProjectSpec
    from keraslab.data import Splits
    from keraslab.tasks import Evaluation
    from keraslab.tracking.runs import RunTracker


@dataclass
class RunSession:
    """A project's run: ``open`` it around the work, ``finish`` it with the trained model."""

    tracker: RunTracker
    spec: ProjectSpec
    splits: Splits

    @contextlib.contextmanager
    def open(
        self,
        *,
        run_name: str,
        tags: Mapping[str, str],
        key: str,
        resumable: bool,
        config: Mapping[str, Any],
        params: Mapping[str, Any] | None = None,
        texts: Mapping[str, str] | None = None,
    ) -> Iterator[RunTracker]:
        """Start or resume the run of ``key`` and log ``config`` (flattened, plus ``params``) and its TOML."""
        with self.tracker.start(run_name=run_name, tags=tags, resume_key=key, resumable=resumable):
            self.tracker.log_params({**flatten(config), **(params or {})})
            for name, text in {"config.toml": to_toml(config), **(texts or {})}.items():
                self.tracker.log_text(text, name)
            yield self.tracker

    def finish(
        self, model: keras.Model, test_ds: tf.data.Dataset, register: str | None
    ) -> tuple[Evaluation, str | None]:
        """Evaluate ``model`` on the test split, log the evaluation and the served model; return both."""
        from keraslab import serving, tasks

        evaluation = tasks.get(self.spec.task).evaluate(model, test_ds, self.splits)
        log_evaluation(self.tracker, evaluation)
        model_uri = serving.log_model(self.tracker, self.spec, self.splits, model, register, evaluation.example)
        return evaluation, model_uri


def log_evaluation(tracker: RunTracker, evaluation: Evaluation) -> None:
    """An evaluation's metrics, figures and texts on the tracker's run."""
    tracker.log_metrics(evaluation.metrics)
    for name, figure in evaluation.figures.items():
        tracker.log_figure(figure, name)
    for name, text in evaluation.texts.items():
        tracker.log_text(text, name)
