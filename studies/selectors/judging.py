"""What a judge's pages show: items, practice texts and the debrief (reads only).

Everything returned for a page that is shown before completion is built from plain
strings and an opaque item token; no row, flag, key or name that could tell a human
text from a generated one leaves this module, except through ``debrief_for_judge``,
which is only called for a judge who has completed.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from urllib.parse import urlencode

from django.utils.html import format_html_join

from generator.text import normalize_typography, paragraphs_of
from studies import judge_sql
from studies.models import Article, Judge, JudgeItem, ListEntry, PracticeAnswer, Study
from studies.protocol import Platform, Protocol, Side

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


# --- debrief ----------------------------------------------------------------------------


@dataclass(frozen=True)
class DebriefRow:
    title: str
    protocol: str
    is_machine: bool | None  # single: whether the text the judge saw was generated
    human_side: str  # paired: where the human text was


@dataclass(frozen=True)
class Credit:
    title: str
    source: str
    author: str
    date: str
    url: str
    license: str
    license_url: str
    attribution: str


@dataclass(frozen=True)
class Debrief:
    rows: list[DebriefRow]
    credits: list[Credit]
    machine_count: int


def _credit(article: Article) -> Credit:
    return Credit(
        title=plain_line(article.title),
        source=article.source,
        author=article.author,
        date=article.date.isoformat() if article.date else "",
        url=article.url,
        license=article.license,
        license_url=article.license_url,
        attribution=article.attribution,
    )


def debrief_for_judge(*, judge: Judge) -> Debrief:
    """The truth about this judge's own items. Call only for a completed judge."""
    if judge.status != Judge.Status.COMPLETED:
        raise PermissionError("the debrief is shown only after completion")
    items = (
        JudgeItem.objects.filter(judge=judge, entry__is_attention=False)
        .select_related("entry__article", "entry__text")
        .order_by("position")
    )
    rows, articles = [], {}
    for item in items:
        entry = item.entry
        articles[entry.article_id] = entry.article
        rows.append(
            DebriefRow(
                title=plain_line(entry.article.title),
                protocol=judge.study.protocol,
                is_machine=entry.text.is_machine
                if judge.study.protocol == Protocol.SINGLE
                else None,
                human_side=entry.human_side,
            )
        )
    for answer in PracticeAnswer.objects.filter(judge=judge).select_related("article"):
        articles.setdefault(answer.article_id, answer.article)
    credits = sorted((_credit(a) for a in articles.values()), key=lambda c: c.title.lower())
    machine = sum(1 for r in rows if r.is_machine or r.protocol == Protocol.PAIRED)
    return Debrief(rows=rows, credits=credits, machine_count=machine)


# --- completion -------------------------------------------------------------------------


@dataclass(frozen=True)
class Completion:
    platform: str
    code: str
    redirect_url: str  # where to send the judge (with the code), automatically after a delay
    mturk_action: str  # mturk: the externalSubmit URL
    mturk_assignment_id: str
    outcome: str = "completed"  # completed, declined or attention_failed
    redirect_seconds: int = 10


MTURK_HOSTS = ("https://www.mturk.com", "https://workersandbox.mturk.com")


def with_code(url: str, code: str) -> str:
    """The return URL with the code as Prolific's ``cc`` parameter, unless it has one."""
    if not url or not code or "cc=" in url:
        return url
    return url + ("&" if "?" in url else "?") + urlencode({"cc": code})


def judge_completion(*, judge: Judge) -> Completion:
    """How this judge is sent back to their platform; only once completion committed (or
    consent was declined, which has a code and URL of its own)."""
    recruitment = judge.study.spec.get("recruitment", {})
    seconds = recruitment.get("redirect_seconds", 10)
    if judge.status == Judge.Status.WITHDRAWN and judge.stage == "consent":
        code = recruitment.get("declined_code", "") if judge.platform != Platform.MTURK else ""
        url = recruitment.get("declined_url", "") if judge.platform != Platform.MTURK else ""
        return Completion(
            platform=judge.platform,
            code=code,
            redirect_url=with_code(url, code),
            mturk_action="",
            mturk_assignment_id="",
            outcome="declined",
            redirect_seconds=seconds,
        )
    if judge.status != Judge.Status.COMPLETED:
        raise PermissionError("completion is given only after the answers are committed")
    action, assignment = "", ""
    if judge.platform == Platform.MTURK:
        base = judge.platform_meta.get("turkSubmitTo", "").rstrip("/")
        action = f"{base}/mturk/externalSubmit" if base in MTURK_HOSTS else ""
        assignment = judge.platform_meta.get("assignmentId", "")
    failed = "attention_failed" in judge.flags
    url = ""
    if judge.platform != Platform.MTURK:
        url = (failed and recruitment.get("attention_failed_url")) or recruitment.get(
            "completion_url", ""
        )
    return Completion(
        platform=judge.platform,
        code=judge.completion_code,
        redirect_url=with_code(url, judge.completion_code),
        mturk_action=action,
        mturk_assignment_id=assignment,
        outcome="attention_failed" if failed else "completed",
        redirect_seconds=seconds,
    )
