"""The only place that finds projects and their parts.

A project is a TOML file (``projects/<name>.toml``) naming a dataset, a builder and a task. Those names resolve
here to modules: the core's own (``mlp``/``cnn``/``rnn`` builders, the ``classification`` task and wrapper) and
those that each course-project package under ``keraslab.projects`` declares in its ``COMPONENTS``. Packages
outside keraslab join through ``$KERASLAB_PROJECT_PACKAGES`` (comma-separated importable names). The core never
imports a project package: it asks the registry.

Looking a name up imports only the package's ``__init__`` (no TensorFlow); the named module is imported when it
is used.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

from pydantic import BaseModel

from keraslab.config import ConfigError, ProjectSpec, apply_overrides, read_toml, validate

REPO_ROOT = Path(__file__).resolve().parents[2]
PACKAGES_ENV = "KERASLAB_PROJECT_PACKAGES"
DEFAULT_WRAPPER = "keraslab.serving.wrappers.tensors"

Kind = Literal["datasets", "builders", "tasks", "wrappers"]


@dataclass(frozen=True)
class Components:
    """What a package contributes, by name -> module path.

    - ``datasets``: modules with ``Options`` (pydantic, for ``[data.options]``) and
      ``load(spec, data_dir, seed) -> Splits``;
    - ``builders``: modules with ``Params`` (pydantic, for ``[model]``) and ``build(params) -> keras.Model``;
    - ``tasks``: modules with ``datasets``, ``callbacks`` and ``evaluate`` (see ``keraslab.tasks``);
    - ``wrappers``: per task, modules with ``wrapper(spec, splits, model)`` (see ``keraslab.serving.wrappers``);
    - ``commands``: modules with ``register(app)`` adding CLI commands (they import no TensorFlow at import).
    """

    datasets: Mapping[str, str] = field(default_factory=dict)
    builders: Mapping[str, str] = field(default_factory=dict)
    tasks: Mapping[str, str] = field(default_factory=dict)
    wrappers: Mapping[str, str] = field(default_factory=dict)
    commands: tuple[str, ...] = ()


CORE = Components(
    builders={name: f"keraslab.models.{name}" for name in ("mlp", "cnn", "rnn")},
    tasks={"classification": "keraslab.tasks.classification"},
    wrappers={"classification": "keraslab.serving.wrappers.classification"},
    commands=(
        "keraslab.tuning.commands",
        "keraslab.serving.commands",
        "keraslab.training.cluster",
        "keraslab.tracking.server",
    ),
)


def project_packages() -> list[str]:
    """The course-project packages: every package under ``keraslab.projects``, then ``$KERASLAB_PROJECT_PACKAGES``."""
    # the package from sys.modules: the attribute keraslab.projects is also the API's projects() function
    package = importlib.import_module("keraslab.projects")
    found = [f"keraslab.projects.{m.name}" for m in pkgutil.iter_modules(package.__path__) if m.ispkg]
    extra = [name.strip() for name in os.environ.get(PACKAGES_ENV, "").split(",") if name.strip()]
    return sorted(found) + extra


@cache
def _components(packages: tuple[str, ...]) -> dict[str, Any]:
    merged: dict[str, Any] = {kind: dict(getattr(CORE, kind)) for kind in ("datasets", "builders", "tasks", "wrappers")}
    merged["commands"] = list(CORE.commands)
    for package in packages:
        contributed = getattr(importlib.import_module(package), "COMPONENTS", None)
        if not isinstance(contributed, Components):
            raise ConfigError(f"project package {package} has no COMPONENTS = keraslab.registry.Components(...)")
        for kind in ("datasets", "builders", "tasks", "wrappers"):
            for name, module in getattr(contributed, kind).items():
                if name in merged[kind] and merged[kind][name] != module:
                    raise ConfigError(f"{kind[:-1]} {name!r} is declared twice: {merged[kind][name]} and {module}")
                merged[kind][name] = module
        merged["commands"] += list(contributed.commands)
    return merged


def components() -> dict[str, Any]:
    """Every known component: kind -> name -> module path, and ``commands`` -> module paths."""
    return _components(tuple(project_packages()))


def known(kind: Kind) -> list[str]:
    return sorted(components()[kind])


def module(kind: Kind, name: str) -> ModuleType:
    """The module implementing component ``name`` of ``kind`` (a wrapper falls back to the tensors wrapper)."""
    table = components()[kind]
    if name not in table:
        if kind == "wrappers":
            return importlib.import_module(DEFAULT_WRAPPER)
        raise ConfigError(f"{kind[:-1]} {name!r} is not known; known: {', '.join(known(kind))}")
    return importlib.import_module(table[name])


def command_modules() -> list[str]:
    return list(components()["commands"])


def params_model(builder: str) -> type[BaseModel]:
    """The pydantic ``Params`` of builder ``builder`` (imports no TensorFlow)."""
    if builder not in components()["builders"]:
        raise ConfigError(f"model.builder = {builder!r} is not a known builder; known: {', '.join(known('builders'))}")
    return module("builders", builder).Params


def options_model(dataset: str) -> type[BaseModel]:
    """The pydantic ``Options`` of dataset ``dataset`` (imports no TensorFlow)."""
    if dataset not in components()["datasets"]:
        raise ConfigError(f"data.dataset = {dataset!r} is not a known dataset; known: {', '.join(known('datasets'))}")
    return module("datasets", dataset).Options


# --------------------------------------------------------------------------- project files


def search_dirs(kind: str) -> list[Path]:
    """Folders holding ``kind`` files ("projects" or "tuning"), first match wins.

    ``$KERASLAB_<KIND>_DIR`` if set, then ``./<kind>`` in the working directory, then the checkout's own.
    """
    dirs = []
    env = os.environ.get(f"KERASLAB_{kind.upper()}_DIR")
    if env:
        dirs.append(Path(env))
    dirs += [Path.cwd() / kind, REPO_ROOT / kind]
    unique: list[Path] = []
    for d in dirs:
        if d.is_dir() and d.resolve() not in [u.resolve() for u in unique]:
            unique.append(d)
    return unique


def normalise(name: str) -> str:
    """Project names compare with ``-`` and ``_`` alike and without case."""
    return name.strip().lower().replace("-", "_")


def project_files(kind: str = "projects") -> dict[str, Path]:
    """Normalised name -> TOML file, earlier search folders shadowing later ones."""
    files: dict[str, Path] = {}
    for folder in reversed(search_dirs(kind)):
        for path in sorted(folder.glob("*.toml")):
            files[normalise(path.stem)] = path
    return files


def find(name: str, kind: str = "projects") -> Path:
    """The TOML file of project ``name``; an unknown name lists the known ones."""
    candidate = Path(name)
    if candidate.suffix == ".toml" and candidate.is_file():
        return candidate
    files = project_files(kind)
    try:
        return files[normalise(name)]
    except KeyError:
        known_names = ", ".join(p.stem.replace("_", "-") for p in files.values()) or "(none found)"
        where = ", ".join(str(d) for d in search_dirs(kind)) or f"no {kind}/ folder found"
        raise ConfigError(
            f"unknown {kind[:-1] if kind == 'projects' else kind} {name!r}; known: {known_names} (searched {where})"
        ) from None


def load_project(raw: Mapping[str, Any], source: str) -> ProjectSpec:
    """Validate a project table once, completely: the spec, its task, and ``[data.options]`` and ``[model]``
    against the dataset's ``Options`` and the builder's ``Params``. The returned spec holds every default."""
    spec = validate(ProjectSpec, raw, source)
    if spec.task not in components()["tasks"]:
        raise ConfigError(f"{source}: task = {spec.task!r} is not a known task; known: {', '.join(known('tasks'))}")
    try:
        options = validate(options_model(spec.data.dataset), spec.data.options, source, prefix="data.options.")
        params = validate(params_model(spec.model.builder), spec.model.params, source, prefix="model.")
    except ConfigError as exc:
        raise ConfigError(str(exc) if str(exc).startswith(source) else f"{source}: {exc}") from None
    spec.data.options = options.model_dump()
    spec.model = type(spec.model)(builder=spec.model.builder, **params.model_dump())
    return spec


def resolve_recipe(raw: Mapping[str, Any], overrides: Iterable[str], source: str) -> dict[str, Any]:
    """The project table with ``overrides`` applied and its dataset's recipe, if any, in place.

    A project file may carry ``[recipes.<dataset>]``: whole ``data``/``model``/``training`` tables for another
    dataset (``activity-rnn`` sized for BasicMotions has one for ``hapt``). When the overridden ``data.dataset``
    names a recipe, its tables replace the file's; the overrides are then applied again, so ``--set`` always wins.
    """
    overrides = list(overrides)
    table = apply_overrides(raw, overrides)
    recipes = table.pop("recipes", {})
    if not isinstance(recipes, Mapping):
        raise ConfigError(f"{source}: recipes must be a table of [recipes.<dataset>] tables, not {recipes!r}")
    data = table.get("data")
    dataset = data.get("dataset") if isinstance(data, Mapping) else None
    recipe = recipes.get(dataset) if isinstance(dataset, str) else None
    if recipe is None:
        return table
    unknown = sorted(set(recipe) - {"data", "model", "training"}) if isinstance(recipe, Mapping) else ["(not a table)"]
    if unknown:
        raise ConfigError(
            f"{source}: recipes.{dataset}: only data, model and training tables belong here, not {unknown[0]}"
        )
    table = apply_overrides({**{k: v for k, v in raw.items() if k != "recipes"}, **recipe}, overrides)
    table.pop("recipes", None)  # an override of the recipe itself has done its work
    return table


def load_raw(name: str, overrides: Iterable[str] = ()) -> tuple[dict[str, Any], Path]:
    path = find(name)
    return resolve_recipe(read_toml(path), overrides, str(path)), path


def load(name: str, overrides: Iterable[str] = ()) -> ProjectSpec:
    """Load, override and validate project ``name`` (a name or a path to a TOML file)."""
    raw, path = load_raw(name, overrides)
    return load_project(raw, str(path))


def all_projects() -> list[ProjectSpec]:
    """Every project found, validated with each of its recipes (an invalid file raises ConfigError naming it)."""
    specs = []
    for path in project_files().values():
        raw, source = read_toml(path), str(path)
        specs.append(load_project(resolve_recipe(raw, (), source), source))
        for dataset in raw.get("recipes", {}):
            load_project(resolve_recipe(raw, [f"data.dataset={dataset}"], source), source)
    return specs
