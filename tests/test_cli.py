"""The CLI: fast commands stay TensorFlow-free, bad input exits 2 with the reason, train -> runs."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from keraslab.cli import app
from keraslab.quiet import QUIET_ENV, VERBOSE_ENV

from conftest import experiments, free_port

runner = CliRunner()


def test_projects_and_help_never_import_tensorflow() -> None:
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from keraslab.cli import app\n"
        "for args in (['projects'], ['--help'], ['train', '--help']):\n"
        "    result = CliRunner().invoke(app, args)\n"
        "    assert result.exit_code == 0, result.output\n"
        "heavy = [m for m in ('tensorflow', 'keras', 'mlflow') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_projects_table_lists_both_mnist_projects() -> None:
    result = runner.invoke(app, ["projects"])
    assert result.exit_code == 0
    assert "mnist-cnn" in result.output and "mnist-mlp" in result.output


def test_projects_table_fits_80_columns_with_at_most_two_lines_a_project() -> None:
    lines = runner.invoke(app, ["projects"], env={"COLUMNS": "80"}).output.splitlines()
    assert max(len(line) for line in lines) <= 80
    rows = [line for line in lines if line.startswith("│")]
    starts = [i for i, line in enumerate(rows) if line[1:].split("│")[0].strip()]
    assert len(starts) >= 10 and all(b - a <= 2 for a, b in zip(starts, [*starts[1:], len(rows)], strict=True))
    assert "task" in runner.invoke(app, ["projects", "--wide"]).output


def test_show_prints_a_project_in_full() -> None:
    result = runner.invoke(app, ["show", "mnist-cnn-accurate"])
    assert result.exit_code == 0 and "filters = [32, 64]" in result.output and "99.47 %" in result.output


def test_bad_override_exits_2_naming_key_and_allowed_values(workdir: Path) -> None:
    result = runner.invoke(app, ["train", "mnist-mlp", "--set", "model.optimizer=adamw"])
    assert result.exit_code == 2
    assert "model.optimizer = 'adamw'" in result.stderr and "sgd_momentum" in result.stderr
    assert experiments(workdir) == {"Default"}  # failed before anything was created


def test_unknown_project_exits_2_listing_known(workdir: Path) -> None:
    result = runner.invoke(app, ["train", "mnist_rnn"])
    assert result.exit_code == 2 and "mnist-cnn" in result.stderr


def test_missing_data_exits_2_naming_the_files(workdir: Path) -> None:
    (workdir / "empty").mkdir()
    result = runner.invoke(app, ["train", "mnist-mlp", "--data-dir", str(workdir / "empty")])
    assert result.exit_code == 2 and "train-images-idx3-ubyte.gz" in result.stderr


def test_train_then_runs_table(workdir: Path, mnist_dir: Path) -> None:
    args = ["train", "mnist-mlp", "--epochs", "1", "--seed", "3", "--data-dir", str(mnist_dir),
            "--set", "model.hidden_layers=1", "--set", "model.units=16", "--experiment", "cli-test"]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "test_accuracy" in result.output and "MLflow run" in result.output

    listing = runner.invoke(app, ["runs", "mnist-mlp", "--experiment", "cli-test"])
    assert listing.exit_code == 0, listing.output
    assert "best finished runs" in listing.output and "test_accuracy" in listing.output
    run_id = result.output.split("MLflow run")[1].split()[0]
    assert run_id[:8] in listing.output
    every = runner.invoke(app, ["runs", "mnist-mlp", "--experiment", "cli-test", "--all"])
    assert every.exit_code == 0 and "FINISHED" in every.output and "status" in every.output

    missing = runner.invoke(app, ["runs", "mnist-cnn"])
    assert missing.exit_code == 1 and "train the project first" in missing.stderr


def test_untracked_train_never_imports_mlflow(workdir: Path, mnist_dir: Path) -> None:
    """``--no-track`` pays nothing for MLflow: the benchmark's tracking overhead is measured against it."""
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from keraslab.cli import app\n"
        f"args = ['train', 'mnist-mlp', '--epochs', '1', '--data-dir', {str(mnist_dir)!r}, '--no-track',\n"
        "        '--set', 'model.hidden_layers=1', '--set', 'model.units=16']\n"
        "result = CliRunner().invoke(app, args)\n"
        "assert result.exit_code == 0, result.output\n"
        "assert 'test_accuracy' in result.output, result.output\n"
        "assert 'mlflow' not in sys.modules, sorted(m for m in sys.modules if m.startswith('mlflow'))[:5]\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=workdir, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert experiments(workdir) == {"Default"}


def test_ui_serves_the_same_store_on_localhost(workdir: Path) -> None:
    import contextlib
    import os
    import signal
    import time

    import requests
    from mlflow import MlflowClient

    from keraslab.tracking.store import tracking_uri

    MlflowClient(tracking_uri()).create_experiment("seen-by-the-ui")
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "keraslab", "ui", "--port", str(port)], cwd=workdir, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{url}/health", timeout=2).ok:
                    break
            except requests.ConnectionError:
                time.sleep(1)
        else:
            raise AssertionError("the MLflow UI did not answer within 120 s")
        found = requests.post(f"{url}/ajax-api/2.0/mlflow/experiments/search", json={"max_results": 10}, timeout=10)
        assert "seen-by-the-ui" in {e["name"] for e in found.json()["experiments"]}

        process.terminate()  # SIGTERM to keraslab alone: it must stop the MLflow server it started
        assert process.wait(timeout=60) == 0
        time.sleep(1)
        with pytest.raises(requests.ConnectionError):
            requests.get(f"{url}/health", timeout=2)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)


# ----------------------------------------------------------------------------- quiet by default

UNQUIET = {*QUIET_ENV, VERBOSE_ENV}  # what this test process (or an API call in it) may have set
NOISE_AND_OURS = (
    "import os, sys\n"
    "from keraslab import quiet\n"
    "if not quiet.configure():\n"
    "    quiet.filter_native_stderr()\n"
    "for line in (b'WARNING: All log messages before absl::InitializeLog() is called are written to STDERR',\n"
    "             b'I0000 00:00:1795629218.432368   23650 port.cc:153] oneDNN custom operations are on.',\n"
    "             b'E0000 00:00:1795629269.915853   24517 cuda_platform.cc:52] failed call to cuInit: (303)',\n"
    "             b'/v/lib/site-packages/mlflow/u.py:187: UserWarning: a child process warning', b'  color_warning(',\n"
    "             b'error: a real one', b'E0000 00:00:1795629269.9 1 session.cc:12] a real native error'):\n"
    "    os.write(2, line + b'\\n')\n"
    "import warnings; warnings.warn('a library warning', UserWarning)\n"
    "os.write(2, b'unfinished')\n"
    "os.abort()  # a crash: what was written still arrives\n"
)


@pytest.mark.parametrize("verbose", [False, True])
def test_native_log_lines_are_dropped_unless_verbose_and_everything_else_passes(verbose: bool) -> None:
    env = {k: v for k, v in os.environ.items() if k not in UNQUIET}
    env |= {"KERASLAB_VERBOSE": "1"} if verbose else {}
    done = subprocess.run([sys.executable, "-c", NOISE_AND_OURS], env=env, capture_output=True, timeout=60)
    err = done.stderr.decode()
    assert done.returncode != 0  # aborted
    assert "error: a real one" in err and "session.cc:12] a real native error" in err and "unfinished" in err
    assert ("cuInit" in err, "absl::InitializeLog" in err, "oneDNN" in err) == (verbose, verbose, verbose)
    assert ("a library warning" in err, "child process warning" in err, "color_warning" in err) == (verbose,) * 3


def test_a_default_train_prints_only_our_lines_the_progress_and_the_table(workdir: Path, mnist_dir: Path) -> None:
    """The README's main job, as a newcomer runs it: no TensorFlow/absl/CUDA lines, no MLflow INFO or warnings."""
    env = {k: v for k, v in os.environ.items() if k not in UNQUIET}
    args = ["train", "mnist-cnn", "--epochs", "1", "--data-dir", str(mnist_dir), "--set", "model.filters=[4, 4]"]
    done = subprocess.run([sys.executable, "-m", "keraslab", *args], cwd=workdir, env=env, capture_output=True,
                          text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stderr == ""
    lines = done.stdout.strip().splitlines()
    assert lines[0] == "training mnist-cnn (cnn, 1 epochs)"
    assert re.fullmatch(r"\d+/\d+ - .* - val_accuracy: [\d.]+ - val_loss: .*", lines[1])  # Keras, one per epoch
    assert lines[2].strip().startswith("mnist-cnn: 1 epochs in") and "test_accuracy" in done.stdout
    assert lines[-2].startswith("MLflow run ") and lines[-1].startswith("model: models:/m-")
    assert all(len(line) <= 80 for line in lines[2:])  # our table and lines fit 80 columns
