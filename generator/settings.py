"""Decoding and selection settings: the spec keys a study condition sets, with their defaults."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from .text import PARAGRAPH_RULES


@dataclass(frozen=True)
class DecodingSettings:
    """How tokens are drawn.

    temperature: 0 means greedy (argmax); otherwise logits are divided by it.
    top_k: keep the k most likely tokens (0 = off). top_p: nucleus mass to keep (1.0 = off).
    repetition_penalty: CTRL-style penalty on tokens already in the target's prompt or its
    generated text (1.0 = off; the shared few-shot context is not counted).
    max_new_tokens: hard length limit; about 1.35 tokens per English word.
    stop_at_next_article: stop a candidate once it starts a new ``Title:`` line (the text is
    cut there anyway, see :func:`generator.text.truncate_at_next_article`).
    """

    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0
    repetition_penalty: float = 1.0
    max_new_tokens: int = 400
    stop_at_next_article: bool = True

    def __post_init__(self) -> None:
        if self.temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}")
        if self.top_k < 0:
            raise ValueError(f"top_k must be >= 0, got {self.top_k}")
        if self.repetition_penalty <= 0:
            raise ValueError(f"repetition_penalty must be > 0, got {self.repetition_penalty}")
        if self.max_new_tokens < 1:
            raise ValueError(f"max_new_tokens must be >= 1, got {self.max_new_tokens}")

    @property
    def greedy(self) -> bool:
        return self.temperature == 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class SelectionSettings:
    """Candidate selection and rejection thresholds (spec keys, defaults from the paper's setup).

    candidates: completions per article (5 in the paper).
    target_words: shown length; both texts are cut to at most this many words (200).
    min_words_ratio: reject a candidate with fewer than ``min_words_ratio * target_words`` words,
    counted after truncation at the next ``Title:`` line (0.5).
    min_distinct_4gram: reject a candidate whose distinct word-4-gram ratio is lower (0.5).
    paragraphs: how both texts are laid out, one of ``generator.text.PARAGRAPH_RULES``
    ("match": the machine text takes the human one's paragraph count).
    min_length_ratio: the shorter of an article's two shown texts has at least this share of the
    longer one's words (0.85); a candidate that cannot meet it is rejected.
    """

    candidates: int = 5
    target_words: int = 200
    min_words_ratio: float = 0.5
    min_distinct_4gram: float = 0.5
    paragraphs: str = "match"
    min_length_ratio: float = 0.85

    def __post_init__(self) -> None:
        if self.paragraphs not in PARAGRAPH_RULES:
            raise ValueError(
                f"paragraphs must be one of {PARAGRAPH_RULES}, got {self.paragraphs!r}"
            )
        if not 0 <= self.min_length_ratio <= 1:
            raise ValueError(f"min_length_ratio must be in [0, 1], got {self.min_length_ratio}")
        if self.candidates < 1:
            raise ValueError(f"candidates must be >= 1, got {self.candidates}")
        if self.target_words < 1:
            raise ValueError(f"target_words must be >= 1, got {self.target_words}")
        if not 0 <= self.min_words_ratio <= 1:
            raise ValueError(f"min_words_ratio must be in [0, 1], got {self.min_words_ratio}")
        if not 0 <= self.min_distinct_4gram <= 1:
            raise ValueError(f"min_distinct_4gram must be in [0, 1], got {self.min_distinct_4gram}")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
