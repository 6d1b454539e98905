"""A judge's way through a study: consent, practice, items, closing questions, completion.

Every write that can race (a double submit, a reload, a second tab) is one statement
whose condition only one of the racers can meet (an item is answered only while it has
no answer), or runs under a row lock on the judge, so each item keeps exactly one
answer. Serving touches only the database: never Redis.

Stages, in order: ``studies.protocol.STAGE_ORDER`` (practice only when the study has one).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import random
import re
import secrets
from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from studies import judge_sql
from studies.models import EntryAttempt, Judge, JudgeItem, PracticeAnswer, Study
from studies.protocol import Platform, Protocol, Side, Stage, next_stage
from studies.selectors.judging import judge_current_item, practice_item
from studies.services.assignment import expiry_window

# Visible time may run a little ahead of the server's clock (the page was open before
# the first byte arrived); more than this is not believed.
VISIBLE_SLACK_MS = 5_000
MAX_COUNT_PER_REQUEST = 1_000
# The largest value of a PositiveIntegerField on every database (about 24.8 days in ms).
MAX_STORED_MS = 2_147_483_647


class AnswerRefused(Exception):
    """An answer that cannot be stored. ``reason``: answered, not_current, unknown,
    not_served, stage."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)


# --- entry rate limit -------------------------------------------------------------------

_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([smhd])\s*$")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def rate_parse(rate: str) -> tuple[int, dt.timedelta] | None:
    """'20/m' -> (20, 60 s); '100/5m' -> (100, 300 s); '' or '0' -> None (no limit)."""
    if not rate or rate.strip() in ("0", "off", "none"):
        return None
    match = _RATE.match(rate)
    if not match:
        raise ImproperlyConfigured(
            f"NEWSEVAL_ENTRY_RATE={rate!r}: use N/s, N/m, N/h or N/d, e.g. 20/m"
        )
    count, mult, unit = match.groups()
    return int(count), dt.timedelta(seconds=int(mult or 1) * _UNIT[unit])


def entry_key(*, study_id: int, address: str) -> str:
    raw = f"{study_id}|{address}"
    return hashlib.sha256(raw.encode()).hexdigest()


def entry_attempt_allow(*, key: str, rate: str, now: dt.datetime | None = None) -> bool:
    """Record an entry attempt unless ``key`` is over ``rate``; False means refuse.

    Counted in the database, so the limit holds across web processes without Redis; on
    PostgreSQL a lock per key makes the count and the insert one step, so a burst of
    simultaneous attempts cannot slip past the limit.
    """
    parsed = rate_parse(rate)
    if parsed is None:
        return True
    limit, window = parsed
    now = now or timezone.now()
    since = now - window
    with transaction.atomic():
        judge_sql.advisory_lock(f"entry:{key}")
        recent = EntryAttempt.objects.filter(key=key, at__gte=since).count()
        if recent >= limit:
            return False
        EntryAttempt.objects.create(key=key)
    EntryAttempt.objects.filter(key=key, at__lt=since).delete()
    if random.random() < 0.01:
        EntryAttempt.objects.filter(at__lt=now - dt.timedelta(days=1)).delete()
    return True


# --- the judge's session ----------------------------------------------------------------


def judge_touch(*, judge: Judge, now: dt.datetime | None = None) -> Judge:
    """Note that the judge is still here; a judge back after expiry resumes or is full."""
    now = now or timezone.now()
    if judge.status not in (Judge.Status.ACTIVE, Judge.Status.EXPIRED):
        return judge
    cutoff = now - expiry_window(judge=judge, study=judge.study)
    if judge.status == Judge.Status.ACTIVE and judge.last_seen_at >= cutoff:
        # One write a minute is enough to keep the slot.
        if now - judge.last_seen_at > dt.timedelta(seconds=60):
            Judge.objects.filter(pk=judge.pk).update(last_seen_at=now)
            judge.last_seen_at = now
        return judge
    from studies.services.assignment import judge_resume

    with transaction.atomic():
        study = Study.objects.select_for_update().get(pk=judge.study_id)
        fresh = Judge.objects.select_for_update().get(pk=judge.pk)
        return judge_resume(study=study, judge=fresh, now=now)


def judge_meta_refresh(*, judge: Judge, meta: dict) -> Judge:
    """A returning participant may come back through a new MTurk assignment or Prolific
    session: completion must go to the newest one."""
    merged = {**judge.platform_meta, **meta}
    if merged != judge.platform_meta:
        Judge.objects.filter(pk=judge.pk).update(platform_meta=merged)
        judge.platform_meta = merged
    return judge


def judge_stage_next(*, judge: Judge, stage: str) -> str:
    """The stage after ``stage`` for this judge's study."""
    if stage == Stage.INSTRUCTIONS:  # only this step reads the study's spec
        return next_stage(stage, practice=bool(judge.study.spec.get("practice", {}).get("enabled")))
    return next_stage(stage, practice=False)


def _advance(judge: Judge, expected: str, **fields) -> Judge:
    """Move from ``expected`` to the next stage, once; a repeat is a no-op."""
    with transaction.atomic():
        locked = Judge.objects.select_for_update().get(pk=judge.pk)
        if locked.stage == expected:
            locked.stage = judge_stage_next(judge=locked, stage=expected)
            for key, value in fields.items():
                setattr(locked, key, value)
            locked.save(update_fields=["stage", *fields])
            if (
                locked.stage == Stage.ITEMS
                and not locked.items.filter(answered_at__isnull=True).exists()
            ):
                locked.stage = Stage.CLOSING
                locked.save(update_fields=["stage"])
    return locked


def judge_consent(*, judge: Judge) -> Judge:
    """Record consent with the version of the consent text the judge agreed to."""
    return _advance(judge, Stage.CONSENT, consent_version=judge.study.spec["consent_version"])


def judge_withdraw(*, judge: Judge) -> Judge:
    """The judge declined (or withdrew): the slot is freed, any answers are kept."""
    with transaction.atomic():
        locked = Judge.objects.select_for_update().get(pk=judge.pk)
        if locked.status in (Judge.Status.ACTIVE, Judge.Status.EXPIRED):
            locked.status = Judge.Status.WITHDRAWN
            locked.save(update_fields=["status"])
    return locked


def judge_instructions_done(*, judge: Judge) -> Judge:
    return _advance(judge, Stage.INSTRUCTIONS)


# --- practice ---------------------------------------------------------------------------


def practice_position(*, judge: Judge) -> int:
    return PracticeAnswer.objects.filter(judge=judge).count()


def practice_answer(
    *,
    judge: Judge,
    position: int,
    rating: int | None = None,
    choice: str = "",
    confidence: int | None = None,
    now: dt.datetime | None = None,
) -> PracticeAnswer | None:
    """Store a practice answer for ``position`` if it is the next one; None otherwise."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = Judge.objects.select_for_update().get(pk=judge.pk)
        if locked.stage != Stage.PRACTICE or position != practice_position(judge=locked):
            return None
        item = practice_item(study=locked.study, position=position)
        if item is None:
            return None
        _check_answer(locked.study.protocol, rating, choice, confidence)
        return PracticeAnswer.objects.create(
            judge=locked,
            position=position,
            article=item.article,
            is_machine=item.is_machine,
            human_side=item.human_side,
            rating=rating,
            choice=choice,
            confidence=confidence,
            answered_at=now,
        )


def practice_finish(*, judge: Judge) -> Judge:
    return _advance(judge, Stage.PRACTICE)


# --- items ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Served:
    item: JudgeItem
    total: int


def item_serve(*, judge: Judge, now: dt.datetime | None = None) -> Served | None:
    """The judge's current item, marked served the first time (reloads keep that time)."""
    now = now or timezone.now()
    item = judge_sql.serve(judge_id=judge.pk, now=now)
    return None if item is None else Served(item=item, total=judge.item_count)


def _check_answer(protocol: str, rating, choice, confidence) -> None:
    if protocol == Protocol.SINGLE:
        if rating not in (1, 2, 3, 4, 5) or choice or confidence is not None:
            raise ValueError("a single-protocol answer is one rating from 1 to 5")
    elif choice not in tuple(Side) or confidence not in (1, 2, 3, 4, 5) or (rating is not None):
        raise ValueError("a paired answer is a side (left or right) and a confidence 1 to 5")


def _clamp(value: int, hi: int) -> int:
    return max(0, min(int(value), hi))


def item_answer(
    *,
    judge: Judge,
    item_token: str,
    rating: int | None = None,
    choice: str = "",
    confidence: int | None = None,
    visible_ms: int = 0,
    pastes: int = 0,
    copies: int = 0,
    tabaways: int = 0,
    now: dt.datetime | None = None,
) -> JudgeItem:
    """Store the judge's one answer to their current item. Raises AnswerRefused, or
    ValueError for an answer of the wrong shape."""
    now = now or timezone.now()
    if judge.stage != Stage.ITEMS or judge.status != Judge.Status.ACTIVE:
        raise AnswerRefused("stage")
    item = judge_current_item(judge=judge)
    if item is None or item.token != item_token:
        # Not the current item: say why (the common case, a double submit, is cheap).
        raise AnswerRefused(_refusal(judge=judge, item_token=item_token))
    if item.served_at is None:
        raise AnswerRefused("not_served")
    _check_answer(judge.study.protocol, rating, choice, confidence)
    # Clamped to the column: an answer given weeks after serving is kept, as "very long".
    server_ms = _clamp((now - item.served_at).total_seconds() * 1000, MAX_STORED_MS)
    cap = min(server_ms + VISIBLE_SLACK_MS, MAX_STORED_MS)
    visible = _clamp(visible_ms, cap)
    counts = [_clamp(n, MAX_COUNT_PER_REQUEST) for n in (pastes, copies, tabaways)]
    # Only the last answer writes the judge's row, moving them on to the closing
    # questions, in the same transaction; being here is noted by judge_touch.
    queue = judge.item_count or JudgeItem.objects.filter(judge=judge).count()
    last = item.position + 1 >= queue
    with transaction.atomic() if last else contextlib.nullcontext():
        stored = judge_sql.answer_store(
            item_id=item.pk,
            now=now,
            rating=rating,
            choice=choice,
            confidence=confidence,
            server_ms=server_ms,
            visible=visible,
            cap=cap,
            pastes=counts[0],
            copies=counts[1],
            tabaways=counts[2],
        )
        if not stored:  # a simultaneous submit stored its answer first
            raise AnswerRefused("answered")
        if last:
            Judge.objects.filter(pk=judge.pk).update(stage=Stage.CLOSING, last_seen_at=now)
            judge.stage, judge.last_seen_at = Stage.CLOSING, now
    item.answered_at, item.server_ms = now, server_ms
    item.rating, item.choice, item.confidence = rating, choice, confidence
    item.visible_ms = min(item.visible_ms + visible, cap)
    item.paste_count, item.copy_count, item.tabaway_count = (
        item.paste_count + counts[0],
        item.copy_count + counts[1],
        item.tabaway_count + counts[2],
    )
    return item


def _refusal(*, judge: Judge, item_token: str) -> str:
    other = JudgeItem.objects.filter(judge=judge, token=item_token).first()
    if other is None:
        return "unknown"
    return "answered" if other.answered_at is not None else "not_current"


def item_signal(
    *,
    judge: Judge,
    item_token: str,
    visible_ms: int = 0,
    pastes: int = 0,
    copies: int = 0,
    tabaways: int = 0,
    now: dt.datetime | None = None,
) -> bool:
    """Add visible time and event counts reported by the page (on hide or unload) to an
    unanswered item that has been served. False when nothing was stored."""
    now = now or timezone.now()
    row = (
        JudgeItem.objects.filter(
            judge=judge, token=item_token, answered_at__isnull=True, served_at__isnull=False
        )
        .values_list("pk", "served_at", "visible_ms")
        .first()
    )
    if row is None:
        return False
    pk, served_at, so_far = row
    cap = _clamp((now - served_at).total_seconds() * 1000 + VISIBLE_SLACK_MS, MAX_STORED_MS)
    add = max(0, min(_clamp(visible_ms, cap), cap - so_far))
    return bool(
        JudgeItem.objects.filter(pk=pk, answered_at__isnull=True).update(
            visible_ms=F("visible_ms") + add,
            paste_count=F("paste_count") + _clamp(pastes, MAX_COUNT_PER_REQUEST),
            copy_count=F("copy_count") + _clamp(copies, MAX_COUNT_PER_REQUEST),
            tabaway_count=F("tabaway_count") + _clamp(tabaways, MAX_COUNT_PER_REQUEST),
        )
    )


# --- closing and completion -------------------------------------------------------------


def judge_complete(*, judge: Judge, closing: dict, now: dt.datetime | None = None) -> Judge:
    """Store the closing answers and complete, in one transaction; the completion code
    exists only once this has committed. A repeat returns the completed judge."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = Judge.objects.select_for_update().select_related("study").get(pk=judge.pk)
        if locked.status == Judge.Status.COMPLETED:
            return locked
        if locked.stage != Stage.CLOSING or locked.status != Judge.Status.ACTIVE:
            raise AnswerRefused("stage")
        if JudgeItem.objects.filter(judge=locked, answered_at__isnull=True).exists():
            raise AnswerRefused("stage")
        recruitment = locked.study.spec.get("recruitment", {})
        failed = judge_attention_failures(judge=locked) > 0
        separate = failed and (
            recruitment.get("attention_failed_code") or recruitment.get("attention_failed_url")
        )
        if separate:
            # The platform is told apart by its own code; the judge is not told why here.
            locked.flags = [*locked.flags, "attention_failed"]
        if locked.platform == Platform.MTURK:
            code = ""
        elif separate:
            code = recruitment.get("attention_failed_code", "")
        elif locked.platform == Platform.PROLIFIC:
            code = recruitment.get("completion_code", "")
        else:
            code = recruitment.get("completion_code") or secrets.token_hex(4).upper()
        locked.closing = closing
        locked.status = Judge.Status.COMPLETED
        locked.stage = Stage.DONE
        locked.completed_at = now
        locked.last_seen_at = now
        locked.completion_code = code
        locked.save(
            update_fields=[
                "closing",
                "status",
                "stage",
                "completed_at",
                "last_seen_at",
                "completion_code",
                "flags",
            ]
        )
    return locked


def judge_attention_failures(*, judge: Judge) -> int:
    """Attention checks this judge answered other than as the check asked."""
    failures = 0
    for item in JudgeItem.objects.filter(
        judge=judge, entry__is_attention=True, answered_at__isnull=False
    ).select_related("entry"):
        expected = item.entry.attention or {}
        if "expected_rating" in expected:
            failures += item.rating != expected["expected_rating"]
        else:
            failures += item.choice != expected.get("expected_choice")
    return failures
