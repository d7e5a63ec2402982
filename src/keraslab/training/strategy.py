"""Pick a ``tf.distribute`` strategy: auto, default, one-device or mirrored."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import tensorflow as tf

CPU_NAME = re.compile(r"^(/job:\w+/replica:\d+/task:\d+/)?/?(device:)?cpu:(\d+)$", re.IGNORECASE)


def select(name: str, devices: Sequence[str] = ()) -> tuple[tf.distribute.Strategy, str]:
    """The strategy for ``name`` and the name it resolved to.

    ``auto`` is Mirrored with more than one GPU, OneDevice with one, the default strategy otherwise.
    Naming more CPUs than exist (``--devices cpu:0,cpu:1``) splits the CPU into logical devices first.
    """
    import tensorflow as tf

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
    raise ValueError(f"strategy {name!r} is not one of auto, default, one-device, mirrored")


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
