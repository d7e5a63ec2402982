"""The transformer LM end to end: a tiny model overfits a short text through the trainer, then `keraslab generate`."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from keraslab import registry
from keraslab.cli import app

PHRASE = "to be or not to be, that is the question; "
TINY = [
    "model.context=24",
    "model.layers=2",
    "model.heads=2",
    "model.width=32",
    "model.dropout=0.0",
    "model.learning_rate=0.01",
    "model.warmup_steps=10",
    "training.steps_per_execution=30",
    "data.options.steps_per_epoch=60",
    "data.validation_split=0.2",
    "training.epochs=3",
    "training.batch_size=16",
    "training.jit_compile=false",
]


@pytest.fixture
def trained(workdir: Path) -> tuple[str, dict[str, float]]:
    from keraslab.training.trainer import train

    path = workdir / "phrase.txt"
    path.write_text(PHRASE * 40, encoding="utf-8")
    spec = registry.load("transformer-lm", [*TINY, f"data.options.path={str(path)!r}"])
    result = train(spec, verbose=0)
    return result.run_id, result.test_metrics


def test_tiny_model_overfits_and_generates(trained: tuple[str, dict[str, float]]) -> None:
    import mlflow

    run_id, metrics = trained
    assert metrics["test_loss"] < 0.2, metrics  # a 42-character cycle: near-certain next characters
    assert metrics["test_bits_per_char"] < 0.3 and metrics["test_perplexity"] < 1.25

    client = mlflow.MlflowClient()
    rates = [m.value for m in client.get_metric_history(run_id, "learning_rate")]
    assert len(rates) == 3 and rates[0] > rates[1] > rates[2] < 0.25 * 0.01  # the cosine decays over the run
    assert "--- beam ---" in mlflow.artifacts.load_text(f"runs:/{run_id}/samples/final.txt")
    assert mlflow.artifacts.load_text(f"runs:/{run_id}/samples/epoch_003.txt")

    runner = CliRunner()
    for strategy in ("greedy", "beam", "sample"):
        args = ["generate", run_id, "to be or ", "--max-new-tokens", "33", "--strategy", strategy, "--seed", "1"]
        result = runner.invoke(app, [*args, "--temperature", "0.3"])
        assert result.exit_code == 0, result.output
        assert result.stdout.strip() == PHRASE.strip(), strategy  # "to be or " + 33 characters

    stopped = runner.invoke(app, ["generate", run_id, "to be or", "--strategy", "greedy", "--stop", ","])
    assert stopped.exit_code == 0 and stopped.stdout.strip() == "to be or not to be,"
    unknown = runner.invoke(app, ["generate", run_id, "To be!"])
    assert unknown.exit_code == 2
    assert "not in the model's vocabulary" in unknown.output and "'T'" in unknown.output
