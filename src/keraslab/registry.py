"""Project names -> specs: reads ``projects/*.toml`` (and ``tuning/*.toml`` for search spaces)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from keraslab.config import ConfigError, ProjectSpec, apply_overrides, load_project, read_toml

REPO_ROOT = Path(__file__).resolve().parents[2]


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
        known = ", ".join(p.stem.replace("_", "-") for p in files.values()) or "(none found)"
        where = ", ".join(str(d) for d in search_dirs(kind)) or f"no {kind}/ folder found"
        raise ConfigError(
            f"unknown {kind[:-1] if kind == 'projects' else kind} {name!r}; known: {known} (searched {where})"
        ) from None


def load_raw(name: str, overrides: Iterable[str] = ()) -> tuple[dict[str, Any], Path]:
    path = find(name)
    return apply_overrides(read_toml(path), overrides), path


def load(name: str, overrides: Iterable[str] = ()) -> ProjectSpec:
    """Load, override and validate project ``name`` (a name or a path to a TOML file)."""
    raw, path = load_raw(name, overrides)
    return load_project(raw, str(path))


def all_projects() -> list[ProjectSpec]:
    """Every project found, validated (an invalid file raises ConfigError naming it)."""
    return [load_project(read_toml(p), str(p)) for p in project_files().values()]
