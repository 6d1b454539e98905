"""What a judge's pages show while they judge: items and practice items (reads only).

Everything returned here is built from plain strings and an opaque item token; no row,
flag, key or name that could tell a human text from a generated one leaves this module.
The truth comes only at the end, from ``studies.selectors.debrief``.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass

from django.utils.html import format_html_join

from generator.text import normalize_typography, paragraphs_of
from studies import judge_sql
from studies.models import Article, Judge, JudgeItem, ListEntry, Study
from studies.protocol import Protocol, Side

_SPACES = re.compile(r"\s+")


def text_paragraphs(body: str) -> tuple[str, ...]:
    """Split a body into paragraphs for display, the same way for every text.

    The typography is the one every shown text takes (``generator.text.normalize_typography``,
    already applied to stored texts and applied again here to titles and practice texts).
    Markup is left as text (the template escapes it).

    >>> text_paragraphs("One  line\\nstill one.\\n\\n\\u201cTwo.\\u201d  ")
    ('One line still one.', '"Two."')
    """
    return tuple(paragraphs_of(normalize_typography(body)))


def plain_line(text: str) -> str:
    return _SPACES.sub(" ", normalize_typography(text)).strip()


@dataclass(frozen=True)
class ItemView:
    """An item as its page shows it: one body (single) or two, left then right (paired)."""

    token: str
    number: int  # 1-based position in the judge's queue
    total: int
    protocol: str
    title: str
    subtitle: str
    bodies: tuple[tuple[str, ...], ...]
    bodies_html: tuple[str, ...]  # each body as escaped <p> paragraphs


def bodies_html(bodies: tuple[tuple[str, ...], ...]) -> tuple[str, ...]:
    """Each body's paragraphs as ``<p>`` elements, escaped (markup in a text stays text).

    >>> bodies_html((("One <b>", "Two"),))
    ('<p>One &lt;b&gt;</p>\\n<p>Two</p>',)
    """
    return tuple(format_html_join("\n", "<p>{}</p>", ((p,) for p in body)) for body in bodies)


@dataclass(frozen=True)
class EntryContent:
    """What an item shows, already normalised: the same for every judge who gets it."""

    title: str
    subtitle: str
    bodies: tuple[tuple[str, ...], ...]
    bodies_html: tuple[str, ...]


def shown_content(*, title: str, subtitle: str, texts: list[str]) -> EntryContent:
    """A title, subtitle and body texts normalised the one way every page shows them
    (study items, practice items and the researcher's preview alike)."""
    bodies = tuple(text_paragraphs(t) for t in texts)
    return EntryContent(
        title=plain_line(title),
        subtitle=plain_line(subtitle),
        bodies=bodies,
        bodies_html=bodies_html(bodies),
    )


def item_view(
    *, token: str, number: int, total: int, protocol: str, content: EntryContent
) -> ItemView:
    return ItemView(
        token=token,
        number=number,
        total=total,
        protocol=protocol,
        title=content.title,
        subtitle=content.subtitle,
        bodies=content.bodies,
        bodies_html=content.bodies_html,
    )


def entry_content(*, entry: ListEntry, protocol: str) -> EntryContent:
    """The content of ``entry`` (its article and texts select_related)."""
    if entry.is_attention:
        att = entry.attention or {}
        title, subtitle = att.get("title", ""), att.get("subtitle", "")
        raw = (
            [att.get("body", "")]
            if protocol == Protocol.SINGLE
            else [att.get("left", ""), att.get("right", "")]
        )
    else:
        title, subtitle = entry.article.title, entry.article.subtitle
        if protocol == Protocol.SINGLE:
            raw = [entry.text.body]
        elif entry.human_side == Side.LEFT:
            raw = [entry.text.body, entry.machine_text.body]
        else:
            raw = [entry.machine_text.body, entry.text.body]
    return shown_content(title=title, subtitle=subtitle, texts=raw)


@functools.lru_cache(maxsize=4096)
def launched_entry_content(*, design_hash: str, entry_id: int, protocol: str) -> EntryContent:
    """``entry_content`` of an entry in a launched study, built once per process.

    Launch freezes a study's entries and texts (``design_hash`` is their digest), so
    what an entry shows never changes while judges are served; the key includes the
    digest all the same, so nothing stale could ever be shown.
    """
    entry = ListEntry.objects.select_related("article", "text", "machine_text").get(pk=entry_id)
    return entry_content(entry=entry, protocol=protocol)


def current_item_view(*, item: JudgeItem, study: Study, total: int) -> ItemView:
    """The page content of a served item of a launched study."""
    content = launched_entry_content(
        design_hash=study.design_hash, entry_id=item.entry_id, protocol=study.protocol
    )
    return item_view(
        token=item.token,
        number=item.position + 1,
        total=total,
        protocol=study.protocol,
        content=content,
    )


# A browser can hold judges of many studies; only this many are looked up.
MAX_SESSION_JUDGES = 50
_STUDY_DEFERRED = ("frozen", "spec_source")


def judge_current_item(*, judge: Judge) -> JudgeItem | None:
    """The judge's first unanswered item (only the columns serving and answering use)."""
    return judge_sql.current_item(judge_id=judge.pk)


def judge_for_session(*, slug: str, keys: list[str]) -> Judge | None:
    """The judge of study ``slug`` among a browser's judge session keys, with its study.

    The study comes from a per-process copy of its launched record and the status read
    with the judge. After launch only ``status``, ``closed_at`` and ``peek_allowed``
    change: the copy carries a fresh status, and no judge page reads the other two.
    """
    keys = [k for k in keys if isinstance(k, str)][-MAX_SESSION_JUDGES:]
    if not keys:
        return None
    found = judge_sql.judge_by_session_keys(slug=slug, keys=keys)
    if found is None:
        return None
    judge, study_status, design_hash = found
    if design_hash:
        study = _launched_study(judge.study_id, design_hash)
        study.status = study_status
    else:  # not launched: judges see nothing of it, so nothing is worth keeping
        study = Study.objects.defer(*_STUDY_DEFERRED).get(pk=judge.study_id)
    judge.study = study
    return judge


def _launched_study(study_id: int, design_hash: str) -> Study:
    names, values = _launched_study_record(study_id, design_hash)
    # JSON values are kept as text and decoded for each request: a view that changed a
    # dict in place could otherwise change what every later request sees.
    values = [json.loads(v) if n in _STUDY_JSON else v for n, v in zip(names, values, strict=True)]
    return Study.from_db("default", names, values)


_STUDY_JSON = {
    f.attname for f in Study._meta.concrete_fields if f.get_internal_type() == "JSONField"
}


@functools.lru_cache(maxsize=256)
def _launched_study_record(study_id: int, design_hash: str) -> tuple[list[str], tuple]:
    study = Study.objects.defer(*_STUDY_DEFERRED).get(pk=study_id)
    names = [f.attname for f in Study._meta.concrete_fields if f.attname not in _STUDY_DEFERRED]
    values = tuple(
        json.dumps(getattr(study, n)) if n in _STUDY_JSON else getattr(study, n) for n in names
    )
    return names, values


# --- practice ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PracticeItem:
    """One practice item. ``is_machine``/``human_side`` stay server-side until feedback."""

    position: int
    total: int
    article: Article
    is_machine: bool | None  # single
    human_side: str  # paired
    view: ItemView


def practice_item(*, study: Study, position: int) -> PracticeItem | None:
    """Practice item ``position`` (0-based), or None past the last one.

    A launched study shows the practice items frozen in its record; before launch (the
    researcher's preview) they are built the same way on the fly.
    """
    from studies.services.practice import practice_build

    frozen = study.practice if study.is_frozen else practice_build(study=study)
    if position >= len(frozen):
        return None
    item = frozen[position]
    if study.protocol == Protocol.SINGLE:
        raw = [item["machine"] if item["is_machine"] else item["human"]]
    else:
        left = item["human_side"] == Side.LEFT
        raw = [item["human"], item["machine"]] if left else [item["machine"], item["human"]]
    view = item_view(
        token=f"practice-{position + 1}",
        number=position + 1,
        total=len(frozen),
        protocol=study.protocol,
        content=shown_content(title=item["title"], subtitle=item["subtitle"], texts=raw),
    )
    article = Article.objects.only("pk", "key").get(pk=item["article_id"])
    return PracticeItem(
        position, len(frozen), article, item["is_machine"], item["human_side"], view
    )
