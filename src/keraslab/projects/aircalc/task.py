"""AirCalc's symbol classifier trains as a classification (the same ``datasets`` and ``callbacks``); its
evaluation adds, on top of classification's, the operators by source: accuracy per class on the real held-out
drawings and on the generated operators apart, a confusion matrix for each, and the data's composition.
The served model differs too (``wrapper``: expressions in, readings out).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from keraslab.projects.aircalc.symbols import CLASS_NAMES, NAMES, OPERATORS
from keraslab.tasks import Evaluation, classification
from keraslab.tasks.classification import callbacks, datasets, scaled
from keraslab.tracking.plots import confusion_matrix

if TYPE_CHECKING:
    import keras
    import tensorflow as tf

    from keraslab.data import Splits

__all__ = ["callbacks", "datasets", "evaluate"]
SOURCES = ("real", "generated")


def evaluate(model: keras.Model, test_ds: tf.data.Dataset, splits: Splits) -> Evaluation:
    """Classification's evaluation, plus per-source operator metrics (``test_<source>_accuracy_<class>``, their
    minimum and mean), ``operators_by_source.md`` and ``confusion_matrix_<source>.png``."""
    evaluation = classification.evaluate(model, test_ds, splits)
    sources = np.asarray(splits.info.extra.get("test_sources", []))
    operators = np.flatnonzero(np.isin(sources, SOURCES))
    if len(operators) == 0:
        return evaluation
    predicted = np.full(len(sources), -1)
    predicted[operators] = model.predict(scaled(splits.x_test[operators]), batch_size=512, verbose=0).argmax(axis=1)
    table = accuracy_table(splits.y_test, predicted, sources)
    for source, row in table.items():
        for symbol, (correct, total) in row.items():
            evaluation.metrics[f"test_{source}_accuracy_{NAMES[symbol]}"] = correct / total
        if row:
            evaluation.metrics[f"test_{source}_operator_accuracy"] = sum(c for c, _ in row.values()) / sum(
                n for _, n in row.values()
            )
            evaluation.metrics[f"test_{source}_min_class_accuracy"] = min(c / n for c, n in row.values())
        mask = sources == source
        if mask.any():
            figure = confusion_matrix(splits.y_test[mask], predicted[mask], CLASS_NAMES)
            evaluation.figures[f"confusion_matrix_{source}.png"] = figure
    composition = splits.info.extra.get("composition", {})
    for source in SOURCES:
        evaluation.metrics[f"train_{source}_operators"] = sum(
            row.get(f"train {source}", 0) for row in composition.values()
        )
    evaluation.texts["operators_by_source.md"] = report(table, composition)
    return evaluation


def accuracy_table(y: np.ndarray, predicted: np.ndarray, sources: np.ndarray) -> dict[str, dict[str, tuple[int, int]]]:
    """source -> operator -> (correct, total) on the test images of that source and class."""
    table: dict[str, dict[str, tuple[int, int]]] = {}
    for source in SOURCES:
        table[source] = {}
        for symbol in OPERATORS:
            mask = (sources == source) & (y == CLASS_NAMES.index(symbol))
            if mask.any():
                table[source][symbol] = (int((predicted[mask] == y[mask]).sum()), int(mask.sum()))
    return table


def report(table: dict[str, dict[str, tuple[int, int]]], composition: dict[str, dict[str, int]]) -> str:
    """Markdown: held-out accuracy per class and source, then each class's images per split and source."""
    lines = ["| class | real held-out | generated held-out |", "|---|---:|---:|"]
    for symbol in OPERATORS:
        cells = [cell(*table[source][symbol]) if symbol in table[source] else "—" for source in SOURCES]
        lines.append(f"| `{symbol}` | " + " | ".join(cells) + " |")
    columns = sorted({key for row in composition.values() for key in row})
    lines += ["", "| class | " + " | ".join(columns) + " |", "|---|" + "---:|" * len(columns)]
    lines += [f"| `{s}` | " + " | ".join(str(row.get(c, 0)) for c in columns) + " |" for s, row in composition.items()]
    return "\n".join(lines) + "\n"


def cell(correct: int, total: int) -> str:
    return f"{correct / total:.4f} ({correct}/{total})"
