"""Pick a ``tf.distribute`` strategy (auto, default, one-device, mirrored, multiworker, tpu) and the dtype policy."""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import tensorflow as tf

CPU_NAME = re.compile(r"^(/job:\w+/replica:\d+/task:\d+/)?/?(device:)?cpu:(\d+)$", re.IGNORECASE)


def select(name: str, devices: Sequence[str] = ()) -> tuple[tf.distribute.Strategy, str]:
    """The strategy for ``name`` and the name it resolved to.

    ``auto`` is Mirrored with more than one GPU, OneDevice with one, the default strategy otherwise.
    Naming more CPUs than exist (``--devices cpu:0,cpu:1``) splits the CPU into logical devices first.
    ``multiworker`` reads the cluster from ``TF_CONFIG`` (see ``keraslab cluster``) and must be created before
    any other TensorFlow op of the process; ``tpu`` connects to the TPU named by ``devices[0]`` (or the
    environment's, e.g. ``TPU_NAME`` on a Cloud TPU VM).
    """
    import tensorflow as tf

    if name == "multiworker":
        if not os.environ.get("TF_CONFIG"):
            raise ValueError("strategy 'multiworker' needs TF_CONFIG: write it with `keraslab cluster tf-config`")
        return tf.distribute.MultiWorkerMirroredStrategy(), name
    split_cpu_for(devices)
    gpus = [d.name for d in tf.config.list_logical_devices("GPU")]
    if name == "auto":
        name = "mirrored" if len(gpus) > 1 else "one-device" if gpus else "default"
    if name == "default":
        return tf.distribute.get_strategy(), name
    if name == "one-device":
        device = devices[0] if devices else (gpus[0] if gpus else "/cpu:0")
        return tf.distribute.OneDeviceStrategy(device), name
    if name == "mirrored":
        # On CPUs alone, reduce on one device: collective all-reduce instances from an earlier strategy in the
        # same process (a second run in a notebook, a test suite) can collide with this one's.
        reduce = None if gpus else tf.distribute.ReductionToOneDevice()
        return tf.distribute.MirroredStrategy(list(devices) or None, cross_device_ops=reduce), name
    if name == "tpu":
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=devices[0] if devices else None)
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        return tf.distribute.TPUStrategy(resolver), name
    raise ValueError(f"strategy {name!r} is not one of auto, default, one-device, mirrored, multiworker, tpu")


def is_chief_process(strategy: str) -> bool:
    """Whether this process is the one that tracks and checkpoints: always, except a multi-worker task other than
    the chief (``TF_CONFIG``'s ``chief`` task, or worker 0 in a cluster without one). Reads no TensorFlow."""
    if strategy != "multiworker":
        return True
    config = json.loads(os.environ.get("TF_CONFIG") or "{}")
    task = config.get("task", {})
    if "chief" in config.get("cluster", {}):
        return task.get("type") == "chief"
    return task.get("type", "worker") == "worker" and int(task.get("index", 0)) == 0


@contextlib.contextmanager
def precision(mixed: bool) -> Iterator[str]:
    """Within: Keras's global dtype policy, ``mixed_float16`` on GPU or ``mixed_bfloat16`` on CPU/TPU when
    ``mixed``, else unchanged; yields the policy's name and restores the previous policy on exit."""
    import keras
    import tensorflow as tf

    previous = keras.config.dtype_policy()
    if mixed:
        keras.config.set_dtype_policy("mixed_float16" if tf.config.list_logical_devices("GPU") else "mixed_bfloat16")
    try:
        yield keras.config.dtype_policy().name
    finally:
        keras.config.set_dtype_policy(previous)


def split_cpu_for(devices: Sequence[str]) -> None:
    """Configure enough logical CPU devices for the CPUs named in ``devices`` (before TF starts)."""
    import tensorflow as tf

    indices = [int(m.group(3)) for d in devices if (m := CPU_NAME.match(d.strip()))]
    if not indices:
        return
    wanted = max(indices) + 1
    cpu = tf.config.list_physical_devices("CPU")[0]
    configured = tf.config.get_logical_device_configuration(cpu) or [None]
    if len(configured) >= wanted:
        return
    try:
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * wanted)
    except RuntimeError as exc:
        raise RuntimeError(
            f"devices {list(devices)} need {wanted} logical CPUs, but TensorFlow has already started with "
            f"{len(configured)}; choose the devices before anything else runs"
        ) from exc
