"""Shallow features of a shown text, in two named groups.

*Form* features describe how a text is laid out and typed (length, paragraphs, characters):
they should carry no information about who wrote it once presentation parity is applied, and
the tell audit gates launch on them. *Style* features describe the writing itself (sentence
length, vocabulary, punctuation): that is what judges are meant to see, so they are reported,
never gated.
"""

from __future__ import annotations

import re
import statistics
import string
import unicodedata

from generator.text import split_sentences

FORM_FEATURES = (
    "words",
    "paragraphs",
    "non_ascii_chars",
    "typographic_marks",
    "digits",
    "whitespace_runs",
    "ends_with_terminal",
)
STYLE_FEATURES = (
    "mean_sentence_words",
    "sd_sentence_words",
    "type_token_ratio",
    "comma_rate",
    "quote_rate",
    "question_exclaim_rate",
    "other_punct_rate",
)
FEATURE_GROUPS: dict[str, tuple[str, ...]] = {"form": FORM_FEATURES, "style": STYLE_FEATURES}
ALL_FEATURES = FORM_FEATURES + STYLE_FEATURES

# Marks that typesetting adds and plain typing rarely does: curly quotes, dashes, ellipsis,
# special spaces. After normalisation none should remain in either kind.
_TYPOGRAPHIC = frozenset("\u2018\u2019\u201c\u201d\u2013\u2014\u2015\u2026\u00a0\u2009\u202f")
_PARAGRAPH_SPLIT = re.compile(r"\n\s*\n")
_WHITESPACE_RUN = re.compile(r"[ \t]{2,}|\n{3,}")
_WORD = re.compile(r"\w+", re.UNICODE)


def _rate(count: int, words: int) -> float:
    return count / words if words else 0.0


def text_features(text: str) -> dict[str, float]:
    """Every feature of ``text``, by name; rates are per word.

    >>> f = text_features("One two, three.\\n\\nFour five six!")
    >>> f["words"], f["paragraphs"], f["comma_rate"]
    (6.0, 2.0, 0.16666666666666666)
    """
    stripped = text.strip()
    words = stripped.split()
    n_words = len(words)
    paragraphs = [p for p in _PARAGRAPH_SPLIT.split(stripped) if p.strip()]
    sentences = [s for p in paragraphs for s in split_sentences(p)]
    lengths = [len(s.split()) for s in sentences] or [0]
    tokens = [w.lower() for w in _WORD.findall(stripped)]
    punct = [ch for ch in stripped if unicodedata.category(ch).startswith("P")]
    commas = sum(ch == "," for ch in punct)
    quotes = sum(ch in "\"'\u2018\u2019\u201c\u201d" for ch in punct)
    q_e = sum(ch in "?!" for ch in punct)
    return {
        "words": float(n_words),
        "paragraphs": float(len(paragraphs)),
        "non_ascii_chars": float(sum(ord(ch) > 127 for ch in stripped)),
        "typographic_marks": float(sum(ch in _TYPOGRAPHIC for ch in stripped)),
        "digits": float(sum(ch in string.digits for ch in stripped)),
        "whitespace_runs": float(len(_WHITESPACE_RUN.findall(stripped))),
        "ends_with_terminal": float(stripped[-1:] in ".!?\"'\u201d\u2019)" if stripped else 0),
        "mean_sentence_words": float(statistics.fmean(lengths)),
        "sd_sentence_words": float(statistics.pstdev(lengths)),
        "type_token_ratio": len(set(tokens)) / len(tokens) if tokens else 0.0,
        "comma_rate": _rate(commas, n_words),
        "quote_rate": _rate(quotes, n_words),
        "question_exclaim_rate": _rate(q_e, n_words),
        "other_punct_rate": _rate(len(punct) - commas - quotes - q_e, n_words),
    }


def feature_matrix(texts: list[str], names: tuple[str, ...] = ALL_FEATURES) -> list[list[float]]:
    """Rows of the named features, one row per text, in ``names`` order."""
    rows = []
    for text in texts:
        f = text_features(text)
        rows.append([f[name] for name in names])
    return rows
