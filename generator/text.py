"""Plain-text helpers shared by selection and by the Django side: word counts, sentence cuts.

Everything here is pure string processing, so the same rule is applied to the human body and to
the generated body; judges must not be able to tell them apart by where they stop.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
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


def sentence_ends(text: str) -> Iterator[int]:
    """Offsets just past each sentence end in ``text`` (the one sentence rule).

    A sentence ends at ``.``, ``!`` or ``?`` (with closing quotes or brackets) followed by white
    space, except after a known abbreviation or a single-letter initial.
    """
    for match in _SENTENCE_END.finditer(text):
        if text[match.start()] == "." and match.end() - match.start() == 1:
            if _is_abbreviation(text, match.start() + 1):
                continue
        yield match.end()


def split_sentences(paragraph: str) -> list[str]:
    """Split one paragraph into sentences, keeping each sentence's own text (no joining spaces).

    Sentences end where :func:`sentence_ends` says. A final fragment without terminal
    punctuation is returned as the last element too; callers decide whether it counts.
    """
    sentences: list[str] = []
    start = 0
    for end in sentence_ends(paragraph):
        piece = paragraph[start:end].strip()
        if piece:
            sentences.append(piece)
        start = end
    rest = paragraph[start:].strip()
    if rest:
        sentences.append(rest)
    return sentences


def first_sentence(text: str) -> tuple[str, str]:
    """``text``'s first sentence and the rest (the rest keeps its paragraph breaks).

    >>> first_sentence('He said "Go." Then he left.')
    ('He said "Go."', 'Then he left.')
    """
    stripped = text.strip()
    for end in sentence_ends(stripped):
        return stripped[:end].rstrip(), stripped[end:].lstrip()
    return stripped, ""


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


# --- presentation parity ------------------------------------------------------------------
#
# Everything a judge sees of a text besides its words must be produced by the same rules for
# both kinds: typography, paragraphs, length, whitespace. These functions are those rules.

PARAGRAPH_RULES = ("match", "single", "as_written")

# One typographic convention for every text. Human articles carry typeset quotes, dashes and
# special spaces; models emit straight ones (or odd invisible characters): either would be a tell.
_TYPOGRAPHY = str.maketrans(
    {
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u201f": '"',
        "\u00ab": '"',
        "\u00bb": '"',
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u2032": "'",
        "\u2033": '"',
        "\u2026": "...",
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2013": "-",
        "\u2212": "-",
        "\u2014": " - ",
        "\u2015": " - ",
        "\u00ad": None,  # soft hyphen
        "\u200b": None,  # zero-width space
        "\u200c": None,  # zero-width non-joiner
        "\u200d": None,  # zero-width joiner
        "\u2060": None,  # word joiner
        "\ufeff": None,  # byte-order mark
        "\t": " ",
        "\r": "\n",
    }
)
_LINE_SPACES = re.compile(r"[^\S\n]+")
_INNER_NEWLINE = re.compile(r"(?<!\n)\n(?!\n)")
# Characters no text may show: replacement characters (a broken byte sequence), controls,
# private-use, unassigned code points and lone surrogates.
_UNSHOWABLE_CATEGORIES = frozenset({"Cc", "Cf", "Co", "Cn", "Cs"})


def normalize_typography(text: str) -> str:
    """The one typographic form every shown text takes, human or generated.

    Unicode compatibility forms are folded (NFKC: special spaces, ligatures, full-width
    letters), typeset quotes, dashes and ellipses become their plain forms, invisible
    characters go, runs of spaces become one, a single line break inside a paragraph becomes
    a space, and paragraphs are separated by exactly one blank line.

    >>> normalize_typography("\\u201cHi\\u201d\\u2014she\\u2026  \\u200bok\\n\\n\\nNew\\nline.")
    '"Hi" - she... ok\\n\\nNew line.'
    """
    text = unicodedata.normalize("NFKC", text.replace("\r\n", "\n")).translate(_TYPOGRAPHY)
    paragraphs = []
    for block in _PARAGRAPH_SPLIT.split(text):
        line = _LINE_SPACES.sub(" ", _INNER_NEWLINE.sub(" ", block.strip())).strip()
        line = line.replace("\n", " ")
        if line:
            paragraphs.append(line)
    return "\n\n".join(paragraphs)


def unshowable_reason(text: str) -> str | None:
    """Why ``text`` (already normalised) cannot be shown, or None.

    >>> unshowable_reason("fine text")
    >>> unshowable_reason("broken \\ufffd byte")
    'unshowable: U+FFFD at 7'
    """
    for index, ch in enumerate(text):
        if ch == "\n":
            continue
        if ch == "\ufffd" or unicodedata.category(ch) in _UNSHOWABLE_CATEGORIES:
            return f"unshowable: U+{ord(ch):04X} at {index}"
    return None


def paragraphs_of(text: str) -> list[str]:
    return [p.strip() for p in _PARAGRAPH_SPLIT.split(text.strip()) if p.strip()]


def reparagraph(text: str, n: int) -> str:
    """``text`` split at sentence boundaries into ``n`` paragraphs of similar word counts
    (fewer when it has fewer sentences).

    >>> reparagraph("One two. Three four.\\n\\nFive six seven eight.", 1)
    'One two. Three four. Five six seven eight.'
    >>> reparagraph("One two. Three four. Five six seven eight.", 2)
    'One two. Three four.\\n\\nFive six seven eight.'
    """
    sentences = [s for p in paragraphs_of(text) for s in split_sentences(p)]
    n = max(1, min(n, len(sentences)))
    ends, total = [], 0  # ends[i]: words up to and including sentence i
    for sentence in sentences:
        total += word_count(sentence)
        ends.append(total)
    cuts, previous = [], 0
    for k in range(1, n):
        # Each paragraph break goes after the sentence ending nearest its share of the words,
        # leaving at least one sentence for every paragraph still to come.
        lo, hi = previous + 1, len(sentences) - (n - k)
        best = min(range(lo, hi + 1), key=lambda i: (abs(ends[i - 1] - total * k / n), i))
        cuts.append(best)
        previous = best
    bounds = [0, *cuts, len(sentences)]
    return "\n\n".join(" ".join(sentences[a:b]) for a, b in zip(bounds, bounds[1:], strict=False))


def apply_paragraph_rule(human: str, machine: str, rule: str) -> tuple[str, str]:
    """Lay out an article's human and machine texts by the study's paragraph rule.

    ``match``: the machine text gets as many paragraphs as the human one, split at sentence
    boundaries; ``single``: both become one paragraph; ``as_written``: both stay as they are.
    """
    if rule == "as_written":
        return human, machine
    if rule == "single":
        return reparagraph(human, 1), reparagraph(machine, 1)
    if rule == "match":
        return human, reparagraph(machine, len(paragraphs_of(human)))
    raise ValueError(f"paragraph rule must be one of {', '.join(PARAGRAPH_RULES)}, got {rule!r}")


def length_ratio(a: str, b: str) -> float:
    """Shorter word count over longer (1.0 for two empty texts)."""
    x, y = word_count(a), word_count(b)
    return min(x, y) / max(x, y) if max(x, y) else 1.0
