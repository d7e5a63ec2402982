"""Child processes and signals: the environment servers need, waiting for one to answer, stopping a whole process
group, and SIGTERM as Ctrl-C so that runs and servers end cleanly."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

#: glibc's allocator, for long-lived servers: buffers over 128 KiB are mapped and unmapped on their own, and free
#: memory at the heap's top goes back to the system. By default the mapping threshold rises after the first large
#: buffer is freed, so 11 MiB request bodies were carved from the heap and kept: a scoring server grew by about
#: 90 MiB over 6,000 requests; with these settings it stays flat (``benchmarks/results/faults.md``).
ALLOCATOR_ENV = {"MALLOC_MMAP_THRESHOLD_": "131072", "MALLOC_TRIM_THRESHOLD_": "131072"}


def server_env(tracking_uri: str) -> dict[str, str]:
    """This process's environment with the venv's ``bin`` first on PATH (the server starts ``uvicorn``) and the
    allocator settings of ``ALLOCATOR_ENV`` (unless already set)."""
    env = {**ALLOCATOR_ENV, **os.environ, "MLFLOW_TRACKING_URI": tracking_uri}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def wait_ready(url: str, process: subprocess.Popen, timeout: float = 120.0, path: str = "/ping") -> None:
    """Poll ``url + path`` (the scoring server's ``/ping``, the tracking server's ``/health``) until the server
    answers; fail if it exits or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with code {process.returncode} before answering")
        try:
            with urllib.request.urlopen(f"{url}{path}", timeout=2) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            time.sleep(0.5)
    raise TimeoutError(f"the server did not answer {url}{path} within {timeout:.0f} s")


def stop(process: subprocess.Popen) -> None:
    """Terminate the server's whole process group (MLflow's CLI, uvicorn and its workers) and wait for it."""
    for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def run_foreground(command: list[str], env: dict[str, str]) -> int:
    """Run a server until it exits, or until Ctrl-C/SIGTERM stops it and everything it started."""
    process = subprocess.Popen(command, env=env, start_new_session=True)
    try:
        with sigterm_as_interrupt():
            return process.wait()
    except KeyboardInterrupt:
        stop(process)
        return 0


@contextlib.contextmanager
def sigterm_as_interrupt(redeliver_s: float = 2.0) -> Iterator[None]:
    """Turn SIGTERM into KeyboardInterrupt (in the main thread) so a terminated run ends KILLED.

    Python runs the handler between any two bytecodes, and an exception raised while a finalizer or weakref
    callback runs is printed and dropped. So the signal is delivered again every ``redeliver_s`` seconds until
    the block is left: a dropped interrupt only delays the stop."""
    timers: list[threading.Timer] = []

    def handler(signum: int, frame: Any) -> None:
        timer = threading.Timer(redeliver_s, os.kill, (os.getpid(), signum))
        timer.daemon = True
        timers.append(timer)
        timer.start()
        raise KeyboardInterrupt(f"signal {signum}")

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
        for timer in timers:
            timer.cancel()
