"""The house rules of the layout: one package per project over a core that never imports one, no import cycles,
small modules, and a project added from outside without touching the core (``example_project/``)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from mlflow import MlflowClient

from keraslab import registry
from keraslab.config import ConfigError

SRC = Path(__file__).resolve().parents[1] / "src" / "keraslab"
EXAMPLE = Path(__file__).parent / "example_project"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path) -> set[str]:
    """keraslab modules ``path`` imports anywhere (functions included), outside ``if TYPE_CHECKING:`` blocks."""
    tree = ast.parse(path.read_text())
    skip = {
        id(node)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
        for node in ast.walk(block)
    }
    found = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""  # keraslab uses absolute imports only
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}
    modules = {module_name(p) for p in SRC.rglob("*.py")}
    return {name for name in found if name in modules and name != module_name(path)}


def graph() -> dict[str, set[str]]:
    return {module_name(p): imported(p) for p in SRC.rglob("*.py")}


def test_the_core_never_imports_a_project_package() -> None:
    offenders = {
        module: sorted(name for name in targets if name.startswith("keraslab.projects."))
        for module, targets in graph().items()
        if not module.startswith("keraslab.projects")
    }
    assert {m: t for m, t in offenders.items() if t} == {}


def test_there_are_no_import_cycles() -> None:
    edges = graph()
    cycles, state = [], {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = "open"
        for target in sorted(edges.get(node, ())):
            if state.get(target) == "open":
                cycles.append([*path[path.index(target) :], target] if target in path else [node, target])
            elif target not in state:
                visit(target, [*path, target])
        state[node] = "done"

    for module in sorted(edges):
        if module not in state:
            visit(module, [module])
    assert cycles == []


def test_no_module_is_over_400_lines() -> None:
    long = {module_name(p): n for p in SRC.rglob("*.py") if (n := len(p.read_text().splitlines())) > 400}
    assert long == {}


def test_every_course_project_is_one_package_with_a_docstring_and_components() -> None:
    packages = registry.project_packages()
    assert {p.rpartition(".")[2] for p in packages} >= {
        "mnist", "aircalc", "activity", "pinn", "transformer", "gan_mnist", "face_aging",
    }  # fmt: skip
    for package in packages:
        module = __import__(package, fromlist=["COMPONENTS"])
        assert isinstance(module.COMPONENTS, registry.Components), package
        assert "teaches" in (module.__doc__ or ""), f"{package}: say what the project teaches"


def test_every_project_file_resolves_its_parts_through_the_registry() -> None:
    for spec in registry.all_projects():
        assert registry.module("datasets", spec.data.dataset).load
        assert registry.module("builders", spec.model.builder).build
        assert registry.module("tasks", spec.task).evaluate
        assert registry.module("wrappers", spec.task).wrapper


@pytest.fixture
def example(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(EXAMPLE))
    monkeypatch.setenv(registry.PACKAGES_ENV, "keraslab_example")
    monkeypatch.setenv("KERASLAB_PROJECTS_DIR", str(EXAMPLE))


def test_a_project_added_outside_the_core_validates_its_options_early(example: None) -> None:
    assert "quadrants" in registry.known("datasets")
    with pytest.raises(ConfigError, match=r"data\.options\.points = 2: .*greater than or equal to 8"):
        registry.load("example", ["data.options.points=2"])
    with pytest.raises(ConfigError, match=r"data\.options\.colour = 'red': unknown key"):
        registry.load("example", ["data.options.colour=red"])


def test_a_project_added_outside_the_core_trains_and_tunes_with_the_same_run_lifecycle(
    example: None, workdir: Path
) -> None:
    from keraslab.training.trainer import train
    from keraslab.tuning.search import SearchOptions, run_search
    from keraslab.tuning.space import load_search

    spec = registry.load("example")
    trained = train(spec, verbose=0)
    searched = run_search(spec, load_search(EXAMPLE / "example_search.toml", spec), SearchOptions())

    assert trained.model_uri and searched.model_uri
    client = MlflowClient(f"sqlite:///{workdir / 'mlruns' / 'mlflow.db'}")
    for run_id in (trained.run_id, searched.parent_run_id):
        run = client.get_run(run_id)
        assert run.info.status == "FINISHED"
        logged = {a.path for a in client.list_artifacts(run_id)}
        assert {"quadrants.txt", "config.toml", "confusion_matrix.png"} <= logged, run_id
        assert "test_accuracy" in run.data.metrics and run.data.params["data.options.points"] == "400"
