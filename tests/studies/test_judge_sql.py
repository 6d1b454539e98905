"""Each hand-written statement of the judge path against the ORM query it stands for."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection, transaction
from django.db.models import F
from django.db.models.functions import Least
from django.utils import timezone

from studies import judge_sql
from studies.models import Judge, JudgeItem
from studies.services.assignment import judge_enter

COLUMNS = judge_sql.CURRENT_ITEM.names


def _orm_current(judge: Judge) -> JudgeItem | None:
    return (
        JudgeItem.objects.filter(judge=judge, answered_at__isnull=True).order_by("position").first()
    )


def _same(a: JudgeItem, b: JudgeItem) -> None:
    assert {c: getattr(a, c) for c in COLUMNS} == {c: getattr(b, c) for c in COLUMNS}


def _judge(study, n: int = 0) -> Judge:
    return judge_enter(study_id=study.pk, platform="link", external_id=f"sql-{n}").judge


def test_current_item_is_the_orm_first_unanswered_item(make_live_study):
    study = make_live_study()
    judge = _judge(study)
    for answered in range(3):
        _same(judge_sql.current_item(judge_id=judge.pk), _orm_current(judge))
        item = _orm_current(judge)
        item.answered_at = timezone.now()
        item.save(update_fields=["answered_at"])
        del answered
    JudgeItem.objects.filter(judge=judge).update(answered_at=timezone.now())
    assert judge_sql.current_item(judge_id=judge.pk) is None is _orm_current(judge)


def test_serve_marks_the_orm_current_item_once(make_live_study):
    study = make_live_study()
    judge = _judge(study)
    first = timezone.now().replace(microsecond=0)
    served = judge_sql.serve(judge_id=judge.pk, now=first)
    expected = _orm_current(judge)
    _same(served, expected)
    assert expected.served_at == first
    again = judge_sql.serve(judge_id=judge.pk, now=first + dt.timedelta(seconds=30))
    assert again.served_at == first == _orm_current(judge).served_at  # a reload keeps it
    assert JudgeItem.objects.filter(judge=judge, served_at__isnull=False).count() == 1


def test_answer_store_matches_the_orm_update(make_live_study):
    study = make_live_study()
    sql_item, orm_item = JudgeItem.objects.filter(judge=_judge(study)).order_by("position")[:2]
    JudgeItem.objects.filter(pk__in=[sql_item.pk, orm_item.pk]).update(
        visible_ms=900, paste_count=1, copy_count=2, tabaway_count=3
    )
    now = timezone.now().replace(microsecond=0)
    answer = {"rating": 4, "choice": "", "confidence": None, "server_ms": 1500}
    counts = {"pastes": 2, "copies": 0, "tabaways": 5}
    visible, cap = 800, 1600  # 900 + 800 passes the cap
    assert judge_sql.answer_store(
        item_id=sql_item.pk, now=now, visible=visible, cap=cap, **answer, **counts
    )
    stored = JudgeItem.objects.filter(pk=orm_item.pk, answered_at__isnull=True).update(
        answered_at=now,
        **answer,
        visible_ms=Least(F("visible_ms") + visible, cap),
        paste_count=F("paste_count") + counts["pastes"],
        copy_count=F("copy_count") + counts["copies"],
        tabaway_count=F("tabaway_count") + counts["tabaways"],
    )
    assert stored == 1
    fields = ["answered_at", "rating", "choice", "confidence", "server_ms", "visible_ms"]
    fields += ["paste_count", "copy_count", "tabaway_count"]
    got = JudgeItem.objects.values(*fields)
    assert got.get(pk=sql_item.pk) == got.get(pk=orm_item.pk)
    assert got.get(pk=sql_item.pk)["visible_ms"] == cap
    # A second answer to the same item is refused, as the ORM's filtered update is.
    again = dict(item_id=sql_item.pk, now=now, visible=0, cap=cap, **answer, **counts)
    assert judge_sql.answer_store(**again) is False
    assert JudgeItem.objects.filter(pk=orm_item.pk, answered_at__isnull=True).update(rating=1) == 0


def test_judge_by_session_keys_is_the_orm_lookup(make_live_study):
    study = make_live_study()
    judges = [_judge(study, n) for n in range(3)]
    tokens = ["not-a-key", judges[1].session_key]
    found, status, design_hash = judge_sql.judge_by_session_keys(slug=study.slug, keys=tokens)
    orm = Judge.objects.select_related("study").get(study__slug=study.slug, session_key__in=tokens)
    assert found.pk == orm.pk
    for field in Judge._meta.concrete_fields:
        assert getattr(found, field.attname) == getattr(orm, field.attname), field.attname
    assert (status, design_hash) == (orm.study.status, orm.study.design_hash)
    assert judge_sql.judge_by_session_keys(slug="other-study", keys=tokens) is None
    assert judge_sql.judge_by_session_keys(slug=study.slug, keys=["nobody"]) is None


def _my_advisory_locks() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()"
        )
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_advisory_lock_holds_until_the_transaction_ends():
    # No ORM equivalent: the lock is taken (on PostgreSQL) and gone once the transaction ends.
    if connection.vendor != "postgresql":
        pytest.skip("advisory locks are PostgreSQL's")
    with transaction.atomic():
        judge_sql.advisory_lock("entry:test")
        assert _my_advisory_locks() == 1
    assert _my_advisory_locks() == 0
