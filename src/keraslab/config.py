"""Project and search specs: TOML files validated once, with `--set key=value` overrides.

A project is *data + a builder + a task*. The spec is plain data; ``keraslab.registry.load_project`` checks
``[data.options]`` and ``[model]`` against the dataset's ``Options`` and the builder's ``Params``, so a typo in any
key fails at load time with the key, the value and what is allowed — before TensorFlow is even imported.
"""

from __future__ import annotations

import ast
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class ConfigError(ValueError):
    """A project or search file, or an override, that cannot be used as given."""


class Strict(BaseModel):
    """Base for every spec: unknown keys are errors, assignments are validated."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class DataSpec(Strict):
    dataset: str = Field(description="a dataset known to the registry")
    validation_split: float = Field(0.1, ge=0.0, lt=1.0, description="fraction of *training* data held out")
    options: dict[str, Any] = Field(default_factory=dict, description="dataset-specific settings")


class EarlyStoppingSpec(Strict):
    enabled: bool = True
    patience: int = Field(5, ge=0)
    min_delta: float = Field(0.0, ge=0.0)


class ReduceLrSpec(Strict):
    """Keras ReduceLROnPlateau on ``training.monitor``."""

    enabled: bool = False
    factor: float = Field(0.5, gt=0.0, lt=1.0)
    patience: int = Field(2, ge=0)
    min_lr: float = Field(1e-6, ge=0.0)


class TrainingSpec(Strict):
    epochs: int = Field(10, ge=1)
    batch_size: int = Field(128, ge=1, description="per replica; the global batch is this × replicas")
    seed: int = 42
    strategy: Literal["auto", "default", "one-device", "mirrored", "multiworker", "tpu"] = "auto"
    devices: list[str] = Field(default_factory=list, description="device names for one-device/mirrored; tpu: its name")
    jit_compile: bool | Literal["auto"] = "auto"
    steps_per_execution: int = Field(
        1, ge=1, description="steps per compiled call in fit (fewer Python round trips; batch callbacks see every Nth)"
    )
    mixed_precision: bool = Field(False, description="mixed_float16 on GPU, mixed_bfloat16 on CPU/TPU")
    lr_decay_start: float = Field(
        0.5, ge=0.0, le=1.0, description="fraction of the epochs before the learning rate decays (linear-decay tasks)"
    )
    lbfgs_fraction: float = Field(
        0.0, ge=0.0, lt=1.0, description="fraction of the epochs (at least one if > 0) that polish with L-BFGS"
    )
    monitor: str = Field("val_loss", description="metric for early stopping and the best checkpoint")
    early_stopping: EarlyStoppingSpec = Field(default_factory=EarlyStoppingSpec)
    reduce_lr: ReduceLrSpec = Field(default_factory=ReduceLrSpec)


class ModelSpec(BaseModel):
    """``builder`` names a builder known to the registry; every other key is that builder's parameter."""

    model_config = ConfigDict(extra="allow")

    builder: str

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class ProjectSpec(Strict):
    name: str
    description: str = ""
    task: str = Field("classification", description="a task known to the registry")
    data: DataSpec
    model: ModelSpec
    training: TrainingSpec = Field(default_factory=TrainingSpec)

    def builder_params(self) -> dict[str, Any]:
        """The model parameters (the registry filled in the builder's defaults when the file loaded)."""
        return self.model.params


# --------------------------------------------------------------------------- loading and overrides


def read_toml(path: Path) -> dict[str, Any]:
    """The TOML table of ``path``; any file that is not readable UTF-8 TOML raises ConfigError naming it."""
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: file not found") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start}), so not TOML") from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror or exc})") from exc


def parse_override(text: str) -> tuple[list[str], Any]:
    """``"training.epochs=3"`` -> (["training", "epochs"], 3). Values are TOML/Python literals or strings."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"override {text!r} is not of the form key.path=value (e.g. training.epochs=3)")
    raw = raw.strip()
    for loader in (_toml_value, ast.literal_eval):
        try:
            value = loader(raw)
            break
        except (ValueError, SyntaxError, tomllib.TOMLDecodeError):
            continue
    else:
        value = raw  # a bare word such as relu or adam
    return [part.strip() for part in key.split(".")], value


def _toml_value(raw: str) -> Any:
    return tomllib.loads(f"v = {raw}")["v"]


def apply_overrides(raw: dict[str, Any], overrides: Iterable[str]) -> dict[str, Any]:
    """Return a copy of ``raw`` with each ``key.path=value`` set (tables created as needed)."""
    result = _deep_copy(raw)
    for text in overrides:
        path, value = parse_override(text)
        node = result
        for i, part in enumerate(path[:-1]):
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(f"override {text!r}: {'.'.join(path[: i + 1])} is a value ({child!r}), not a table")
            node = child
        node[path[-1]] = value
    return result


def _deep_copy(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _deep_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_deep_copy(v) for v in value]
    return value


def validate(model: type[BaseModel], raw: Mapping[str, Any], source: str, prefix: str = "") -> Any:
    """Validate ``raw`` with ``model``; a failure names each key, its value and what is allowed."""
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"{source}: invalid configuration\n{format_errors(exc, model, raw, prefix)}") from None


def format_errors(exc: ValidationError, model: type[BaseModel], raw: Mapping[str, Any], prefix: str = "") -> str:
    """One line per error: ``key = value: what is expected``."""
    lines = []
    for err in exc.errors():
        loc = [str(p) for p in err["loc"]]
        key = prefix + ".".join(loc) if loc else prefix.rstrip(".") or "(top level)"
        if err["type"] == "extra_forbidden":
            lines.append(f"  - {key} = {err['input']!r}: unknown key (allowed: {allowed_keys(model, loc)})")
        else:
            value = _lookup(raw, loc)
            lines.append(f"  - {key} = {value!r}: {_message(err)}")
    return "\n".join(lines)


def _message(err: Mapping[str, Any]) -> str:
    expected = err.get("ctx", {}).get("expected")
    if err["type"] == "missing":
        return "required key is missing"
    return f"expected {expected}" if expected else err["msg"]


def allowed_keys(model: type[BaseModel], loc: list[str]) -> str:
    """The field names of the (sub)model that holds the key at ``loc``."""
    node: Any = model
    for part in loc[:-1]:
        field = node.model_fields.get(part)
        node = field.annotation if field is not None else None
        if not (isinstance(node, type) and issubclass(node, BaseModel)):
            return "see the project's TOML files"
    names = sorted(node.model_fields)
    if node is ProjectSpec and loc and loc[0] == "model":
        names = ["builder", "<the builder's parameters>"]
    return ", ".join(names)


def _lookup(raw: Mapping[str, Any], loc: list[str]) -> Any:
    node: Any = raw
    for part in loc:
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        else:
            return None
    return node


def to_toml(data: Mapping[str, Any]) -> str:
    """Serialise a resolved spec (nested dicts of scalars and lists) as TOML."""
    scalars, tables = [], []
    for key, value in data.items():
        (tables if isinstance(value, Mapping) else scalars).append((key, value))
    out = [f"{key} = {_toml_literal(value)}" for key, value in scalars if value is not None]
    for key, value in tables:
        out.append("")
        out.extend(_toml_table(key, value))
    return "\n".join(out).strip() + "\n"


def _toml_table(prefix: str, table: Mapping[str, Any]) -> list[str]:
    lines = [f"[{prefix}]"]
    nested = []
    for key, value in table.items():
        if isinstance(value, Mapping):
            nested.append((key, value))
        elif value is not None:
            lines.append(f"{key} = {_toml_literal(value)}")
    for key, value in nested:
        lines.append("")
        lines.extend(_toml_table(f"{prefix}.{key}", value))
    return lines


def _toml_literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_literal(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{k} = {_toml_literal(v)}" for k, v in value.items()) + " }"
    escaped = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}``: the form in which a spec is logged as MLflow params."""
    flat: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat
