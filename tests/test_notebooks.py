"""The course notebooks execute top to bottom (nbclient, the python3 kernel) on tiny synthetic data, or on
``$KERASLAB_DATA_DIR`` when it is set: no error, nothing on stderr, figures inline, the final table as HTML."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
TEXT = "ROMEO: to be or not to be, that is the question; whether 'tis nobler in the mind to suffer\n" * 40


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory, mnist_dir: Path) -> Path:
    """Every dataset the notebooks read, tiny, in the official layouts (or the real ones from the environment)."""
    from test_activity_data import basicmotions_dir
    from test_aircalc_data import write_operators

    if real := os.environ.get("KERASLAB_DATA_DIR"):
        return Path(real)
    root = tmp_path_factory.mktemp("notebook-data")
    (root / "mnist").symlink_to(mnist_dir / "mnist")
    basicmotions_dir(root, np.random.default_rng(0))
    write_operators(root, drawings=3)
    (root / "tinyshakespeare").mkdir()
    (root / "tinyshakespeare" / "input.txt").write_text(TEXT, encoding="utf-8")
    return root


def test_there_is_a_notebook_per_course_project() -> None:
    names = " ".join(p.stem for p in NOTEBOOKS)
    for topic in ("mnist", "tuning", "aircalc", "activity", "pinn", "transformer", "gan"):
        assert topic in names


@pytest.mark.timeout(900)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_executes_cleanly(
    path: Path, data_dir: Path, tmp_path: Path, empty_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import nbformat
    from nbclient import NotebookClient

    (tmp_path / "mlruns").mkdir()
    shutil.copyfile(empty_store, tmp_path / "mlruns" / "mlflow.db")
    monkeypatch.setenv("KERASLAB_DATA_DIR", str(data_dir))
    monkeypatch.setenv("KERASLAB_NOTEBOOK_QUICK", "1")
    for name in ("MPLBACKEND", "MLFLOW_TRACKING_URI", "KERASLAB_VERBOSE"):  # the kernel's own inline figures
        monkeypatch.delenv(name, raising=False)
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()

    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    stderr = [o.text for o in outputs if o.output_type == "stream" and o.name == "stderr"]
    assert stderr == [], "".join(stderr)[:3000]
    assert any("image/png" in o.get("data", {}) for o in outputs), "no inline figure"
    assert any("text/html" in o.get("data", {}) for o in outputs), "no HTML table"
