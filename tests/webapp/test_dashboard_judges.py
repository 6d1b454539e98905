"""Exclusions in view and live participants: the Judges page (stage, items done, last
activity, platform id for the owner only, inclusion with its reason; search and filters),
included / excluded counts in the monitor, and a failed report shown as a dashboard page."""

import pytest
from django.urls import reverse

from studies.models import AuditEvent, Judge
from studies.selectors.dashboard import live_numbers
from tests.factories import TEST_MODELS
from tests.webapp.test_dashboard import _answer_all, _own
from tests.webapp.test_dashboard import corpus as corpus  # noqa: F401 - 40 articles


@pytest.fixture(autouse=True)
def _test_models(monkeypatch):
    monkeypatch.setattr("studies.registry.registry_models", lambda: dict(TEST_MODELS))
    monkeypatch.setattr("studies.services.studies._models_or_none", lambda: dict(TEST_MODELS))


@pytest.fixture
def alice(django_user_model):
    return django_user_model.objects.create_user("alice", password="pw-alice-123")


@pytest.fixture
def study(make_live_study, alice):
    study = _own(make_live_study(analysis={"exclude_looked_up": True}), alice)
    _answer_all(study, judges=2)
    looked = Judge.objects.get(study=study, external_id="R1")
    looked.closing = {"looked_up": "yes"}
    looked.save(update_fields=["closing"])
    from studies.services.assignment import judge_enter

    judge_enter(study_id=study.pk, platform="prolific", external_id="LIVE-7")
    return study


def test_judges_page_shows_inclusion_stage_and_owner_only_ids(
    client, alice, study, django_user_model
):
    client.force_login(alice)
    url = reverse("dashboard:judges", args=[study.slug])
    page = client.get(url).content.decode()
    assert "looked things up" in page and "Platform id" in page and "LIVE-7" in page
    excluded = client.get(url, {"inclusion": "excluded"}).context["rows"]
    assert [r.judge.external_id for r in excluded] == ["R1"]
    assert excluded[0].reason == "looked things up"
    included = client.get(url, {"inclusion": "included"}).context["rows"]
    assert [r.judge.external_id for r in included] == ["R0"]
    live = client.get(url, {"q": "live-7"}).context["rows"]
    assert len(live) == 1 and live[0].inclusion == "in progress" and live[0].stage == "consent"
    assert live[0].answers == 0
    done = client.get(url, {"status": "completed"}).context["rows"]
    assert {r.judge.external_id for r in done} == {"R0", "R1"}
    assert all(r.answers == r.judge.item_count for r in done)
    rows = client.get(url, {"fragment": "rows"}).content.decode()
    assert rows.lstrip().startswith("<tr") and "looked things up" in rows

    bob = django_user_model.objects.create_user("bob", password="pw-bob-12345")
    study.shared_with.add(bob)
    client.force_login(bob)
    page = client.get(url).content.decode()
    assert "LIVE-7" not in page and "Platform id" not in page and "looked things up" in page
    assert client.get(url, {"q": "LIVE-7"}).context["rows"] == []


def test_monitor_counts_included_and_excluded(client, alice, study):
    numbers = live_numbers(study)
    assert numbers["totals"]["included"] == 1 and numbers["totals"]["excluded"] == 1
    assert sum(r["excluded"] for r in numbers["lists"]) == 1
    client.force_login(alice)
    page = client.get(reverse("dashboard:monitor", args=[study.slug])).content.decode()
    assert 'data-field="excluded">1<' in page


def test_a_failed_report_is_a_dashboard_page_not_listed_as_built(
    client, alice, make_live_study, monkeypatch
):
    import analysis

    def broken(*args, **kwargs):
        raise ValueError("no scored real judgments remain after exclusions")

    monkeypatch.setattr(analysis, "analyze_path", broken)
    study = _own(make_live_study(analysis={"exclude_looked_up": True}), alice)
    _answer_all(study, judges=1)
    Judge.objects.filter(study=study).update(closing={"looked_up": "yes"})
    client.force_login(alice)
    url = reverse("dashboard:report", args=[study.slug])
    response = client.post(url, {"confirm": "on"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert 'id="report-problem"' in page and "no scored real judgments" in page
    assert "looked things up: 1" in page and "Failed builds" in page
    assert not AuditEvent.objects.filter(study=study, action__in=["report", "peek"]).exists()
    assert AuditEvent.objects.filter(study=study, action="report_failed").count() == 1
    assert client.get(url).context["builds"] == []
