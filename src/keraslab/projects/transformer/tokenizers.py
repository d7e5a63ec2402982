"""Character- and word-level tokenizers built from the training text, saved as JSON with the model.

Id 0 is ``<unk>``: held-out text may contain symbols the training text lacks (``errors="unk"``), while a
prompt with such symbols is refused by default (``errors="strict"``) with the offending symbols named.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Literal

import numpy as np

UNK = "<unk>"
Kind = Literal["char", "word"]
Errors = Literal["strict", "unk"]
#: Words, single punctuation marks and whitespace runs: joining the pieces gives the text back exactly.
WORD_PIECES = re.compile(r"\w+|[^\w\s]|\s+")


class UnknownSymbols(ValueError):
    """Text holds symbols the tokenizer's vocabulary does not."""


@dataclass(frozen=True)
class Tokenizer:
    kind: Kind
    tokens: tuple[str, ...]  # id -> token; tokens[0] is <unk>

    @classmethod
    def build(cls, text: str, kind: Kind = "char", max_vocab: int | None = None, min_count: int = 1) -> Tokenizer:
        """The vocabulary of ``text``: every character, or the ``max_vocab`` most frequent word pieces."""
        if kind not in ("char", "word"):
            raise ValueError(f"tokenizer kind {kind!r} is not one of char, word")
        counts = Counter(split(text, kind))
        if not counts:
            raise ValueError("cannot build a tokenizer from empty text")
        kept = sorted((t for t, n in counts.items() if n >= min_count), key=lambda t: (-counts[t], t))
        if max_vocab is not None:
            kept = kept[: max(max_vocab - 1, 1)]
        return cls(kind, (UNK, *sorted(kept)))

    @property
    def vocab_size(self) -> int:
        return len(self.tokens)

    @cached_property
    def _index(self) -> dict[str, int]:
        return {t: i for i, t in enumerate(self.tokens)}

    def encode(self, text: str, errors: Errors = "strict") -> np.ndarray:
        """Token ids (int32). Unknown symbols raise ``UnknownSymbols`` or, with ``errors="unk"``, map to 0."""
        index = self._index
        pieces = split(text, self.kind)
        if errors == "strict":
            unknown = sorted({p for p in pieces if p not in index})
            if unknown:
                shown = ", ".join(repr(p) for p in unknown[:10]) + (" …" if len(unknown) > 10 else "")
                raise UnknownSymbols(
                    f"{len(unknown)} {self.kind}{'s' if len(unknown) > 1 else ''} not in the model's vocabulary "
                    f"of {self.vocab_size}: {shown}"
                )
        return np.fromiter((index.get(p, 0) for p in pieces), dtype=np.int32, count=len(pieces))

    def decode(self, ids: Sequence[int] | np.ndarray) -> str:
        return "".join(self.tokens[int(i)] for i in ids)

    def to_json(self) -> str:
        return json.dumps({"kind": self.kind, "tokens": list(self.tokens)}, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Tokenizer:
        try:
            data = json.loads(text)
            kind, tokens = data["kind"], tuple(data["tokens"])
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ValueError(f"not a keraslab tokenizer JSON ({exc})") from None
        if kind not in ("char", "word") or not tokens or tokens[0] != UNK:
            raise ValueError(f"not a keraslab tokenizer JSON (kind {kind!r}, first token {tokens[:1]!r})")
        return cls(kind, tokens)


def split(text: str, kind: Kind) -> list[str]:
    return list(text) if kind == "char" else WORD_PIECES.findall(text)
