"""Activity recognition: a window of sensor readings, or a whole recording, in; the activity per window out.

Each request row holds one of two columns:

- ``window``: nested lists ``T × C`` (the model's window length and channels), raw readings;
- ``recording``: CSV text of raw readings, a column per channel (an optional header row naming the channels, in
  any order), at least ``T`` rows; it is cut into sliding windows of ``T`` readings every ``stride`` readings
  (the ``stride`` param, default ``T // 2``).

The answer has one row per window: ``row`` (request row), ``start``/``end`` (reading indices, end exclusive),
``label``, ``probability`` and ``probabilities`` (in the order of the class names).

With the ``timeline`` param true it has one row per segment instead: the window probabilities of each request row
are averaged over ``smooth`` consecutive windows (default 5), each window labelled by the best class, and runs of
one label merged. A segment's ``start``/``end`` are readings (each window owns the readings around its centre,
the first from 0, the last to its end); ``start_s``/``end_s`` are seconds at the model's sample rate (readings
when it is unknown); ``probability`` is the mean smoothed probability of the label over the segment's windows.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from mlflow.models import ModelSignature
from mlflow.types.schema import AnyType, Array, ColSpec, ParamSchema, ParamSpec, Schema

from keraslab.projects.activity.sequences import sliding_windows
from keraslab.projects.activity.timeline import segments
from keraslab.serving.pyfunc import KerasPyfunc, Wrapper, as_numbers, bad_input, check_finite, present

if TYPE_CHECKING:
    import keras

    from keraslab.config import ProjectSpec
    from keraslab.data import Splits

WINDOW, RECORDING = "window", "recording"
MAX_WINDOWS = 10_000


class ActivityClassifier(KerasPyfunc):
    def __init__(self, class_names: list[str], channels: list[str], sample_rate_hz: float | None = None) -> None:
        self.class_names = list(class_names)
        self.channels = list(channels)
        self.sample_rate_hz = sample_rate_hz

    def load_context(self, context: Any) -> None:
        from keraslab.models import inertial  # noqa: F401 (registers the fixed layers the model may hold)

        super().load_context(context)

    @property
    def length(self) -> int:
        return self.input_shape[0]

    def expected(self) -> str:
        return (
            f"each row needs '{WINDOW}' ({self.length} × {len(self.channels)} numbers) or '{RECORDING}' (CSV text, "
            f"one column per channel {', '.join(self.channels)}, at least {self.length} rows)"
        )

    def predict(self, context: Any, model_input: Any, params: dict[str, Any] | None = None) -> pd.DataFrame:
        stride = int((params or {}).get("stride") or max(1, self.length // 2))
        if stride < 1:
            raise bad_input(f"stride = {stride}: expected a positive number of readings")
        frame = model_input if isinstance(model_input, pd.DataFrame) else pd.DataFrame(model_input)
        if len(frame) == 0:
            raise bad_input(f"the batch is empty; {self.expected()}")
        pieces = [self.windows(i, row, stride) for i, (_, row) in enumerate(frame.iterrows())]
        total = sum(len(w) for w, _ in pieces)
        if total > MAX_WINDOWS:
            raise bad_input(f"the request makes {total} windows; at most {MAX_WINDOWS} (raise the stride)")
        probabilities = self.infer(np.concatenate([w for w, _ in pieces]))
        rows = np.concatenate([np.full(len(s), i) for i, (_, s) in enumerate(pieces)])
        starts = np.concatenate([s for _, s in pieces])
        if (params or {}).get("timeline"):
            smooth = int((params or {}).get("smooth") or 5)
            return self.timeline(rows, starts, probabilities, smooth)
        best = probabilities.argmax(axis=1)
        return pd.DataFrame(
            {
                "row": rows,
                "start": starts,
                "end": starts + self.length,
                "label": [self.class_names[i] for i in best],
                "probability": probabilities[np.arange(len(best)), best].astype(float),
                "probabilities": probabilities.astype(float).tolist(),
            }
        )

    def timeline(self, rows: np.ndarray, starts: np.ndarray, probabilities: np.ndarray, smooth: int) -> pd.DataFrame:
        """Smoothed contiguous segments of each request row (see the module's docstring)."""
        if smooth < 1:
            raise bad_input(f"smooth = {smooth}: expected a positive number of windows")
        rate = self.sample_rate_hz or 1.0
        found = []
        for row in np.unique(rows):
            own = rows == row
            for segment in segments(starts[own], probabilities[own], self.length, smooth):
                found.append({"row": int(row), **segment._asdict()})
        frame = pd.DataFrame(found)
        frame["label"] = [self.class_names[c] for c in frame.pop("label_index")]
        frame["start_s"], frame["end_s"] = frame["start"] / rate, frame["end"] / rate
        return frame[["row", "start", "end", "label", "probability", "probabilities", "start_s", "end_s"]]

    def windows(self, index: int, row: pd.Series, stride: int) -> tuple[np.ndarray, np.ndarray]:
        """``(windows, starts)`` of one request row."""
        window, recording = row.get(WINDOW), row.get(RECORDING)
        given = [name for name, value in ((WINDOW, window), (RECORDING, recording)) if present(value)]
        if len(given) != 1:
            raise bad_input(f"row {index}: {'both given' if given else 'nothing given'}; {self.expected()}")
        if given == [WINDOW]:
            values = check_finite(as_numbers(window, self.input_dtype, f"row {index}: '{WINDOW}'"), f"row {index}")
            if values.shape != self.input_shape:
                raise bad_input(f"row {index}: '{WINDOW}' has shape {values.shape}; {self.expected()}")
            return values[None], np.zeros(1, dtype=np.int64)
        readings = self.read_csv(index, recording)
        try:
            return sliding_windows(readings, self.length, stride)
        except ValueError as exc:
            raise bad_input(f"row {index}: {exc}") from None

    def read_csv(self, index: int, text: Any) -> np.ndarray:
        """A ``(T, C)`` array of the readings in CSV ``text``, columns in the model's channel order."""
        where = f"row {index}: '{RECORDING}'"
        if not isinstance(text, str):
            raise bad_input(f"{where} is a {type(text).__name__}; expected CSV text")
        lines = [line for line in text.strip().splitlines() if line.strip()]
        header = [h.strip() for h in lines[0].split(",")] if lines else []
        has_header = bool(header) and not all(_is_number(h) for h in header)
        if has_header and sorted(header) != sorted(self.channels):
            raise bad_input(f"{where}: header names {header}; expected the channels {self.channels}")
        body = "\n".join(lines[1:] if has_header else lines)
        try:
            readings = np.loadtxt(io.StringIO(body), delimiter=",", dtype=self.input_dtype, ndmin=2)
        except ValueError as exc:
            raise bad_input(f"{where}: not a table of numbers ({exc}); {self.expected()}") from None
        if readings.shape[1] != len(self.channels):
            raise bad_input(
                f"{where} has {readings.shape[1]} columns; the model expects {len(self.channels)} channels "
                f"({', '.join(self.channels)})"
            )
        if has_header:
            readings = readings[:, [header.index(name) for name in self.channels]]
        return check_finite(readings, where)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def to_csv(readings: np.ndarray, channels: list[str]) -> str:
    """A ``(T, C)`` recording as CSV text with a header row: what a client sends as ``recording``."""
    buffer = io.StringIO()
    np.savetxt(buffer, readings, delimiter=",", header=",".join(channels), comments="", fmt="%.6g")
    return buffer.getvalue()


def wrapper(spec: ProjectSpec, splits: Splits, model: keras.Model) -> Wrapper:
    length, channels = tuple(model.inputs[0].shape[1:])
    names = splits.info.extra.get("channels") or [f"channel_{c}" for c in range(channels)]
    inputs = Schema([ColSpec(AnyType(), WINDOW, required=False), ColSpec("string", RECORDING, required=False)])
    outputs = Schema(
        [
            ColSpec("long", "row"),
            ColSpec("long", "start"),
            ColSpec("long", "end"),
            ColSpec("string", "label"),
            ColSpec("double", "probability"),
            ColSpec(Array("double"), "probabilities"),
            ColSpec("double", "start_s", required=False),
            ColSpec("double", "end_s", required=False),
        ]
    )
    params = ParamSchema(
        [
            ParamSpec("stride", "long", max(1, length // 2)),
            ParamSpec("timeline", "boolean", False),
            ParamSpec("smooth", "long", 5),
        ]
    )
    signature = ModelSignature(inputs=inputs, outputs=outputs, params=params)
    example = pd.DataFrame({WINDOW: [np.asarray(splits.x_test[0]).tolist()]})
    served = ActivityClassifier(splits.info.class_names, names, splits.info.extra.get("sample_rate_hz"))
    return Wrapper(served, signature, example)
