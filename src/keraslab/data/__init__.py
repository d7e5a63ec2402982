"""Generic data mechanics. A dataset is a module a project registers, exposing ``Options`` (its
``[data.options]``) and ``load(spec, data_dir, seed) -> Splits``.

A family reads a local copy of the dataset's official raw files when ``data_dir`` (``--data-dir`` or
``$KERASLAB_DATA_DIR``) is given, and otherwise goes through ``tensorflow-datasets``; without network and
without local files it fails in seconds naming the files it wants.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from keraslab.data.splits import DataInfo, DataUnavailable, Splits

if TYPE_CHECKING:
    from keraslab.config import DataSpec

__all__ = ["DataInfo", "DataUnavailable", "Splits", "load", "resolve_data_dir"]


def resolve_data_dir(data_dir: str | Path | None) -> Path | None:
    """``--data-dir`` if given, else ``$KERASLAB_DATA_DIR``, else None (use tfds). Must be a folder."""
    chosen = data_dir or os.environ.get("KERASLAB_DATA_DIR")
    if not chosen:
        return None
    path = Path(chosen).expanduser()
    if not path.is_dir():
        raise DataUnavailable(f"data directory {path} does not exist or is not a folder")
    return path


def load(spec: DataSpec, data_dir: str | Path | None = None, seed: int = 0) -> Splits:
    """Load dataset ``spec.dataset`` (a name the registry knows) as unbatched train/validation/test splits."""
    from keraslab import registry

    return registry.module("datasets", spec.dataset).load(spec, resolve_data_dir(data_dir), seed)
