"""Text for language models: tfds ``tiny_shakespeare``, or any UTF-8 file, as token streams.

``x_*`` hold the token ids of each split's text (``y_*`` are empty: the targets are the inputs shifted by one,
cut by the task). A local file is split by position: the first ``1 - validation_split`` of the text trains, the
held-out end is halved into validation then test. The tokenizer is built from the training text only and rides
in ``info.extra["tokenizer"]``; held-out symbols it lacks map to ``<unk>``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
from pydantic import Field

from keraslab.config import Strict
from keraslab.data.splits import DataInfo, DataUnavailable, Splits
from keraslab.projects.transformer.tokenizers import Tokenizer

if TYPE_CHECKING:
    from keraslab.config import DataSpec

LOCAL_FILE = Path("tinyshakespeare") / "input.txt"
DOWNLOAD_URL = "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt"


class Options(Strict):
    """``[data.options]`` of a text dataset."""

    path: str | None = Field(None, description="a UTF-8 text file (instead of --data-dir / tfds)")
    tokenizer: Literal["char", "word"] = "char"
    max_vocab: int | None = Field(None, ge=2, description="word level: keep the most frequent pieces")
    min_count: int = Field(1, ge=1, description="word level: drop rarer pieces (they become <unk>)")
    steps_per_epoch: int = Field(500, ge=1, description="training batches per epoch (random windows)")
    eval_windows: int | None = Field(None, ge=1, description="cap on the per-epoch validation windows; None: all")


def read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataUnavailable(f"text file {path} not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DataUnavailable(f"{path}: cannot read as UTF-8 text ({exc})") from None


def split_by_position(text: str, held_out: float) -> tuple[str, str, str]:
    """First ``1 - held_out`` of the text, then the held-out end halved into validation and test."""
    cut = round(len(text) * (1 - held_out))
    middle = cut + (len(text) - cut) // 2
    return text[:cut], text[cut:middle], text[middle:]


def tfds_texts() -> tuple[str, str, str]:
    """tfds ``tiny_shakespeare``'s train/validation/test strings (fails fast offline, naming the local file)."""
    import tensorflow_datasets as tfds

    from keraslab.data.remote import tfds_load

    remedy = (
        f"Download it once online, or pass --data-dir DIR (or set KERASLAB_DATA_DIR) with {LOCAL_FILE}, "
        "or --set data.options.path=FILE"
    )
    splits = tfds_load("tiny_shakespeare", ["train", "validation", "test"], DOWNLOAD_URL, remedy)
    return tuple(next(iter(tfds.as_numpy(ds)))["text"].decode("utf-8") for ds in splits)


def load(spec: DataSpec, data_dir: Path | None, seed: int) -> Splits:
    """Token streams of the three splits; ``model_params`` sets ``vocab_size``."""
    opts = Options.model_validate(spec.options)
    if opts.path or data_dir is not None:
        path = Path(opts.path).expanduser() if opts.path else data_dir / LOCAL_FILE
        if not opts.path and not path.is_file():
            raise DataUnavailable(f"{path} not found: --data-dir must hold {LOCAL_FILE} (or set data.options.path)")
        if spec.validation_split <= 0:
            raise DataUnavailable("data.validation_split must be > 0 for text: the held-out end gives val and test")
        train, val, test = split_by_position(read_text(path), spec.validation_split)
        source = f"text:{path.resolve()}"
    else:
        train, val, test = tfds_texts()
        source = "tfds:tiny_shakespeare"
    tokenizer = Tokenizer.build(train, opts.tokenizer, opts.max_vocab, opts.min_count)
    x_train, x_val, x_test = (tokenizer.encode(part, errors="unk") for part in (train, val, test))
    empty = np.zeros(0, dtype=np.int32)
    info = DataInfo(
        source=source,
        model_params={"vocab_size": tokenizer.vocab_size},
        sizes={"train": len(x_train), "validation": len(x_val), "test": len(x_test)},
        extra={"tokenizer": tokenizer},
    )
    return Splits(x_train, empty, x_val, empty, x_test, empty, info)
