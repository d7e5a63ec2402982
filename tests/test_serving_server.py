"""MLflow's scoring server on a keraslab pyfunc: real answers, 4xx for bad input, never a 5xx or a crash."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from keraslab import processes
from keraslab.serving import server
from keraslab.serving.wrappers.classification import png_base64
from test_serving import digit_seven, log_tiny_mnist_model

from conftest import free_port, synthetic_digits

JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("served")
    run_id, tracking = log_tiny_mnist_model(root)
    port = free_port()
    process = server.start(server.model_uri(run_id), "127.0.0.1", port, tracking, log=root / "server.log")
    address = f"http://127.0.0.1:{port}"
    try:
        processes.wait_ready(address, process, timeout=180)
        yield address
    finally:
        processes.stop(process)
    assert process.returncode is not None  # stopped


def post(url: str, body: object, session: requests.Session | None = None) -> requests.Response:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return (session or requests).post(f"{url}/invocations", data=data, headers=JSON, timeout=60)


def test_server_answers_images_and_arrays(url: str) -> None:
    x, _ = synthetic_digits(2, seed=3)
    answer = post(url, {"dataframe_records": [{"image": png_base64(digit_seven())}, {"array": x[0].tolist()}]})
    assert answer.status_code == 200, answer.text
    predictions = answer.json()["predictions"]
    assert [set(p) for p in predictions] == [{"label", "probability", "probabilities"}] * 2
    assert all(p["label"] in [str(i) for i in range(10)] and len(p["probabilities"]) == 10 for p in predictions)
    assert post(url, {"inputs": {"array": [x[1].tolist()]}}).status_code == 200


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"inputs": [1, 2', "valid JSON"),
        ({"data": [1]}, "input fields"),
        ({"inputs": {"array": [[[1.0] * 28] * 27]}}, "28×28"),
        ({"inputs": {"array": [[["x"] * 28] * 28]}}, "numbers"),
        (b'{"inputs": {"array": [[[NaN, 1], [2, Infinity]]]}}', "shape"),
        (b'{"inputs": {"array": [' + json.dumps([[float("nan")] * 28] * 28).encode() + b"]}}", "finite"),
        ({"inputs": {"image": [base64.b64encode(b"GIF89a not really").decode()]}}, "PNG or JPEG"),
        ({"dataframe_records": []}, "empty"),
        ({"dataframe_records": [{"image": "A" * (50 * 2**20)}]}, "at most 10 MiB"),
    ],
)
def test_bad_requests_get_400_saying_what_is_expected(url: str, body: object, expected: str) -> None:
    answer = post(url, body)
    assert answer.status_code == 400
    assert expected in answer.json()["message"]
    assert len(answer.content) < 100_000  # the answer does not echo a 50 MB image
    assert requests.get(f"{url}/ping", timeout=10).status_code == 200


scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
json_values = st.recursive(
    scalars, lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=6), c, max_size=3)
)
wrong_arrays = st.lists(st.lists(st.floats() | st.integers(), max_size=27), max_size=30)  # never 28×28
bad_images = st.binary(max_size=300).map(lambda b: base64.b64encode(b).decode()) | st.text(max_size=40)
columns = st.sampled_from(["image", "array", "images", "x"])
items = st.one_of(
    st.tuples(st.just("array"), wrong_arrays), st.tuples(st.just("image"), bad_images), st.tuples(columns, json_values)
)


@st.composite
def bad_bodies(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["raw", "envelope", "inputs", "records", "instances", "split"]))
    if kind == "raw":
        return draw(st.binary(max_size=200))
    if kind == "envelope":
        keys = st.sampled_from(["inputs", "instances", "dataframe_records", "dataframe_split", "params", "array"])
        return json.dumps(draw(st.dictionaries(keys, json_values, max_size=3))).encode()
    rows = draw(st.lists(items, max_size=3))
    body = {
        "inputs": {"inputs": {column: [value] for column, value in rows}},
        "records": {"dataframe_records": [{column: value} for column, value in rows]},
        "instances": {"instances": [{column: value} for column, value in rows]},
        "split": {"dataframe_split": {"columns": [c for c, _ in rows], "data": [[v for _, v in rows]]}},
    }[kind]
    return json.dumps(body).encode()


def test_fuzzed_bad_requests_never_get_a_5xx(url: str) -> None:
    session, statuses = requests.Session(), []

    @settings(max_examples=1000, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(body=bad_bodies())
    def check(body: bytes) -> None:
        answer = post(url, body, session)
        statuses.append(answer.status_code)
        assert 400 <= answer.status_code < 500, (answer.status_code, body[:300], answer.text[:500])

    check()
    assert len(statuses) >= 1000
    assert requests.get(f"{url}/ping", timeout=10).status_code == 200


def test_servers_get_allocator_settings_that_return_large_buffers(monkeypatch: pytest.MonkeyPatch) -> None:
    env = processes.server_env("sqlite:///x.db")
    assert env["MALLOC_MMAP_THRESHOLD_"] == env["MALLOC_TRIM_THRESHOLD_"] == "131072"
    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "65536")  # the user's own setting wins
    assert processes.server_env("sqlite:///x.db")["MALLOC_MMAP_THRESHOLD_"] == "65536"
