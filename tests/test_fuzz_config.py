"""1,000 randomly corrupted project files: each loads or fails with a ConfigError naming the file, and the CLI
turns the failure into a message, never a traceback. No TensorFlow: a file that fails, fails at load time."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from keraslab import registry
from keraslab.cli import app
from keraslab.config import ConfigError, ProjectSpec

ORIGINALS = sorted(registry.project_files().values())
TOKENS = ["[", "]", "[[", "]]", "=", '"', "'", "{", "}", ",", ".", "\n", "#", "\\", "\x00", "é", "\udcff"]
LITERALS = [
    "0", "-1", "99999999999999999999999", "1e999", "nan", "-inf", "0.0", "true", '""', '"x"', "[]", "[1, [2]]",
    "{}", "{ a = 1 }", "1979-05-27T07:32:00Z", '"relu"', '"../../etc/passwd"', "[[1]]",
]  # fmt: skip


@st.composite
def corrupted(draw: st.DrawFn) -> bytes:
    """A real project file with a few random corruptions: truncation, bytes flipped or inserted, lines dropped or
    repeated, tokens inserted, values replaced by other TOML values."""
    text = draw(st.sampled_from(ORIGINALS)).read_bytes()
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        lines = text.split(b"\n")
        line = draw(st.integers(0, len(lines) - 1))
        kind = draw(st.sampled_from(["truncate", "flip", "insert", "token", "drop", "repeat", "value"]))
        if kind == "truncate":
            text = text[:at]
        elif kind == "flip" and text:
            at = min(at, len(text) - 1)
            text = text[:at] + bytes([draw(st.integers(0, 255))]) + text[at + 1 :]
        elif kind == "insert":
            text = text[:at] + draw(st.binary(min_size=1, max_size=8)) + text[at:]
        elif kind == "token":
            token = draw(st.sampled_from(TOKENS)).encode("utf-8", "surrogateescape")
            text = text[:at] + token + text[at:]
        elif kind == "drop":
            text = b"\n".join(lines[:line] + lines[line + 1 :])
        elif kind == "repeat":
            text = b"\n".join(lines[: line + 1] + lines[line:])
        elif b"=" in lines[line]:
            key = lines[line].split(b"=", 1)[0]
            lines[line] = key + b"= " + draw(st.sampled_from(LITERALS)).encode()
            text = b"\n".join(lines)
    return text


def test_corrupted_project_files_load_or_fail_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "fuzzed.toml"
    outcomes = {"loaded": 0, "refused": 0}

    @settings(max_examples=1000, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(content=corrupted())
    def check(content: bytes) -> None:
        path.write_bytes(content)
        try:
            spec = registry.load(str(path))
        except ConfigError as exc:
            assert str(exc).startswith(str(path)), str(exc)
            outcomes["refused"] += 1
            return
        assert isinstance(spec, ProjectSpec)
        outcomes["loaded"] += 1

    check()
    assert sum(outcomes.values()) >= 1000
    assert outcomes["refused"] > 500  # the corruptions bite: most files are refused


@pytest.mark.parametrize(
    "content",
    [b"", b"\xff\xfe\x00", b"[data\ndataset = 'mnist'", b'name = "x"\n[data]\ndataset = "mnist"\n[model]\nbuilder = 3'],
)
def test_the_cli_says_what_is_wrong_with_a_broken_project_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "broken.toml"
    path.write_bytes(content)
    result = CliRunner().invoke(app, ["train", str(path)], env={"COLUMNS": "400"})
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception  # no traceback
    assert result.exit_code != 0 and str(path) in result.output
