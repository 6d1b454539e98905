"""What a judge sees at the end: the truth about their own items, the credits of the
articles they read, and how they are sent back to their platform (the completion code).

A judge learns which of their study items were machine-made only from here:
``debrief_for_judge`` refuses a judge who has not completed, and ``judge_completion`` gives
a code only once the answers are committed (or consent was declined, which has a code and
URL of its own).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from studies.models import Article, Judge, JudgeItem, PracticeAnswer
from studies.protocol import Platform, Protocol
from studies.selectors.judging import plain_line

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
