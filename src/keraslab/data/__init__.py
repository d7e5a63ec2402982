"""Datasets: one module per family, each exposing ``load(spec, data_dir, seed) -> Splits``.

A family reads a local copy of the dataset's official raw files when ``data_dir`` (``--data-dir`` or
``$KERASLAB_DATA_DIR``) is given, and otherwise goes through ``tensorflow-datasets``; without network and
without local files it fails in seconds naming the files it wants.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import TYPE_CHECKING

from keraslab.data.splits import DataInfo, DataUnavailable, Splits

if TYPE_CHECKING:
    from keraslab.config import DataSpec

__all__ = ["DataInfo", "DataUnavailable", "Splits", "known_datasets", "load", "resolve_data_dir"]


def resolve_data_dir(data_dir: str | Path | None) -> Path | None:
    """``--data-dir`` if given, else ``$KERASLAB_DATA_DIR``, else None (use tfds). Must be a folder."""
    chosen = data_dir or os.environ.get("KERASLAB_DATA_DIR")
    if not chosen:
        return None
    path = Path(chosen).expanduser()
    if not path.is_dir():
        raise DataUnavailable(f"data directory {path} does not exist or is not a folder")
    return path


#: Modules of this package that are machinery, not dataset families.
MACHINERY = {"splits", "pipeline", "remote"}


def known_datasets() -> list[str]:
    """The dataset families: modules of ``keraslab.data`` (private ``_*`` helpers and machinery excluded)."""
    return sorted(
        p.stem for p in Path(__file__).parent.glob("*.py") if not p.stem.startswith("_") and p.stem not in MACHINERY
    )


def load(spec: DataSpec, data_dir: str | Path | None = None, seed: int = 0) -> Splits:
    """Load dataset ``spec.dataset`` as unbatched train/validation/test splits."""
    if spec.dataset not in known_datasets():
        raise DataUnavailable(f"data.dataset = {spec.dataset!r} is not a known dataset; known: {known_datasets()}")
    family = importlib.import_module(f"keraslab.data.{spec.dataset}")
    return family.load(spec, resolve_data_dir(data_dir), seed)
