"""Transformer LM pieces: tokenizers, positions, causal mask, KV-cached decoding, text data (no training)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from keraslab import registry
from keraslab.config import ConfigError, DataSpec
from keraslab.projects.transformer.decoding import (
    Compiled,
    DecodingSettings,
    continue_ids,
    generate,
    log_softmax,
    sample_in_graph,
)
from keraslab.projects.transformer.tokenizers import Tokenizer, UnknownSymbols

TEXT = "First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n"
SMALL = {"vocab_size": 13, "context": 16, "layers": 2, "heads": 2, "width": 16, "dropout": 0.0}


def small_model(**overrides: object):
    from keraslab.models import build

    return build("transformer", {**SMALL, **overrides})


@pytest.mark.parametrize("kind", ["char", "word"])
def test_tokenizer_round_trip_and_json(kind: str) -> None:
    tokenizer = Tokenizer.build(TEXT, kind)
    ids = tokenizer.encode(TEXT)
    assert tokenizer.decode(ids) == TEXT
    assert ids.min() >= 1  # nothing of the training text is <unk>
    restored = Tokenizer.from_json(tokenizer.to_json())
    assert restored == tokenizer and restored.decode(restored.encode(TEXT)) == TEXT
    if kind == "word":
        assert len(ids) < len(TEXT) / 2 and "Speak" in tokenizer.tokens


def test_unknown_symbols_are_named_or_mapped_to_unk() -> None:
    tokenizer = Tokenizer.build(TEXT, "char")
    with pytest.raises(UnknownSymbols, match="'Z'"):
        tokenizer.encode("Zounds")
    assert tokenizer.encode("Zo", errors="unk")[0] == 0
    with pytest.raises(ValueError, match="not a keraslab tokenizer"):
        Tokenizer.from_json('{"kind": "bytes"}')


def test_sinusoidal_encoding_matches_the_formula() -> None:
    from keraslab.projects.transformer.layers import sinusoidal_table

    table = sinusoidal_table(50, 16)
    for pos in (0, 1, 7, 49):
        for i in range(8):
            angle = pos / 10000 ** (2 * i / 16)
            assert table[pos, 2 * i] == pytest.approx(math.sin(angle), abs=1e-6)
            assert table[pos, 2 * i + 1] == pytest.approx(math.cos(angle), abs=1e-6)


@pytest.mark.parametrize("options", [{"positions": "sinusoidal"}, {"positions": "learned", "tie_weights": False}])
def test_changing_a_future_token_never_changes_earlier_logits(options: dict) -> None:
    model = small_model(**options)
    tokens = np.random.default_rng(0).integers(1, 13, size=(1, 16)).astype(np.int32)
    changed = tokens.copy()
    changed[0, 9] = tokens[0, 9] % 12 + 1
    before, after = np.asarray(model(tokens)), np.asarray(model(changed))
    np.testing.assert_allclose(before[:, :9], after[:, :9], atol=1e-6)
    assert np.abs(before[:, 9:] - after[:, 9:]).max() > 1e-4  # the change is seen from position 9 on


def test_cached_and_uncached_decoding_give_the_same_tokens() -> None:
    compiled = Compiled(small_model(positions="sinusoidal"))
    prompt = np.array([3, 1, 4, 1, 5], dtype=np.int32)
    for strategy in ("greedy", "sample", "beam"):
        settings = DecodingSettings(strategy=strategy, max_new_tokens=11, seed=3, temperature=2.0, beam_width=3)
        cached = continue_ids(compiled, prompt, settings)
        uncached = continue_ids(compiled, prompt, settings.model_copy(update={"cached": False}))
        assert len(cached) == 11
        np.testing.assert_array_equal(cached, uncached)
    # past the context the cache restarts from the newest half window: still runs, still 40 tokens
    assert len(continue_ids(compiled, prompt, DecodingSettings(strategy="greedy", max_new_tokens=40))) == 40


def test_beam_width_one_equals_greedy_and_a_full_beam_finds_the_best_pair() -> None:
    model = small_model()
    compiled = Compiled(model)
    prompt = np.array([2, 7, 1], dtype=np.int32)
    greedy = continue_ids(compiled, prompt, DecodingSettings(strategy="greedy", max_new_tokens=10))
    beam1 = continue_ids(compiled, prompt, DecodingSettings(strategy="beam", beam_width=1, max_new_tokens=10))
    np.testing.assert_array_equal(greedy, beam1)
    # width >= vocabulary keeps every first token, so two steps of beam search are exhaustive
    beam = continue_ids(compiled, prompt, DecodingSettings(strategy="beam", beam_width=13, max_new_tokens=2))
    first = log_softmax(np.asarray(model(prompt[None]), dtype=np.float64)[0, -1])
    pairs = np.stack([np.concatenate([prompt, [a]]) for a in range(13)])
    second = log_softmax(np.asarray(model(pairs), dtype=np.float64)[:, -1])
    best = np.unravel_index(np.argmax(first[:, None] + second), (13, 13))
    np.testing.assert_array_equal(beam, best)


def test_sampling_filters_and_stop_token() -> None:
    tokenizer = Tokenizer.build("abcdefghijkl", "char")  # 13 tokens with <unk>
    compiled = Compiled(small_model())
    one = DecodingSettings(strategy="sample", top_k=1, max_new_tokens=8, seed=0)
    greedy = DecodingSettings(strategy="greedy", max_new_tokens=8)
    assert generate(compiled, tokenizer, "abc", one) == generate(compiled, tokenizer, "abc", greedy)
    nucleus = DecodingSettings(strategy="sample", top_p=1e-6, max_new_tokens=8, seed=5)  # keeps the top token only
    assert generate(compiled, tokenizer, "abc", nucleus) == generate(compiled, tokenizer, "abc", greedy)
    text = generate(compiled, tokenizer, "abc", greedy)
    stopped = generate(compiled, tokenizer, "abc", greedy.model_copy(update={"stop": text[2]}))
    assert stopped == text[: text.index(text[2]) + 1]
    with pytest.raises(UnknownSymbols, match="'z'"):
        generate(compiled, tokenizer, "abz", greedy)


def test_in_graph_sampling_keeps_to_the_top_k_and_the_nucleus() -> None:
    import tensorflow as tf

    probs = np.array([[0.05, 0.4, 0.1, 0.3, 0.15]], dtype=np.float32)  # ranked: 1, 3, 4, 2, 0
    logits = tf.constant(np.log(probs))

    def draws(top_k: int, top_p: float) -> set[int]:
        seeds = [tf.constant([s, 0]) for s in range(200)]
        return {int(sample_in_graph(logits, 1.0, top_k, top_p, seed)[0]) for seed in seeds}

    assert draws(5, 1.0) == {0, 1, 2, 3, 4}
    assert draws(3, 1.0) == {1, 3, 4}
    assert draws(5, 0.65) == {1, 3}  # 0.4 falls short of 0.65, 0.4 + 0.3 reaches it
    assert draws(5, 0.75) == {1, 3, 4}
    assert draws(2, 0.95) == {1, 3}  # top-k first, then the nucleus of what is left


def test_text_data_splits_by_position(tmp_path: Path) -> None:
    from keraslab.data import DataUnavailable, load

    (tmp_path / "tinyshakespeare").mkdir()
    text = "".join(chr(ord("a") + i % 26) for i in range(1000)) + "XYZ"
    (tmp_path / "tinyshakespeare" / "input.txt").write_text(text, encoding="utf-8")
    splits = load(DataSpec(dataset="text", validation_split=0.2), tmp_path)
    tokenizer = splits.info.extra["tokenizer"]
    assert tokenizer.decode(splits.x_train) == text[:802]
    assert tokenizer.decode(splits.x_val) == text[802:902]
    assert tokenizer.decode(splits.x_test).endswith("<unk>" * 3) and len(splits.x_test) == 101
    assert splits.info.model_params == {"vocab_size": 27}
    with pytest.raises(DataUnavailable, match=r"tinyshakespeare/input\.txt"):
        load(DataSpec(dataset="text"), tmp_path / "tinyshakespeare")
    with pytest.raises(ConfigError, match=r"data\.options\.tokeniser"):
        registry.load("transformer-lm", ["data.options.tokeniser=char"])
