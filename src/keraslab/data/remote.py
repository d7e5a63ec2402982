"""tensorflow-datasets access that fails fast offline instead of retrying for minutes."""

from __future__ import annotations

import socket
from typing import Any
from urllib.parse import urlparse

import numpy as np

from keraslab.data.splits import DataUnavailable


def reachable(url: str, timeout: float = 3.0) -> bool:
    """Whether a TCP connection to ``url``'s host opens within ``timeout`` seconds."""
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname, parsed.port or 443), timeout=timeout):
            return True
    except OSError:
        return False


def tfds_load(name: str, split: str | list[str], download_url: str, remedy: str, **kwargs: Any) -> Any:
    """``tfds.load`` that fails fast offline: the cached copy, else a download only if ``download_url``'s host
    answers, else DataUnavailable saying ``remedy`` (tfds on its own would retry for minutes)."""
    import tensorflow_datasets as tfds

    try:
        return tfds.load(name, split=split, download=False, **kwargs)
    except (AssertionError, tfds.core.DatasetNotFoundError):
        if not reachable(download_url):
            raise DataUnavailable(
                f"{name} is not in the tensorflow-datasets cache and {urlparse(download_url).hostname} cannot be "
                f"reached. {remedy}"
            ) from None
    return tfds.load(name, split=split, download=True, **kwargs)


def tfds_arrays(name: str, split: str, download_url: str, wanted: str) -> tuple[np.ndarray, np.ndarray]:
    """``(x, y)`` numpy arrays of a tfds split; offline and unprepared -> DataUnavailable naming ``wanted``."""
    import tensorflow_datasets as tfds

    remedy = f"Download it once online, or pass --data-dir DIR (or set KERASLAB_DATA_DIR) with {wanted}"
    pairs = list(tfds.as_numpy(tfds_load(name, split, download_url, remedy, as_supervised=True)))
    return np.stack([x for x, _ in pairs]), np.asarray([y for _, y in pairs], dtype=np.int64)
