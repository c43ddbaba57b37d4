"""Count tokens the way the embedding model does, without loading the model (tokenizers only)."""

from __future__ import annotations

import json
from functools import cached_property
from pathlib import Path

__all__ = ["TokenCounter"]


class TokenCounter:
    """count(text) -> word pieces the embedding model would read; max_tokens is what it reads at most."""

    def __init__(self, model_path: Path, *, max_tokens: int | None = None):
        self.model_path = Path(model_path)
        self._max_tokens = max_tokens

    @cached_property
    def _tokenizer(self):
        from tokenizers import Tokenizer

        tok = Tokenizer.from_file(str(self.model_path / "tokenizer.json"))
        tok.no_truncation()
        tok.no_padding()
        return tok

    @cached_property
    def max_tokens(self) -> int:
        """The model's maximum sequence length (sentence-transformers config), less [CLS] and [SEP]."""
        if self._max_tokens:
            return self._max_tokens
        for name, key in (("sentence_bert_config.json", "max_seq_length"), ("config.json", "max_position_embeddings")):
            f = self.model_path / name
            if f.is_file():
                value = json.loads(f.read_text(encoding="utf-8")).get(key)
                if value:
                    return int(value) - 2
        return 254

    def __call__(self, text: str) -> int:
        return len(self._tokenizer.encode(text, add_special_tokens=False).ids)
