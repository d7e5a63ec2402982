"""``keraslab aircalc FILE`` reads a trace (.json) or an image; ``keraslab aircalc demo`` serves the canvas page."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    app.command(name="aircalc")(aircalc)


def aircalc(
    target: Annotated[str, typer.Argument(help="A trace (.json) or image (PNG/JPEG) file, or 'demo' for the page.")],
    model: Annotated[
        str | None, typer.Option(help="MLflow model URI (default: the best finished aircalc run).")
    ] = None,
    tracking_uri: Annotated[
        str | None, typer.Option("--tracking-uri", help="MLflow tracking URI (default: ./mlruns).")
    ] = None,
    port: Annotated[int, typer.Option(help="Port of the demo page on 127.0.0.1.")] = 8765,
    as_json: Annotated[bool, typer.Option("--json", help="Print the whole reading as JSON.")] = False,
) -> None:
    """Read a handwritten expression and compute it exactly, or serve the canvas page ('demo')."""
    from keraslab.console import console, fail
    from keraslab.projects.aircalc.inputs import InputError
    from keraslab.projects.aircalc.model import ModelNotFound, load_calc

    path = Path(target)
    if target != "demo" and not path.exists():
        raise fail(f"{target}: file not found (expected a .json trace, a PNG/JPEG image, or 'demo')")
    try:
        calc = load_calc(model, tracking_uri)
    except ModelNotFound as exc:
        raise fail(str(exc), 1) from None
    if target == "demo":
        from keraslab.projects.aircalc.server import serve

        console.print(f"AirCalc canvas on http://127.0.0.1:{port}  (Ctrl-C to stop)")
        serve(calc, port)
        return
    try:
        reading = calc.read_file(path)
    except InputError as exc:
        raise fail(str(exc)) from None
    if as_json:
        typer.echo(json.dumps(reading.to_dict(), ensure_ascii=False))
    else:
        answer = f"{reading.expression} = {reading.value}" if reading.value else reading.expression
        console.print(answer, highlight=False)
        for line in (reading.note, reading.error):
            if line:
                console.print(line, highlight=False, style="yellow" if line is reading.note else "red")
    if reading.error:
        raise typer.Exit(1)
