"""Rejecting degenerate candidates and picking one per article without cherry-picking."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from .run import Candidate
from .settings import SelectionSettings
from .text import cut_text, distinct_ngram_ratio, word_count

_ECHO_LINE = re.compile(r"^[ \t]*(Title|Subtitle):", re.MULTILINE)


def rejection_reason(text: str, selection: SelectionSettings) -> str | None:
    """Why a candidate cannot be shown, or None. Rules in order, first match wins:

    ``empty``; ``prompt_echo`` (a line starting ``Title:`` or ``Subtitle:``); ``too_short``
    (fewer than ``min_words_ratio * target_words`` words); ``repetition`` (distinct word-4-gram
    ratio below ``min_distinct_4gram``). The reason is the rule's name, then details.

    >>> rejection_reason("Subtitle: again", SelectionSettings(target_words=2))
    'prompt_echo: line starts with Subtitle:'
    """
    if not text.strip():
        return "empty"
    echo = _ECHO_LINE.search(text)
    if echo:
        return f"prompt_echo: line starts with {echo.group(1)}:"
    words = word_count(text)
    minimum = selection.min_words_ratio * selection.target_words
    if words < minimum:
        return f"too_short: {words} words < {minimum:g}"
    ratio = distinct_ngram_ratio(text, 4)
    if ratio < selection.min_distinct_4gram:
        return f"repetition: distinct 4-gram ratio {ratio:.3f} < {selection.min_distinct_4gram:g}"
    return None


@dataclass(frozen=True)
class Selection:
    """The outcome for one article.

    ``chosen`` is the surviving candidate whose word count is closest to the human body's (ties:
    lowest candidate index), or None with ``failed_reason``. ``machine_text`` and ``human_text``
    are both cut by :func:`generator.text.cut_text` to at most ``max_words`` =
    min(target_words, chosen's word count); ``cut_mode`` says whether either cut fell back to
    a word cut. ``candidates`` are the inputs with ``provenance["rejection"]`` and
    ``provenance["chosen"]`` filled in.
    """

    chosen: Candidate | None
    rejections: dict[int, str]
    machine_text: str
    human_text: str
    failed_reason: str | None
    candidates: tuple[Candidate, ...]
    max_words: int = 0
    cut_mode: str = "sentences"


def select_candidate(
    candidates: Sequence[Candidate],
    *,
    human_body: str,
    selection: SelectionSettings | None = None,
) -> Selection:
    """Reject degenerate candidates, keep the one closest in length to ``human_body``, cut both.

    ``human_body`` is the body judges see (subtitle removed).
    """
    selection = selection if selection is not None else SelectionSettings()
    if len({c.candidate_index for c in candidates}) != len(candidates):
        raise ValueError("candidate indices must be unique")
    rejections = {}
    for candidate in candidates:
        reason = rejection_reason(candidate.text, selection)
        if reason is not None:
            rejections[candidate.candidate_index] = reason
    survivors = [c for c in candidates if c.candidate_index not in rejections]
    human_words = word_count(human_body)
    chosen = min(
        survivors,
        key=lambda c: (abs(word_count(c.text) - human_words), c.candidate_index),
        default=None,
    )
    marked = tuple(
        replace(
            c,
            provenance={
                **c.provenance,
                "rejection": rejections.get(c.candidate_index),
                "chosen": chosen is not None and c.candidate_index == chosen.candidate_index,
            },
        )
        for c in candidates
    )
    if chosen is None:
        reason = (
            "no candidates"
            if not candidates
            else "all candidates rejected: "
            + "; ".join(f"{i}: {r}" for i, r in sorted(rejections.items()))
        )
        return Selection(None, rejections, "", "", reason, marked)
    chosen = next(c for c in marked if c.candidate_index == chosen.candidate_index)
    max_words = min(selection.target_words, word_count(chosen.text))
    machine = cut_text(chosen.text, max_words)
    human = cut_text(human_body, max_words)
    mode = "words" if "words" in (machine.mode, human.mode) else "sentences"
    if not machine.text.strip():
        return Selection(None, rejections, "", "", "chosen text is empty after cutting", marked)
    return Selection(chosen, rejections, machine.text, human.text, None, marked, max_words, mode)
