"""The canvas page in real headless Chromium: draw ``12+7×3`` with mouse events, read ``33`` on the page.

Real page, real server (uvicorn on 127.0.0.1), real pipeline; the classifier is the template classifier of
``test_aircalc_pipeline`` so the test needs no trained network.
"""

from __future__ import annotations

import shutil
import socket
import threading
import time

import pytest
import uvicorn

from keraslab.projects.aircalc.pipeline import AirCalc
from keraslab.projects.aircalc.server import create_app
from test_aircalc_pipeline import classify_by_template, trace_of

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
playwright = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install playwright)")
if not shutil.which("chromium"):
    pytest.skip("chromium is absent (Debian: apt-get install -y chromium)", allow_module_level=True)


@pytest.fixture
def page_url():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(AirCalc(classify_by_template)), host="127.0.0.1", port=port))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/"
    server.should_exit = True
    thread.join(5)


@pytest.mark.parametrize(
    ("text", "value", "note"),
    [("12+7×3", "33", ""), ("2·.5", "1", "symbol 2 is a dot at 0.50 of the line's height: multiplication ·")],
)
def test_drawing_on_the_canvas_shows_the_answer(page_url: str, text: str, value: str, note: str) -> None:
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox"])
        page = browser.new_page(viewport={"width": 1000, "height": 700})
        page.goto(page_url)
        box = page.locator("#pad").bounding_box()
        for stroke in trace_of(text, height=90.0, origin=(40.0, 60.0)):
            page.mouse.move(box["x"] + stroke[0][0], box["y"] + stroke[0][1])
            page.mouse.down()
            for x, y in stroke[1:]:
                page.mouse.move(box["x"] + x, box["y"] + y, steps=4)
            page.mouse.up()
        page.click("#read")
        page.wait_for_function("document.getElementById('value').textContent !== ''", timeout=10_000)
        assert page.text_content("#expression") == text
        assert page.text_content("#value") == value
        assert page.locator("#symbols tbody tr").count() == len(text)
        assert note in page.text_content("#note")
        browser.close()
