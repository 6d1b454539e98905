"""Plain-text helpers shared by selection and by the Django side: word counts, sentence cuts.

Everything here is pure string processing, so the same rule is applied to the human body and to
the generated body; judges must not be able to tell them apart by where they stop.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Abbreviations whose trailing period does not end a sentence. Lower-case, without the period.
_ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof st jr sr gov sen rep gen lt col capt sgt rev hon pres vs etc inc ltd "
    "co corp no jan feb mar apr jun jul aug sep sept oct nov dec e.g i.e".split()
)
_PARAGRAPH_SPLIT = re.compile(r"\n\s*\n")
# A candidate sentence end: terminal punctuation, optional closing quotes/brackets, then space.
_SENTENCE_END = re.compile(r"[.!?]+[\"'\u201d\u2019)\]]*(?=\s)")
_TERMINAL = re.compile(r"[.!?]+[\"'\u201d\u2019)\]]*$")
_INITIALS = re.compile(r"^(?:[a-z]\.)*[a-z]$")
_NEXT_ARTICLE = re.compile(r"\n[ \t]*Title:")


def word_count(text: str) -> int:
    """Number of whitespace-separated words.

    >>> word_count("Two words.\\n\\nThree more here.")
    5
    """
    return len(text.split())


def distinct_ngram_ratio(text: str, n: int = 4) -> float:
    """Distinct word n-grams divided by all word n-grams (lower-cased); 1.0 when there are none.

    Degenerate loops ("the the the ...") score near 0; ordinary prose scores above 0.9.

    >>> distinct_ngram_ratio("a b c d a b c d a b c d")
    0.4444444444444444
    """
    words = text.lower().split()
    grams = [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]
    if not grams:
        return 1.0
    return len(set(grams)) / len(grams)


def truncate_at_next_article(text: str) -> tuple[str, bool]:
    """Cut a generated body where the model starts the next ``Title:`` block.

    In the plain layout a base model that finishes an article naturally goes on with the next
    one, exactly as the context showed it. Everything from the first line that starts with
    ``Title:`` (after the first line) is dropped. A body whose *first* line is ``Title:`` is left
    alone so that the prompt-echo rule rejects it. Returns the text and whether it was cut.

    >>> truncate_at_next_article("Body.\\n\\nTitle: Next\\nSubtitle: x")
    ('Body.', True)
    """
    match = _NEXT_ARTICLE.search(text)
    if match is None:
        return text, False
    return text[: match.start()].rstrip(), True


def _is_abbreviation(paragraph: str, dot_end: int) -> bool:
    """Whether the period just before ``dot_end`` belongs to an abbreviation or an initial."""
    start = dot_end - 1
    while start > 0 and not paragraph[start - 1].isspace():
        start -= 1
    token = paragraph[start : dot_end - 1].lower().lstrip("\"'(\u201c\u2018")
    if _INITIALS.match(token):
        return True  # an initial ("J. Smith") or dotted initials ("U.S.", "D.C.")
    return token in _ABBREVIATIONS


def split_sentences(paragraph: str) -> list[str]:
    """Split one paragraph into sentences, keeping each sentence's own text (no joining spaces).

    A sentence ends at ``.``, ``!`` or ``?`` (with closing quotes or brackets) followed by white
    space, except after a known abbreviation or a single-letter initial. A final fragment without
    terminal punctuation is returned as the last element too; callers decide whether it counts.
    """
    sentences: list[str] = []
    start = 0
    for match in _SENTENCE_END.finditer(paragraph):
        if paragraph[match.start()] == "." and match.end() - match.start() == 1:
            if _is_abbreviation(paragraph, match.start() + 1):
                continue
        piece = paragraph[start : match.end()].strip()
        if piece:
            sentences.append(piece)
        start = match.end()
    rest = paragraph[start:].strip()
    if rest:
        sentences.append(rest)
    return sentences


@dataclass(frozen=True)
class Cut:
    """Result of :func:`cut_text`: the text and how it was cut (``"sentences"`` or ``"words"``)."""

    text: str
    words: int
    mode: str


def cut_text(text: str, max_words: int) -> Cut:
    """Longest sentence-boundary prefix of ``text`` with at most ``max_words`` words.

    Boundaries are sentence ends (see :func:`split_sentences`) and paragraph breaks; the very end
    of the text counts only if it ends with terminal punctuation, so a body that ran out of
    tokens mid-sentence loses its unfinished sentence. Paragraph breaks are kept as ``"\\n\\n"``.

    If not even the first sentence fits, the text is cut hard after ``max_words`` words
    (``mode="words"``): showing judges nothing would be worse, and the same rule applies to the
    human text, so the cut itself is not a tell. Selection records the mode.
    """
    if max_words <= 0 or not text.strip():
        return Cut("", 0, "sentences")
    paragraphs = [p.strip() for p in _PARAGRAPH_SPLIT.split(text.strip()) if p.strip()]
    kept: list[list[str]] = []
    total = 0
    done = False
    for p_index, paragraph in enumerate(paragraphs):
        sentences = split_sentences(paragraph)
        is_last_paragraph = p_index == len(paragraphs) - 1
        current: list[str] = []
        for s_index, sentence in enumerate(sentences):
            is_final_piece = is_last_paragraph and s_index == len(sentences) - 1
            if is_final_piece and not _TERMINAL.search(sentence):
                done = True  # unfinished trailing sentence: never a boundary
                break
            n = word_count(sentence)
            if total + n > max_words:
                done = True
                break
            current.append(sentence)
            total += n
        if current:
            kept.append(current)
        if done:
            break
    if kept:
        return Cut("\n\n".join(" ".join(p) for p in kept), total, "sentences")
    words = text.split()[:max_words]
    return Cut(" ".join(words), len(words), "words")


def cut_to_sentences(text: str, max_words: int) -> str:
    """Text of :func:`cut_text`; the one rule used for both the human and the generated body.

    >>> cut_to_sentences("One two three. Four five six.\\n\\nSeven eight.", 7)
    'One two three. Four five six.'
    >>> cut_to_sentences("One two three. Four five six.\\n\\nSeven eight.", 8)
    'One two three. Four five six.\\n\\nSeven eight.'
    """
    return cut_text(text, max_words).text


def body_without_subtitle(body: str, subtitle: str) -> str:
    """The body as shown to judges: the leading subtitle sentence removed when it is repeated.

    >>> body_without_subtitle("Lead sentence. More.\\n\\nRest.", "Lead sentence.")
    'More.\\n\\nRest.'
    """
    stripped = body.lstrip()
    sub = subtitle.strip()
    if sub and stripped.startswith(sub):
        return stripped[len(sub) :].lstrip()
    return body.strip()
