"""The PINN: a Keras model around a network u(inputs) whose ``train_step`` penalises a problem's residual.

Loss = Σ_term weight_term × mean(term²): the residual at the collocation points, and per condition the misfit of
u (or of one of its derivatives) to the condition's values. ``fit`` iterates batches of those points (see
``task``); an inverse problem's unknown coefficients are trainable weights (as logarithms).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import keras
import tensorflow as tf

from keraslab.config import ConfigError
from keraslab.projects.pinn.autodiff import jet
from keraslab.projects.pinn.problems import make_problem


@keras.saving.register_keras_serializable(package="keraslab")
def sine(x: Any) -> Any:
    """sin as an activation (SIREN-style networks)."""
    return keras.ops.sin(x)


def weights_of(terms: tuple[str, ...], given: Mapping[str, float]) -> dict[str, float]:
    """A weight per loss term (1 unless ``given``); names that are not terms, or negative weights, are errors."""
    unknown = sorted(set(given) - set(terms))
    if unknown or any(w < 0 for w in given.values()):
        raise ConfigError(f"model.loss_weights = {dict(given)}: expected weights >= 0 for the terms {', '.join(terms)}")
    return {term: float(given.get(term, 1.0)) for term in terms}


@keras.saving.register_keras_serializable(package="keraslab")
class PinnModel(keras.Model):
    def __init__(
        self,
        network: keras.Model,
        problem: str,
        problem_options: Mapping[str, Any] | None = None,
        term_weights: Mapping[str, float] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.network = network
        self.problem_name, self.problem_options = problem, dict(problem_options or {})
        self.problem = make_problem(problem, self.problem_options)
        self.point_dtype: str = keras.backend.standardize_dtype(network.inputs[0].dtype)  # float32 or float64
        self.term_weights = weights_of(self.problem.terms, term_weights or {})
        self.log_unknowns = {
            name: self.add_weight(
                name=f"log_{name}",
                shape=(),
                initializer=keras.initializers.Constant(math.log(guess)),
                dtype=self.point_dtype,
            )
            for name, guess in self.problem.unknowns.items()
        }
        self.trackers = {term: keras.metrics.Mean(name=f"loss_{term}") for term in ("total", *self.problem.terms)}
        self.built = True

    def call(self, inputs: tf.Tensor, training: bool = False) -> tf.Tensor:
        return self.network(inputs, training=training)

    @property
    def metrics(self) -> list[keras.metrics.Metric]:
        return list(self.trackers.values())

    def coefficients(self) -> dict[str, Any]:
        """The problem's coefficients with the unknown ones replaced by the current estimates."""
        known = self.problem.coefficients()
        return {**known, **{name: keras.ops.exp(log) for name, log in self.log_unknowns.items()}}

    def residual(self, points: Any) -> tf.Tensor:
        """The problem's residual (N, 1) at ``points`` (N, d) with the current coefficients."""
        points = tf.cast(points, self.point_dtype)
        return self.problem.residual(jet(self.network, points, self.problem.second_derivatives), self.coefficients())

    def loss_terms(self, batch: Mapping[str, Any]) -> dict[str, tf.Tensor]:
        """Mean squared residual (``pde``) and condition misfits of one batch (see ``task``)."""
        dtype = self.point_dtype
        terms = {"pde": tf.reduce_mean(tf.square(self.residual(batch["collocation"])))}
        for condition in self.problem.conditions:
            points = tf.cast(batch[condition.name]["points"], dtype)
            values = tf.cast(batch[condition.name]["values"], dtype)
            if condition.derivative is None:
                predicted = self.network(points)
            else:
                predicted = jet(self.network, points).d(condition.derivative)
            terms[condition.name] = tf.reduce_mean(tf.square(predicted - values))
        return terms

    def total_loss(self, terms: Mapping[str, tf.Tensor]) -> tf.Tensor:
        return tf.add_n([self.term_weights[name] * value for name, value in terms.items()])

    def train_step(self, batch: Mapping[str, Any]) -> dict[str, tf.Tensor]:
        with tf.GradientTape() as tape:
            terms = self.loss_terms(batch)
            loss = self.total_loss(terms)
        gradients = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply(gradients, self.trainable_variables)
        self.trackers["total"].update_state(loss)
        for name, value in terms.items():
            self.trackers[name].update_state(value)
        results = {tracker.name: tracker.result() for tracker in self.trackers.values()}
        results["loss"] = results.pop("loss_total")
        return results

    def get_config(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "network": keras.saving.serialize_keras_object(self.network),
            "problem": self.problem_name,
            "problem_options": self.problem_options,
            "term_weights": self.term_weights,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> PinnModel:
        config = dict(config)
        network = keras.saving.deserialize_keras_object(config.pop("network"))
        return cls(network=network, **config)
