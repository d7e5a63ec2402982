"""Search specs: ``tuning/<name>.toml`` = tuner settings + a space over the project builder's parameters.

Validated like project specs (``keraslab.config``): unknown keys, bad bounds and values the builder would
reject fail at load time, naming the key, the value and what is allowed. No TensorFlow here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field, ValidationError, model_validator

from keraslab import registry
from keraslab.config import ConfigError, ProjectSpec, Strict, apply_overrides, read_toml, validate

if TYPE_CHECKING:
    import keras_tuner

TunerKind = Literal["random", "hyperband", "bayesian", "grid"]
Scalar = str | bool | int | float


class IntHp(Strict):
    type: Literal["int"]
    min: int
    max: int
    step: int | None = Field(None, ge=1)
    sampling: Literal["linear", "log", "reverse_log"] = "linear"

    @model_validator(mode="after")
    def _bounds(self) -> IntHp:
        _check_bounds(self.min, self.max, self.sampling)
        return self

    def declare(self, hp: keras_tuner.HyperParameters, name: str) -> int:
        return hp.Int(name, self.min, self.max, step=self.step, sampling=self.sampling)

    def extremes(self) -> list[Any]:
        return [self.min, self.max]


class FloatHp(Strict):
    type: Literal["float"]
    min: float
    max: float
    step: float | None = Field(None, gt=0)
    sampling: Literal["linear", "log", "reverse_log"] = "linear"

    @model_validator(mode="after")
    def _bounds(self) -> FloatHp:
        _check_bounds(self.min, self.max, self.sampling)
        return self

    def declare(self, hp: keras_tuner.HyperParameters, name: str) -> float:
        return hp.Float(name, self.min, self.max, step=self.step, sampling=self.sampling)

    def extremes(self) -> list[Any]:
        return [self.min, self.max]


class ChoiceHp(Strict):
    type: Literal["choice"]
    values: list[Scalar] = Field(min_length=1)

    @model_validator(mode="after")
    def _one_type(self) -> ChoiceHp:
        if len({type(v) for v in self.values}) > 1:
            raise ValueError(f"values must all have one type, got {self.values}")
        return self

    def declare(self, hp: keras_tuner.HyperParameters, name: str) -> Any:
        return hp.Choice(name, self.values)

    def extremes(self) -> list[Any]:
        return list(self.values)


class BooleanHp(Strict):
    type: Literal["boolean"]

    def declare(self, hp: keras_tuner.HyperParameters, name: str) -> bool:
        return hp.Boolean(name)

    def extremes(self) -> list[Any]:
        return [False, True]


class FixedHp(Strict):
    type: Literal["fixed"]
    value: Scalar

    def declare(self, hp: keras_tuner.HyperParameters, name: str) -> Any:
        return hp.Fixed(name, self.value)

    def extremes(self) -> list[Any]:
        return [self.value]


Hp = Annotated[IntHp | FloatHp | ChoiceHp | BooleanHp | FixedHp, Field(discriminator="type")]


def _check_bounds(low: float, high: float, sampling: str) -> None:
    if low >= high:
        raise ValueError(f"min ({low}) must be below max ({high})")
    if sampling != "linear" and low <= 0:
        raise ValueError(f"{sampling} sampling needs min > 0, got {low}")


class TunerSpec(Strict):
    kind: TunerKind = "random"
    objective: str = Field("val_accuracy", description="a metric name of the trials' history")
    direction: Literal["min", "max"] | None = Field(None, description="None: max for accuracies, min otherwise")
    max_trials: int | None = Field(10, ge=1, description="trial budget (hyperband: an optional cap)")
    epochs: int = Field(5, ge=1, description="epochs per trial (hyperband: max_epochs)")
    factor: int = Field(3, ge=2, description="hyperband's reduction factor")
    hyperband_iterations: int = Field(1, ge=1)
    executions_per_trial: int = Field(1, ge=1)
    max_consecutive_failed_trials: int = Field(3, ge=1)
    seed: int | None = Field(None, description="None: the project's training.seed")

    @model_validator(mode="after")
    def _budget(self) -> TunerSpec:
        if self.max_trials is None and self.kind != "hyperband":
            raise ValueError(f"max_trials is needed for a {self.kind} search (only hyperband has its own schedule)")
        return self

    @property
    def resolved_direction(self) -> str:
        return self.direction or ("max" if "acc" in self.objective else "min")


class SearchSpec(Strict):
    tuner: TunerSpec = Field(default_factory=TunerSpec)
    space: dict[str, Hp] = Field(min_length=1, description="builder parameter -> hyperparameter")

    def to_table(self) -> dict[str, Any]:
        """The spec as plain data (for logging as TOML and params)."""
        return self.model_dump(mode="json", exclude_none=True)


def load_search(
    path: Path, project: ProjectSpec, overrides: Iterable[str] = (), data_params: Mapping[str, Any] | None = None
) -> SearchSpec:
    """Read, override and validate the search file ``path`` against ``project``'s builder."""
    raw = apply_overrides(read_toml(path), overrides)
    spec = validate(SearchSpec, raw, str(path))
    check_space(spec, project, str(path), data_params or {})
    if spec.tuner.kind == "grid":
        check_grid(spec, str(path))
    return spec


def find_search(project: ProjectSpec, space: str | None) -> Path:
    """``--space`` (a name or a file), else ``tuning/<project>.toml``."""
    return registry.find(space or project.name, kind="tuning")


def check_space(spec: SearchSpec, project: ProjectSpec, source: str, data_params: Mapping[str, Any]) -> None:
    """Every searched key is a builder parameter and every value it can take is one the builder accepts."""
    model = registry.params_model(project.model.builder)
    unknown = sorted(set(spec.space) - set(model.model_fields))
    if unknown:
        raise ConfigError(
            f"{source}: space.{unknown[0]}: {project.model.builder!r} has no such parameter "
            f"(allowed: {', '.join(sorted(model.model_fields))})"
        )
    base = {**project.model.params, **data_params, **{name: hp.extremes()[0] for name, hp in spec.space.items()}}
    for name, hp in spec.space.items():
        for value in hp.extremes():
            try:
                model.model_validate({**base, name: value})
            except ValidationError as exc:
                reason = "; ".join(err["msg"] for err in exc.errors())
                raise ConfigError(
                    f"{source}: space.{name} can take {value!r}, which the builder rejects: {reason}"
                ) from None


def check_grid(spec: SearchSpec, source: str) -> None:
    """Grid search enumerates values: floats need a step and ints linear sampling or a step."""
    for name, hp in spec.space.items():
        if isinstance(hp, FloatHp | IntHp) and hp.step is None and (isinstance(hp, FloatHp) or hp.sampling != "linear"):
            raise ConfigError(f"{source}: space.{name}: tuner.kind = 'grid' needs a step for {hp.type} ranges")
