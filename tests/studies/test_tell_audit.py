"""The study's tell audit: computed on the texts as shown, recomputed when they change, a form
tell blocks launch until acknowledged (and the acknowledgement is logged), frozen into the
launch record, shown on the review and launch pages and in the report."""

import json

import pytest
from django.urls import reverse

from studies.models import AuditEvent, Study
from studies.services.studies import StudyError, design_record, study_launch
from studies.services.tell_audit import tell_audit_current
from studies.services.texts import article_drop, text_store
from tests.factories import fill_texts


def leaky_fill(study: Study) -> None:
    """Human texts in two paragraphs, machine texts in one: a form tell."""
    for cond in study.conditions.all():
        for sa in study.study_articles.select_related("article"):
            words = sa.article.shown_body.split()[:60]
            human = " ".join(words[:30]) + ".\n\n" + " ".join(words[30:]) + "."
            machine = " ".join(reversed(words)) + "."
            text_store(condition=cond, article=sa.article, is_machine=False, body=human)
            text_store(condition=cond, article=sa.article, is_machine=True, body=machine)
    study.status = Study.Status.READY
    study.save(update_fields=["status"])


@pytest.fixture(autouse=True)
def _replicates(settings):
    settings.NEWSEVAL_TELL_AUDIT_REPLICATES = 10


@pytest.fixture
def leaky(make_study, django_user_model):
    study = make_study(slug="leaky")
    study.owner = django_user_model.objects.create_user("alice", password="pw-alice-123")
    study.save(update_fields=["owner"])
    leaky_fill(study)
    return study


def test_a_form_tell_blocks_launch_until_acknowledged(leaky):
    with pytest.raises(StudyError, match="paragraphs"):
        study_launch(study=leaky)
    leaky.refresh_from_db()
    assert leaky.status == Study.Status.READY and not leaky.is_frozen
    assert leaky.tell_audit["gated"]
    study = study_launch(study=leaky, acknowledge_tells=True)
    assert study.status == Study.Status.LIVE
    event = AuditEvent.objects.get(study=study, action="acknowledge_tells")
    assert "paragraphs" in " ".join(event.detail["findings"])
    assert study.frozen["tell_audit"]["gated"]
    # The figures would tell a judge how the kinds differ: withheld until the study closes.
    public = json.dumps(design_record(study=study))
    assert "tell_audit" not in public and "machine_mean" not in public


def test_texts_with_one_form_launch_and_freeze_their_audit(make_live_study):
    study = make_live_study(slug="fair")
    frozen = study.frozen["tell_audit"]
    assert not frozen["gated"] and frozen["findings"] == []
    assert [c["condition"] for c in frozen["conditions"]] == ["small", "control"]
    for c in frozen["conditions"]:
        assert c["articles"] == 8 and set(c["groups"]) == {"form", "style"}
    assert not AuditEvent.objects.filter(study=study, action="acknowledge_tells").exists()


def test_the_audit_follows_the_texts(make_study):
    study = make_study(slug="follows")
    fill_texts(study)
    first = tell_audit_current(study=study)
    assert tell_audit_current(study=study) == first  # same texts: the stored audit
    sa = study.study_articles.select_related("article").first()
    article_drop(study=study, article=sa.article, kind="excluded", reason="broken text")
    second = tell_audit_current(study=study)
    assert second["texts_sha256"] != first["texts_sha256"]
    assert {c["articles"] for c in second["conditions"]} == {7}


def test_review_and_launch_pages_name_the_tell_and_ask_for_the_acknowledgement(client, leaky):
    client.force_login(leaky.owner)
    overview = client.get(reverse("dashboard:study", args=[leaky.slug])).content.decode()
    assert 'id="form-tells"' in overview and 'id="acknowledge-tells"' in overview
    assert "paragraphs" in overview
    review = client.get(reverse("dashboard:review", args=[leaky.slug])).content.decode()
    assert 'id="form-tells"' in review and "style" in review
    url = reverse("dashboard:launch", args=[leaky.slug])
    client.post(url, {"confirm": "on"})
    leaky.refresh_from_db()
    assert leaky.status == Study.Status.READY
    client.post(url, {"confirm": "on", "acknowledge_tells": "on"})
    leaky.refresh_from_db()
    assert leaky.status == Study.Status.LIVE
    assert AuditEvent.objects.filter(
        study=leaky, action="acknowledge_tells", actor=leaky.owner
    ).exists()


def test_the_report_shows_the_frozen_audit(make_live_study, tmp_path):
    from analysis.tells import tell_audit_section
    from studies.services.exports import study_record

    study = make_live_study(slug="reported")
    record = json.loads(json.dumps(study_record(study), default=str))
    section = tell_audit_section(record)
    assert section is not None and not section.gated
    assert {(r["condition"], r["group"]) for r in section.rows} == {
        (c, g) for c in ("small", "control") for g in ("form", "style")
    }
    html = section.html()
    assert 'id="tell-audit"' in html and "did not tell" in html
    assert section.to_dict()["rows"] == section.rows


def test_terminal_lines_say_when_the_audit_has_no_interval():
    from studies.services.tell_audit import tell_audit_lines

    group = {"auc": 0.62, "low": None, "high": None, "above_chance": False, "carriers": []}
    result = {"conditions": [{"condition": "m", "note": "", "groups": {"form": group}}]}
    lines = tell_audit_lines({**result, "findings": []})
    assert lines == [
        "tell audit m form: AUC 0.62 (no interval: no bootstrap replicates); carried by nothing"
    ]
    with_interval = {**group, "low": 0.4, "high": 0.8}
    result["conditions"][0]["groups"]["form"] = with_interval
    assert "AUC 0.62 [0.40, 0.80]" in tell_audit_lines({**result, "findings": []})[0]
