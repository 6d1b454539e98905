import datetime as dt
import threading
from collections import Counter

import pytest
from django.db import close_old_connections, connection
from django.utils import timezone

from studies.models import AuditEvent, Judge, JudgeItem
from studies.services.assignment import EntryRefused, judge_enter


def test_balanced_assignment_and_queue(make_live_study):
    study = make_live_study(attention_checks={"count": 2, "positions": [2, 7]})
    judges = [
        judge_enter(study_id=study.pk, platform="link", external_id=None).judge for _ in range(8)
    ]
    counts = Counter(j.study_list_id for j in judges)
    assert len(counts) <= 4 and max(counts.values()) <= 3  # judges_per_list = 3
    j = judges[0]
    items = list(j.items.order_by("position").select_related("entry"))
    assert len(items) == 10
    assert [i.position for i in items if i.entry.is_attention] == [1, 6]
    assert len({i.token for i in items}) == 10
    orders = {
        tuple(i.entry_id for i in x.items.order_by("position"))
        for x in judges
        if x.study_list_id == j.study_list_id
    }
    same_list = [x for x in judges if x.study_list_id == j.study_list_id]
    assert len(orders) == len(same_list), "order is shuffled per judge"


def test_returning_external_id_resumes(make_live_study):
    study = make_live_study()
    first = judge_enter(study_id=study.pk, platform="prolific", external_id="P1")
    key = first.judge.session_key
    again = judge_enter(study_id=study.pk, platform="prolific", external_id="P1", session_key=key)
    assert again.resumed and again.judge.pk == first.judge.pk
    # The id alone (another browser) resumes nothing, and the attempt is audited.
    for other in (None, "guessed-key"):
        with pytest.raises(EntryRefused) as refused:
            judge_enter(study_id=study.pk, platform="prolific", external_id="P1", session_key=other)
        assert refused.value.reason == "elsewhere"
    assert AuditEvent.objects.filter(study=study, action="entry_elsewhere").count() == 2
    assert Judge.objects.count() == 1
    assert JudgeItem.objects.filter(judge=first.judge).count() == 8
    assert first.judge.pseudonym != "P1" and "P1" not in first.judge.pseudonym


def test_full_study(make_live_study):
    study = make_live_study(judges_per_list=1)
    for _ in range(4):
        judge_enter(study_id=study.pk, platform="link", external_id=None)
    late = judge_enter(study_id=study.pk, platform="link", external_id=None).judge
    assert late.status == Judge.Status.FULL and late.study_list is None


def test_expired_judge_frees_slot_and_resumes_or_is_full(make_live_study):
    study = make_live_study(judges_per_list=1)
    old = timezone.now() - dt.timedelta(hours=5)
    slow = judge_enter(study_id=study.pk, platform="prolific", external_id="slow", now=old).judge
    others = [
        judge_enter(study_id=study.pk, platform="link", external_id=None).judge for _ in range(4)
    ]
    slow.refresh_from_db()
    assert slow.status == Judge.Status.EXPIRED
    assert slow.study_list_id in {o.study_list_id for o in others}  # the freed slot was reused
    taker = next(o for o in others if o.study_list_id == slow.study_list_id)
    back = judge_enter(
        study_id=study.pk, platform="prolific", external_id="slow", session_key=slow.session_key
    ).judge
    assert back.status == Judge.Status.ACTIVE  # nobody in that list has completed yet
    Judge.objects.filter(pk=taker.pk).update(status=Judge.Status.COMPLETED)
    Judge.objects.filter(pk=back.pk).update(status=Judge.Status.EXPIRED)
    back = judge_enter(
        study_id=study.pk, platform="prolific", external_id="slow", session_key=slow.session_key
    ).judge
    assert back.status == Judge.Status.FULL and "partial_after_expiry" in back.flags


def test_not_live_and_excluded_from_earlier(make_live_study):
    first = make_live_study(slug="first")
    judge_enter(study_id=first.pk, platform="prolific", external_id="W")
    second = make_live_study(slug="second", exclude_judges_from=["first"])
    with pytest.raises(EntryRefused) as info:
        judge_enter(study_id=second.pk, platform="prolific", external_id="W")
    assert info.value.reason == "excluded"
    judge_enter(study_id=second.pk, platform="prolific", external_id="new")
    from studies.services.studies import study_transition

    study_transition(study=second, action="pause")
    with pytest.raises(EntryRefused):
        judge_enter(study_id=second.pk, platform="prolific", external_id="other")


@pytest.mark.django_db(transaction=True)
def test_concurrent_arrivals(make_live_study):
    """200 arrivals over 64 connections released together for 160 places: every list fills
    exactly to its quota, the rest are told the study is full, nothing doubles."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL")
    study = make_live_study(judges_per_list=40)
    barrier = threading.Barrier(64)
    errors: list[BaseException] = []
    per_thread = [200 // 64 + (1 if i < 200 % 64 else 0) for i in range(64)]

    def arrive(n: int, worker: int) -> None:
        try:
            barrier.wait()
            for k in range(n):
                # Some workers send the same external id twice, as a double click would:
                # the second carries no judge cookie yet, so it is refused as "elsewhere".
                ext = f"w{worker}-{k // 2}" if worker % 4 == 0 else f"w{worker}-{k}"
                try:
                    judge_enter(study_id=study.pk, platform="prolific", external_id=ext)
                except EntryRefused as refused:
                    if refused.reason != "elsewhere" or worker % 4:
                        raise
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=arrive, args=(n, i)) for i, n in enumerate(per_thread)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:3]
    judges = Judge.objects.filter(study=study)
    expected_ids = {
        (f"w{i}-{k // 2}" if i % 4 == 0 else f"w{i}-{k}")
        for i, n in enumerate(per_thread)
        for k in range(n)
    }
    assert judges.count() == len(expected_ids)
    admitted = judges.exclude(status=Judge.Status.FULL)
    counts = Counter(admitted.values_list("study_list_id", flat=True))
    assert sorted(counts.values()) == [40, 40, 40, 40]
    assert not JudgeItem.objects.filter(judge__status=Judge.Status.FULL).exists()
    for judge in admitted:
        assert JudgeItem.objects.filter(judge=judge).count() == 8, "a judge has two queues"
    assert (
        JudgeItem.objects.filter(judge__study=study).values("token").distinct().count()
        == JudgeItem.objects.filter(judge__study=study).count()
    )
