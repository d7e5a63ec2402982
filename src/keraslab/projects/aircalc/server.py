"""The canvas page: draw an expression with the mouse or a finger, see the symbols, their boxes and the value.

A small Starlette app (served by uvicorn on 127.0.0.1): ``GET /`` is the page, ``POST /read`` takes the
trace as JSON (a list of strokes of [x, y, t] points) and answers ``Reading.to_dict()``.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Route

from keraslab.projects.aircalc.inputs import InputError

if TYPE_CHECKING:
    from keraslab.projects.aircalc.pipeline import AirCalc

MAX_BODY = 2 * 1024 * 1024


def create_app(calc: AirCalc) -> Starlette:
    page = resources.files("keraslab.projects.aircalc").joinpath("page.html").read_text(encoding="utf-8")

    async def index(request: Request) -> HTMLResponse:
        return HTMLResponse(page)

    async def read(request: Request) -> JSONResponse:
        body = await request.body()
        if len(body) > MAX_BODY:
            return JSONResponse({"error": f"trace too large (over {MAX_BODY} bytes)"}, status_code=413)
        try:
            reading = calc.read_trace(json.loads(body))
        except (InputError, ValueError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse(reading.to_dict())

    return Starlette(routes=[Route("/", index), Route("/read", read, methods=["POST"])])


def serve(calc: AirCalc, port: int) -> None:
    import uvicorn

    uvicorn.run(create_app(calc), host="127.0.0.1", port=port, log_level="warning")
