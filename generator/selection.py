"""Rejecting degenerate candidates and picking one per article without cherry-picking."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from .run import Candidate
from .settings import SelectionSettings
from .text import (
    apply_paragraph_rule,
    cut_text,
    distinct_ngram_ratio,
    length_ratio,
    normalize_typography,
    paragraphs_of,
    unshowable_reason,
    word_count,
)

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

    ``chosen`` is the first candidate, in order of closeness of its word count to the human
    body's (ties: lowest candidate index), that passes every rule, including the presentation
    rules applied after the cut; or None with ``failed_reason``. ``machine_text`` and
    ``human_text`` are the two texts exactly as judges see them: typography normalised (see
    :func:`generator.text.normalize_typography`), both cut by :func:`generator.text.cut_text`
    to at most ``max_words``, within ``min_length_ratio`` of each other, and laid out by the
    paragraph rule. ``cut_mode`` says whether either cut fell back to a word cut.
    ``candidates`` are the inputs with ``provenance["rejection"]`` and ``provenance["chosen"]``.
    """

    chosen: Candidate | None
    rejections: dict[int, str]
    machine_text: str
    human_text: str
    failed_reason: str | None
    candidates: tuple[Candidate, ...]
    max_words: int = 0
    cut_mode: str = "sentences"


@dataclass(frozen=True)
class _Shown:
    human: str
    machine: str
    max_words: int
    mode: str


def _present(human: str, machine: str, selection: SelectionSettings) -> _Shown | str:
    """Cut and lay out one candidate beside the human body, or say why it cannot be shown.

    Both texts are cut by the same rule to the same word budget; when sentence boundaries
    leave one much shorter, the budget shrinks to the shorter text and both are cut again.
    """
    if reason := unshowable_reason(machine):
        return reason
    max_words = min(selection.target_words, word_count(machine))
    m, h = cut_text(machine, max_words), cut_text(human, max_words)
    for _ in range(4):
        if length_ratio(m.text, h.text) >= selection.min_length_ratio:
            break
        shorter = min(m.words, h.words)
        m2, h2 = cut_text(machine, shorter), cut_text(human, shorter)
        if "words" in (m2.mode, h2.mode):
            break  # a hard cut would end one text mid-sentence: that is a tell of its own
        m, h, max_words = m2, h2, shorter
    floor = selection.min_words_ratio * selection.target_words
    if m.words < floor:
        return f"too_short_after_cut: {m.words} words < {floor:g}"
    ratio = length_ratio(m.text, h.text)
    if ratio < selection.min_length_ratio:
        return (
            f"length_mismatch: {m.words} vs {h.words} human words "
            f"(ratio {ratio:.2f} < {selection.min_length_ratio:g})"
        )
    shown_human, shown_machine = apply_paragraph_rule(h.text, m.text, selection.paragraphs)
    if selection.paragraphs == "match":
        n_human, n_machine = len(paragraphs_of(shown_human)), len(paragraphs_of(shown_machine))
        if n_human != n_machine:
            # Too few sentences to fill the human text's paragraphs: the count would tell.
            return f"paragraph_mismatch: {n_machine} paragraphs vs {n_human} human"
    mode = "words" if "words" in (m.mode, h.mode) else "sentences"
    return _Shown(shown_human, shown_machine, max_words, mode)


def select_candidate(
    candidates: Sequence[Candidate],
    *,
    human_body: str,
    selection: SelectionSettings | None = None,
) -> Selection:
    """Reject degenerate candidates, keep the showable one closest in length to
    ``human_body``, and return both texts as judges will see them.

    ``human_body`` is the body judges see (subtitle removed).
    """
    selection = selection if selection is not None else SelectionSettings()
    if len({c.candidate_index for c in candidates}) != len(candidates):
        raise ValueError("candidate indices must be unique")
    human = normalize_typography(human_body)
    rejections = {}
    for candidate in candidates:
        reason = rejection_reason(candidate.text, selection)
        if reason is not None:
            rejections[candidate.candidate_index] = reason
    human_words = word_count(human)
    ranked = sorted(
        (c for c in candidates if c.candidate_index not in rejections),
        key=lambda c: (abs(word_count(c.text) - human_words), c.candidate_index),
    )
    chosen, shown = None, None
    human_problem = unshowable_reason(human)
    for candidate in [] if human_problem else ranked:
        outcome = _present(human, normalize_typography(candidate.text), selection)
        if isinstance(outcome, str):
            rejections[candidate.candidate_index] = outcome
            continue
        chosen, shown = candidate, outcome
        break
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
    if chosen is None or shown is None:
        if human_problem:
            reason = f"the human text cannot be shown ({human_problem})"
        elif not candidates:
            reason = "no candidates"
        else:
            reason = "all candidates rejected: " + "; ".join(
                f"{i}: {r}" for i, r in sorted(rejections.items())
            )
        return Selection(None, rejections, "", "", reason, marked)
    chosen = next(c for c in marked if c.candidate_index == chosen.candidate_index)
    return Selection(
        chosen, rejections, shown.machine, shown.human, None, marked, shown.max_words, shown.mode
    )
