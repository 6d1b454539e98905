"""Test mode: the owner takes the whole flow, consent to debrief, before and after launch, as
a test judge whose answers are marked and never analysed, exported or counted."""

from __future__ import annotations

import pytest
from django.test import Client

from studies.models import AuditEvent, Judge, StudyList
from studies.services.assignment import judge_enter, list_counts
from studies.services.exports import judge_rows, response_rows
from studies.services.studies import study_launch
from tests.factories import fill_texts
from tests.webapp.test_judge_flow import answer_all, finish_closing

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner(django_user_model):
    return django_user_model.objects.create_user("olga", password="pw-olga-123")


def _owned(study, user):
    study.owner = user
    study.save(update_fields=["owner"])
    return study


def _walk(client: Client, slug: str, start) -> Judge:
    assert start.status_code == 302 and start["Location"] == f"/take/{slug}/consent/"
    consent = client.get(f"/take/{slug}/consent/").content.decode()
    assert "Test mode" in consent
    client.post(f"/take/{slug}/consent/", {"agree": "on", "decision": "agree"})
    response = client.post(f"/take/{slug}/instructions/", follow=True)
    response, answered = answer_all(client, slug, "single", response)
    assert answered > 0
    debrief = finish_closing(client, slug)
    assert debrief.redirect_chain[-1][0] == f"/take/{slug}/debrief/"
    assert "Test mode" in debrief.content.decode()
    return Judge.objects.get(test=True, status=Judge.Status.COMPLETED)


def test_before_launch_on_a_throwaway_list_discarded_at_launch(make_study, owner, client):
    study = _owned(make_study(), owner)
    fill_texts(study)
    assert client.get(f"/take/{study.slug}/").status_code == 404, "no judge link before launch"
    client.force_login(owner)
    judge = _walk(client, study.slug, client.post(f"/dashboard/{study.slug}/test-run/"))
    assert judge.study_list.name.startswith("test-run-") and judge.study_list.quota == 0
    assert AuditEvent.objects.filter(study=study, action="test_run").exists()
    study = study_launch(study=study)
    assert not Judge.objects.filter(study=study).exists()
    assert not StudyList.objects.filter(study=study, name__startswith="test-run-").exists()
    assert all(e["name"] != judge.study_list.name for e in study.frozen["lists"])


def test_after_launch_never_counted_exported_or_analysed(make_live_study, owner, client):
    study = _owned(make_live_study(judges_per_list=1), owner)
    client.force_login(owner)
    judge = _walk(client, study.slug, client.post(f"/dashboard/{study.slug}/test-run/"))
    assert judge.test and judge.items.filter(answered_at__isnull=False).exists()
    assert sum(list_counts(study).values()) == 0, "no quota place taken"
    assert response_rows(study) == [] and judge_rows(study) == []
    # Every real place is still there: one judge per list gets in.
    lists = StudyList.objects.filter(study=study).count()
    for n in range(lists):
        entry = judge_enter(study_id=study.pk, platform="prolific", external_id=f"p{n}")
        assert entry.judge.status == Judge.Status.ACTIVE
    extra = judge_enter(study_id=study.pk, platform="prolific", external_id="late")
    assert extra.judge.status == Judge.Status.FULL


def test_only_the_owner_can_try(make_live_study, owner, client, django_user_model):
    study = _owned(make_live_study(), owner)
    other = django_user_model.objects.create_user("eve", password="pw-eve-12345")
    client.force_login(other)
    assert client.post(f"/dashboard/{study.slug}/test-run/").status_code == 404
    assert client.get(f"/dashboard/{study.slug}/test-run/").status_code in (404, 405)
    assert not Judge.objects.exists()
