"""Quiet by default: only keraslab's lines, Keras's progress bar and the final table.

TensorFlow and absl write C++ log lines straight to file descriptor 2 (oneDNN notices, CUDA probing on machines
without a GPU), before and past ``TF_CPP_MIN_LOG_LEVEL``; MLflow logs INFO lines and warnings; Keras and MLflow
raise ``UserWarning``s. ``configure()`` turns the Python-level noise off (environment variables inherited by child
processes, logger levels, warning filters); the CLI also routes its file descriptor 2 through
``filter_native_stderr``, which drops the native log lines and passes everything else, tracebacks included.
``--verbose`` or ``KERASLAB_VERBOSE=1`` leaves everything as the libraries print it.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import re
import signal
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

VERBOSE_ENV = "KERASLAB_VERBOSE"
PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep

#: Set before TensorFlow or MLflow is imported; child processes (servers, cluster workers) inherit them.
QUIET_ENV = {
    "TF_CPP_MIN_LOG_LEVEL": "2",  # TensorFlow's own C++ INFO and WARNING lines
    "MLFLOW_LOGGING_LEVEL": "ERROR",  # MLflow configures its loggers from this when imported
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
    "GRPC_VERBOSITY": "ERROR",
    "PYTHONWARNINGS": "ignore",  # child Python processes: the scoring server, cluster workers
    "UVICORN_LOG_LEVEL": "warning",  # the scoring server's startup lines and access log
}
QUIET_LOGGERS = ("tensorflow", "absl", "mlflow", "keras_tuner", "alembic", "urllib3", "h5py", "matplotlib")

#: A native log line: absl's pre-initialisation notice, absl-format INFO/WARNING lines (``I0000 00:00:… file.cc:12]``),
#: and the CUDA probing ERROR lines TensorFlow prints on a machine without a usable GPU; and the first line of a
#: library's Python warning printed by a child process (its indented source line goes with it).
NATIVE_NOISE = re.compile(
    rb"WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR\s*$"
    rb"|[IW]\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ [\w.-]+:\d+\] "
    rb"|E\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ (?:cuda_\w+|computation_placer|gpu_\w+)\.cc:\d+\] "
    rb"|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IW] \S+\.cc:\d+\] "
    rb"|\S*[/\\]site-packages[/\\]\S+\.py:\d+: \w*Warning: "  # a library's warning in a child process (the server)
)
#: How a native log line can begin: an unfinished line that starts so waits for its end before it is judged.
NATIVE_START = re.compile(rb"(?:[IWE]\d|\d{4}-|WARNING: All)")

_filter_pid: int | None = None


def verbose_requested() -> bool:
    """``KERASLAB_VERBOSE`` set to anything but empty, 0, false or no."""
    return os.environ.get(VERBOSE_ENV, "").strip().lower() not in ("", "0", "false", "no")


def configure(verbose: bool | None = None) -> bool:
    """Quiet this process's third-party output unless ``verbose`` (None: ``KERASLAB_VERBOSE``); return verbose.

    A verbose run exports ``KERASLAB_VERBOSE=1`` so that the processes it starts are verbose too.
    """
    verbose = verbose_requested() if verbose is None else verbose
    if verbose:
        os.environ[VERBOSE_ENV] = "1"
        return True
    for name, value in QUIET_ENV.items():
        os.environ.setdefault(name, value)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")  # the libraries' UserWarnings, DeprecationWarnings, FutureWarnings ...
    warnings.filterwarnings("default", module=r"keraslab(\.|$)")  # ... but not our own
    if not getattr(warnings.showwarning, "keraslab_quiet", False):  # also those a library lets through itself
        warnings.showwarning = _only_our_warnings(warnings.showwarning)
    if "absl.logging" in sys.modules:  # absl resets its logger's level from its flags when it initialises
        sys.modules["absl.logging"].set_verbosity("error")
    return False


def _only_our_warnings(show: Callable[..., None]) -> Callable[..., None]:
    """``warnings.showwarning`` for keraslab's own warnings only (MLflow re-enables some inside its calls)."""

    def showwarning(message: Warning | str, category: type[Warning], filename: str, *args: Any, **kwargs: Any) -> None:
        if filename.startswith(PACKAGE_DIR):
            show(message, category, filename, *args, **kwargs)

    showwarning.keraslab_quiet = True  # type: ignore[attr-defined]
    return showwarning


def is_noise(line: bytes) -> bool:
    """Whether a line written to file descriptor 2 is a native TensorFlow/absl log line."""
    return NATIVE_NOISE.match(line) is not None


def filter_native_stderr() -> None:
    """Route file descriptor 2 through a forked filter process that drops ``is_noise`` lines.

    A process, not a thread: what a crashing process wrote last (a fatal C++ check, a segfault's traceback)
    still reaches the terminal. The filter ignores Ctrl-C and ends when every writer has closed the pipe.
    Nothing happens where stderr is not file descriptor 2 (under a test runner, in a notebook) or without fork.
    """
    global _filter_pid
    if _filter_pid is not None or not hasattr(os, "fork") or not _stderr_is_fd2():
        return
    read_end, write_end = os.pipe()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the filter: only os-level calls from here on
        with contextlib.suppress(BaseException):
            os.dup2(read_end, 0)
            os.closerange(3, 1 << 16)  # the pipe's write end and whatever else we inherited
            os.close(1)
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                signal.signal(sig, signal.SIG_IGN)
            _pump(0, 2)
        os._exit(0)
    os.close(read_end)
    saved = os.dup(2)
    os.dup2(write_end, 2)
    os.close(write_end)
    _filter_pid = pid
    atexit.register(_stop_filter, saved, pid)


def _pump(source: int, target: int) -> None:
    """Copy ``source`` to ``target`` line by line without the noise; unfinished lines pass at once unless they
    may become noise."""
    pending, dropped = b"", False
    while chunk := os.read(source, 1 << 16):
        *lines, pending = (pending + chunk).split(b"\n")
        kept = b""
        for line in lines:
            dropped = is_noise(line) or (dropped and line.startswith(b"  ") and b"Warning" not in line)
            kept += b"" if dropped else line + b"\n"
        if pending and not NATIVE_START.match(pending[:14]) and len(pending) >= 14:
            kept, pending = kept + pending, b""
        if kept:
            os.write(target, kept)
    if pending and not is_noise(pending):
        os.write(target, pending)


def _stop_filter(saved: int, pid: int) -> None:
    """At exit: give file descriptor 2 back and let the filter drain (briefly: a child process may hold it)."""
    with contextlib.suppress(OSError, ValueError):
        sys.stderr.flush()
    os.dup2(saved, 2)
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline:
        if os.waitpid(pid, os.WNOHANG)[0]:
            return
        time.sleep(0.01)


def _stderr_is_fd2() -> bool:
    try:
        return sys.stderr.fileno() == 2
    except (AttributeError, OSError, ValueError):
        return False
