"""Points in the plane, labelled by quadrant."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pydantic import Field

from keraslab.config import DataSpec, Strict
from keraslab.data.splits import DataInfo, Splits, carve_validation


class Options(Strict):
    points: int = Field(400, ge=8)


def load(spec: DataSpec, data_dir: Path | None, seed: int) -> Splits:
    opts = Options.model_validate(spec.options)
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, size=(opts.points, 2)).astype(np.float32)
    y = ((x[:, 0] > 0).astype(np.int64) + 2 * (x[:, 1] > 0)).astype(np.int64)
    n_test = opts.points // 4
    x_train, y_train, x_val, y_val = carve_validation(x[n_test:], y[n_test:], spec.validation_split, seed)
    info = DataInfo(
        source="generated", model_params={"input_shape": [2], "num_classes": 4}, class_names=["--", "+-", "-+", "++"]
    )
    return Splits(x_train, y_train, x_val, y_val, x[:n_test], y[:n_test], info)
