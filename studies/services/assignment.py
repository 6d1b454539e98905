"""Handing judges their list and queue: balanced, atomic, resumable.

Arrivals for one study are serialised by a row lock on the study (as Turkle locks the
next task with ``select_for_update``), so concurrent arrivals can never over-fill a list
or give one participant two queues.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import random
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext

from studies import design as design_lib
from studies.models import Judge, JudgeItem, Study, StudyList
from studies.randomness import derived_key
from studies.services.studies import audit

log = logging.getLogger(__name__)
COUNTED = (Judge.Status.ACTIVE, Judge.Status.COMPLETED)
_SYSTEM_RANDOM = random.SystemRandom()


ELSEWHERE_MESSAGE = (
    "This study is already open in another browser. Please go on in the browser where you "
    "started it; for your safety it cannot be taken over from here. If that browser is "
    "lost, contact the researcher through your recruitment site."
)


class EntryRefused(Exception):
    """The judge cannot take part; ``reason`` is a short machine-readable word."""

    def __init__(self, reason: str, message: str):
        self.reason = reason
        self.judge: Judge | None = None
        super().__init__(message)


@dataclass
class Entry:
    judge: Judge
    resumed: bool


def pseudonym_for(*, study_id: int, platform: str, identity: str) -> str:
    key = settings.NEWSEVAL_PSEUDONYM_SALT.encode()
    message = f"{study_id}:{platform}:{identity}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:20]


def unconsented_window() -> dt.timedelta:
    return dt.timedelta(minutes=settings.NEWSEVAL_UNCONSENTED_MINUTES)


def expiry_window(*, judge: Judge, study: Study) -> dt.timedelta:
    """How long a judge keeps a place unseen: a place is only held for a few minutes until
    consent is given, so made-up ids that never consent cannot lock out real participants."""
    if not judge.consent_version:
        return min(unconsented_window(), dt.timedelta(minutes=study.spec["expiry_minutes"]))
    return dt.timedelta(minutes=study.spec["expiry_minutes"])


def judges_expire_stale(*, study: Study, now: dt.datetime | None = None) -> int:
    now = now or timezone.now()
    cutoff = now - dt.timedelta(minutes=study.spec["expiry_minutes"])
    active = Judge.objects.filter(study=study, status=Judge.Status.ACTIVE, test=False)
    stale = active.filter(last_seen_at__lt=cutoff).update(status=Judge.Status.EXPIRED)
    unconsented = active.filter(
        consent_version="", last_seen_at__lt=now - unconsented_window()
    ).update(status=Judge.Status.EXPIRED)
    return stale + unconsented


def list_counts(study: Study) -> dict[int, int]:
    rows = (
        StudyList.objects.filter(study=study)
        .annotate(n=Count("judges", filter=Q(judges__status__in=COUNTED, judges__test=False)))
        .values_list("pk", "n")
    )
    return dict(rows)


def judge_enter(**kwargs) -> Entry:
    """Admit or resume a judge (see ``_judge_enter``); a refused takeover is logged and
    audited after the entry's transaction has rolled back."""
    try:
        return _judge_enter(**kwargs)
    except EntryRefused as refused:
        if refused.reason == "elsewhere" and refused.judge is not None:
            judge = refused.judge
            log.warning(
                "entry refused: %s id of judge %s presented by another browser (study %s)",
                judge.platform,
                judge.pseudonym,
                judge.study_id,
            )
            audit(
                study=Study.objects.get(pk=judge.study_id),
                action="entry_elsewhere",
                judge=judge.pseudonym,
                platform=judge.platform,
            )
        raise


def _judge_enter(
    *,
    study_id: int,
    platform: str,
    external_id: str | None,
    meta: dict | None = None,
    simulated: bool = False,
    session_key: str | None = None,
    now: dt.datetime | None = None,
) -> Entry:
    """Admit a judge (or resume a returning one). Raises EntryRefused.

    A platform id is not a secret (an attacker can guess or learn one), so a returning
    id resumes only in the browser that holds that judge's ``session_key``; any other
    request with the id is refused ("elsewhere"), changes nothing and is audited.
    """
    now = now or timezone.now()
    with transaction.atomic():
        study = Study.objects.select_for_update().get(pk=study_id)
        if study.status != Study.Status.LIVE:
            raise EntryRefused(
                "closed", gettext("This study is not taking participants right now.")
            )
        if external_id:
            existing = _known_judge(study, platform, external_id, session_key)
            if existing is not None:
                return Entry(judge_resume(study=study, judge=existing, now=now), resumed=True)
        judges_expire_stale(study=study, now=now)
        counts = list_counts(study)
        lists = list(StudyList.objects.filter(study=study).order_by("index"))
        open_lists = [sl for sl in lists if counts.get(sl.pk, 0) < sl.quota]
        judge = _new_judge(study, platform, external_id, meta, simulated=simulated, now=now)
        if not open_lists:
            judge.status = Judge.Status.FULL
            judge.save()
            return Entry(judge, resumed=False)
        judge.study_list = _draw_list(study, open_lists, counts)
        judge.save()
        _build_queue(study, judge)
    return Entry(judge, resumed=False)


def _new_judge(
    study: Study,
    platform: str,
    external_id: str | None,
    meta: dict | None,
    *,
    simulated: bool,
    now: dt.datetime,
) -> Judge:
    """A new judge (unsaved), with fresh keys and the pseudonym the exports use."""
    token = secrets.token_urlsafe(24)
    return Judge(
        study=study,
        token=token,
        session_key=secrets.token_urlsafe(24),
        platform=platform,
        external_id=external_id or None,
        platform_meta=meta or {},
        simulated=simulated,
        last_seen_at=now,
        pseudonym=pseudonym_for(
            study_id=study.pk, platform=platform, identity=external_id or token
        ),
    )


def _known_judge(
    study: Study, platform: str, external_id: str, session_key: str | None
) -> Judge | None:
    """The judge already admitted with this platform id, if this browser holds their key;
    None for an id new to the study. Raises EntryRefused for an id held by another
    browser, or one that took part in a study this one excludes."""
    existing = Judge.objects.filter(study=study, platform=platform, external_id=external_id).first()
    if existing is not None:
        if not session_key or not secrets.compare_digest(session_key, existing.session_key or ""):
            refused = EntryRefused("elsewhere", ELSEWHERE_MESSAGE)
            refused.judge = existing
            raise refused
        return existing
    earlier = study.spec.get("exclude_judges_from") or []
    if (
        earlier
        and Judge.objects.filter(
            study__slug__in=earlier, platform=platform, external_id=external_id
        ).exists()
    ):
        raise EntryRefused(
            "excluded",
            gettext(
                "You took part in an earlier, related study, so you cannot "
                "take part in this one. Thank you for your interest."
            ),
        )
    return None


def _draw_list(study: Study, open_lists: list[StudyList], counts: dict[int, int]) -> StudyList:
    """A list for a new judge: a draw from the open places, each place equally likely.

    This is sampling the study's places without replacement, so every list fills exactly to
    its quota. Filling the emptiest list first would keep lists level at every moment, but
    then a judge who learns earlier judges' lists (from their debriefs) could tell which list
    they will get, and with it which of their texts are machine-made. The draw comes from the
    operating system's randomness, so nothing a judge holds can recompute it. An attacker who
    knew every earlier judge's list would still gain a little near the end of a study, when
    few places are left (see the README's blinding section).
    """
    remaining = [sl.quota - counts.get(sl.pk, 0) for sl in open_lists]
    return _SYSTEM_RANDOM.choices(open_lists, weights=remaining)[0]


def judge_resume(*, study: Study, judge: Judge, now: dt.datetime) -> Judge:
    """A returning judge: resume, or "full" if their list filled while they were away."""
    if judge.status == Judge.Status.EXPIRED:
        completed = Judge.objects.filter(
            study_list=judge.study_list, status=Judge.Status.COMPLETED, test=False
        ).count()
        if judge.study_list is not None and completed < judge.study_list.quota:
            judge.status = Judge.Status.ACTIVE
        else:
            judge.status = Judge.Status.FULL
            if "partial_after_expiry" not in judge.flags:
                judge.flags = [*judge.flags, "partial_after_expiry"]
    elif judge.status == Judge.Status.ACTIVE:
        cutoff = now - expiry_window(judge=judge, study=study)
        if judge.last_seen_at < cutoff:
            # Expired but not yet swept: treat as a return after expiry.
            judge.status = Judge.Status.EXPIRED
            return judge_resume(study=study, judge=judge, now=now)
    judge.last_seen_at = now
    judge.save(update_fields=["status", "flags", "last_seen_at"])
    return judge


def _build_queue(study: Study, judge: Judge) -> None:
    entries = list(judge.study_list.entries.order_by("position"))
    items = [e for e in entries if not e.is_attention]
    checks = [e for e in entries if e.is_attention]
    positions = study.spec["attention_checks"]["positions"] or (
        design_lib.default_attention_positions(len(items), len(checks))
    )
    order, slots = design_lib.queue_order(
        len(items),
        attention_positions=positions[: len(checks)],
        seed=derived_key(study.secret, "queue", judge.token),
    )
    sequence = [items[i] for i in order]
    for slot, check in zip(slots, checks, strict=False):
        sequence.insert(slot, check)
    JudgeItem.objects.bulk_create(
        JudgeItem(judge=judge, position=pos, entry=entry, token=secrets.token_urlsafe(12))
        for pos, entry in enumerate(sequence)
    )
    Judge.objects.filter(pk=judge.pk).update(item_count=len(sequence))
    judge.item_count = len(sequence)


TEST_STATUSES = (Study.Status.READY, Study.Status.LIVE, Study.Status.PAUSED)


def judge_enter_test(*, study_id: int, actor=None, now: dt.datetime | None = None) -> Judge:
    """A test judge for the owner: the whole flow, before or after launch, marked ``test``.

    Test judges are never counted toward quotas, exported or analysed. After launch one
    gets a list drawn uniformly from operating-system randomness, apart from the draws of
    real judges (whose weights count real judges only); before launch, a throwaway list
    that launch deletes.
    """
    from studies.services.studies import audit, throwaway_list_create

    now = now or timezone.now()
    with transaction.atomic():
        study = Study.objects.select_for_update().get(pk=study_id)
        if study.status not in TEST_STATUSES:
            raise EntryRefused("closed", f"a {study.status} study cannot be tried")
        if study.status == Study.Status.READY:
            study_list = throwaway_list_create(study=study)
        else:
            lists = list(StudyList.objects.filter(study=study).order_by("index"))
            study_list = _SYSTEM_RANDOM.choice(lists)
        token = secrets.token_urlsafe(24)
        judge = Judge.objects.create(
            study=study,
            study_list=study_list,
            token=token,
            session_key=secrets.token_urlsafe(24),
            platform="link",
            test=True,
            last_seen_at=now,
            pseudonym=pseudonym_for(study_id=study.pk, platform="test", identity=token),
        )
        _build_queue(study, judge)
        audit(study=study, action="test_run", actor=actor, pseudonym=judge.pseudonym)
    return judge
