"""tensorflow-datasets access that fails fast offline instead of retrying for minutes."""

from __future__ import annotations

import socket
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


def tfds_arrays(name: str, split: str, download_url: str, wanted: str) -> tuple[np.ndarray, np.ndarray]:
    """``(x, y)`` numpy arrays of a tfds split; offline and unprepared -> DataUnavailable naming ``wanted``."""
    import tensorflow_datasets as tfds

    try:
        ds = tfds.load(name, split=split, as_supervised=True, download=False)
    except (AssertionError, tfds.core.DatasetNotFoundError):
        if not reachable(download_url):
            raise DataUnavailable(
                f"{name} is not in the tensorflow-datasets cache and {urlparse(download_url).hostname} "
                f"cannot be reached. Download it once online, or pass --data-dir DIR (or set "
                f"KERASLAB_DATA_DIR) with {wanted}"
            ) from None
        ds = tfds.load(name, split=split, as_supervised=True, download=True)
    pairs = list(tfds.as_numpy(ds))
    return np.stack([x for x, _ in pairs]), np.asarray([y for _, y in pairs], dtype=np.int64)
