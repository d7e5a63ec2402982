"""The terminal (or notebook): our output, our errors, the final tables, and the CLI's way to stop with one
(no TensorFlow, no MLflow). In a notebook rich renders the tables as HTML."""

from __future__ import annotations

import io
import re
import sys
from collections.abc import Iterable

import typer
from rich.console import Console
from rich.table import Table

console = Console()
errors = Console(stderr=True)

SHORT_DESCRIPTION = 90  # characters: two lines of the description column at 80 columns


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print ``error: message`` on stderr and return the ``typer.Exit`` to raise."""
    errors.print(f"[bold red]error:[/] {message}", highlight=False)
    return typer.Exit(code)


def in_notebook() -> bool:
    """Whether this process is a Jupyter kernel (Colab's included)."""
    shell = sys.modules.get("IPython") and sys.modules["IPython"].get_ipython()
    return shell is not None and type(shell).__name__ in ("ZMQInteractiveShell", "Shell")


def announce(message: str) -> None:
    """One of our own lines (rich markup)."""
    console.print(message, highlight=False)


def metrics_table(title: str, rows: Iterable[tuple[str, str]]) -> Table:
    """A two-column name/value table, values right-aligned."""
    table = Table(title=title, min_width=min(len(title), 80))  # the title on one line
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, value in rows:
        table.add_row(name, value)
    return table


def report(result: object) -> None:
    """A result's final table and footer line (``result`` has ``table()`` and ``footer()``)."""
    console.print(result.table())  # type: ignore[attr-defined]
    if footer := result.footer():  # type: ignore[attr-defined]
        console.print(footer, highlight=False, soft_wrap=True)


def html(table: Table, footer: str = "") -> str:
    """``table`` (and a footer line) as HTML with inline styles, as rich shows it in a notebook."""
    recorder = Console(record=True, file=io.StringIO(), width=100)
    recorder.print(table)
    if footer:
        recorder.print(footer, highlight=False, soft_wrap=True)
    return recorder.export_html(inline_styles=True, code_format="<pre style='font-family:monospace'>{code}</pre>")


def short_description(text: str, limit: int = SHORT_DESCRIPTION) -> str:
    """The first clause of a project description (up to ':' or ';'), cut at a word within ``limit``."""
    head = re.split(r"[:;]", text, maxsplit=1)[0].strip()
    if len(head) <= limit:
        return head
    cut = head[: limit - 1].rsplit(" ", 1)[0].rstrip(",(|-–—")
    return f"{cut.rstrip()}…"
