"""Results files made of ``## `` sections: a benchmark rewrites the sections it ran and keeps the others."""

from __future__ import annotations

import re
from pathlib import Path


def write_section(path: Path, title: str, name: str, lines: list[str], order: list[str]) -> None:
    """Replace section ``## name`` of the Markdown file ``path`` (``# title``) with ``lines``; other sections,
    those written by hand included, are kept, in ``order`` first and then as they were."""
    text = path.read_text() if path.exists() else f"# {title}\n"
    sections = re.split(r"(?m)^## ", text)
    kept = {s.split("\n", 1)[0]: s for s in sections[1:]}
    kept[name] = name + "\n\n" + "\n".join(lines).strip("\n") + "\n\n"
    rank = {key: i for i, key in enumerate(order)}
    body = "".join("## " + kept[k] for k in sorted(kept, key=lambda k: rank.get(k, len(order))))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"# {title}\n\n" + body.rstrip() + "\n")
