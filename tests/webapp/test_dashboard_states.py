"""States that tell the truth: readiness after generation, the token-budget warning, drafts
edited (form and spec file), copied with edits and deleted, exclusions undone."""

import pytest
from django.urls import reverse

from studies.models import AuditEvent, Study, StudyArticle, Text
from studies.selectors.readiness import study_readiness, token_budget_warnings
from studies.services.studies import study_create
from studies.services.texts import article_drop, study_status_settle
from tests.factories import TEST_MODELS, fill_texts, spec_text
from tests.webapp.test_dashboard import _own
from tests.webapp.test_dashboard import corpus as corpus  # noqa: F401 - 40 articles


@pytest.fixture(autouse=True)
def _test_models(monkeypatch):
    monkeypatch.setattr("studies.registry.registry_models", lambda: dict(TEST_MODELS))
    monkeypatch.setattr("studies.services.studies._models_or_none", lambda: dict(TEST_MODELS))


@pytest.fixture
def alice(django_user_model):
    return django_user_model.objects.create_user("alice", password="pw-alice-123")


@pytest.fixture
def client_a(client, alice):
    client.force_login(alice)
    return client


def _conditions(max_new_tokens):
    return [
        {"name": "small", "model": "model-small", "max_new_tokens": max_new_tokens},
        {
            "name": "control",
            "model": "model-small",
            "context_articles": 0,
            "temperature": 1.5,
            "control": True,
            "max_new_tokens": max_new_tokens,
        },
    ]


def test_token_budget_warning_at_creation(corpus):
    text = spec_text(slug="short", target_words=80, conditions=_conditions(60))
    study, warnings = study_create(spec_text=text, models=TEST_MODELS)
    budget = [w for w in warnings if "max_new_tokens = 60" in w]
    assert len(budget) == 2 and "under 40 words" in budget[0]
    assert token_budget_warnings(study.spec) == budget
    roomy = spec_text(slug="roomy", target_words=80, conditions=_conditions(0))
    _, warnings = study_create(spec_text=roomy, models=TEST_MODELS)
    assert not [w for w in warnings if "max_new_tokens" in w]


def test_a_study_that_drops_every_article_needs_attention(make_study):
    study = make_study()
    fill_texts(study)  # ready, with texts for every article
    assert study_readiness(study).can_launch
    for sa in study.study_articles.select_related("article"):
        article_drop(
            study=study,
            article=sa.article,
            kind="failed",
            reason="small: all candidates rejected: 0: too_short: 31 words < 40; 1: empty",
        )
    study.refresh_from_db()
    assert study.status == Study.Status.ATTENTION
    readiness = study_readiness(study)
    assert not readiness.can_launch and readiness.usable == 0
    assert "8 empty, 8 too short" in " ".join(readiness.problems)
    assert any("max_new_tokens" in a for a in readiness.advice)
    assert AuditEvent.objects.filter(study=study, action="needs_attention").exists()


def test_overview_shows_attention_and_no_launch(client_a, alice, make_study):
    study = _own(make_study(), alice)
    fill_texts(study)
    for sa in study.study_articles.select_related("article"):
        article_drop(study=study, article=sa.article, kind="excluded", reason="broken output")
    page = client_a.get(reverse("dashboard:study", args=[study.slug])).content.decode()
    assert 'id="attention"' in page and "needs attention" in page
    assert 'id="launch-study"' not in page and "Undo exclusions" in page


def test_undo_exclusion_is_audited_and_settles_the_status(client_a, alice, make_study):
    study = _own(make_study(items_per_judge=0), alice)
    fill_texts(study)
    keys = list(study.study_articles.values_list("article__key", flat=True))
    url = reverse("dashboard:exclude", args=[study.slug])
    for key in keys[:7]:
        client_a.post(url, {"article": key, "reason": "looked broken"})
    study.refresh_from_db()
    assert study.status == "attention"  # one article left, a between design needs two
    restore = reverse("dashboard:restore", args=[study.slug])
    response = client_a.post(restore, {"article": keys[0], "reason": "  "})
    assert StudyArticle.objects.get(study=study, article__key=keys[0]).dropped
    response = client_a.post(restore, {"article": keys[0], "reason": "excluded by mistake"})
    assert response.status_code == 302
    sa = StudyArticle.objects.get(study=study, article__key=keys[0])
    assert not sa.dropped and sa.drop_kind == ""
    event = AuditEvent.objects.get(study=study, action="restore_excluded")
    assert event.actor == alice and event.detail["excluded_for"] == "looked broken"
    study.refresh_from_db()
    assert study.status == "ready"


def test_generation_failure_cannot_be_undone_as_an_exclusion(make_study):
    study = make_study()
    sa = study.study_articles.select_related("article").first()
    article_drop(study=study, article=sa.article, kind="failed", reason="x: empty")
    from studies.services.texts import article_restore

    with pytest.raises(ValueError):
        article_restore(study=study, article=sa.article, reason="try anyway")


def _form_data(page) -> dict:
    """What a browser posts for the edit page as shown."""
    form = page.context["form"]
    data = {
        k: v
        for k, v in {
            name: form[name].value() for name in form.fields if form[name].value() is not None
        }.items()
    }
    data = {k: v for k, v in data.items() if v not in (False, [], "")}
    data = {k: (", ".join(map(str, v)) if isinstance(v, list) else v) for k, v in data.items()}
    if form["closing_questions"].value():
        data["closing_questions"] = form.fields["closing_questions"].prepare_value(
            form["closing_questions"].value()
        )
    conditions = page.context["conditions"]
    data.update(
        {
            "cond-TOTAL_FORMS": str(len(conditions.forms)),
            "cond-INITIAL_FORMS": "0",
            "cond-MIN_NUM_FORMS": "1",
            "cond-MAX_NUM_FORMS": "1000",
        }
    )
    for f in conditions.forms:
        for name in f.fields:
            value = f[name].value()
            if value is not None and value is not False:
                data[f"{f.prefix}-{name}"] = "on" if value is True else value
    return data


def test_edit_a_draft_in_the_form_and_as_a_spec(client_a, alice, make_study):
    study = _own(make_study(slug="editable"), alice)
    fill_texts(study)
    edit = reverse("dashboard:edit", args=[study.slug])
    page = client_a.get(edit)
    assert page.status_code == 200
    form = page.context["form"]
    assert form["title"].value() == study.title and form["slug"].field.disabled
    data = _form_data(page)
    data["title"] = "Edited in the form"
    data["target_words"] = "150"
    data["slug"] = "renamed"  # ignored: the slug stays
    response = client_a.post(edit, data)
    assert response.status_code == 302, response.context and (
        response.context["problems"],
        response.context["form"].errors,
        [f.errors for f in response.context["conditions"].forms],
    )
    study.refresh_from_db()
    assert study.slug == "editable" and study.title == "Edited in the form"
    assert study.spec["target_words"] == 150 and study.status == "draft"
    assert not Text.objects.filter(study=study).exists()
    assert AuditEvent.objects.filter(study=study, action="edit").count() == 1

    spec_url = reverse("dashboard:edit-spec", args=[study.slug])
    source = client_a.get(spec_url).context["form"]["spec_text"].value()
    bad = client_a.post(spec_url, {"spec_text": source.replace("editable", "other-slug")})
    assert bad.status_code == 400 and "keeps the slug" in bad.content.decode()
    ok = client_a.post(spec_url, {"spec_text": source.replace("Edited in the form", "Spec edit")})
    assert ok.status_code == 302
    study.refresh_from_db()
    assert study.title == "Spec edit"


def test_an_edit_in_the_form_keeps_the_keys_the_form_does_not_show(client_a, alice, make_study):
    study = _own(
        make_study(
            slug="spec-only-keys",
            paragraphs="single",
            min_length_ratio=0.7,
            detection={"detectors": ["loglik"], "batch_size": 4},
            closing_questions=[
                {"name": "mood", "kind": "scale", "prompt": "How?", "scale_points": 7}
            ],
        ),
        alice,
    )
    edit = reverse("dashboard:edit", args=[study.slug])
    data = _form_data(client_a.get(edit))
    data["title"] = "Edited in the form"
    response = client_a.post(edit, data)
    assert response.status_code == 302, response.context and response.context["problems"]
    study.refresh_from_db()
    assert study.title == "Edited in the form"
    assert study.spec["paragraphs"] == "single" and study.spec["min_length_ratio"] == 0.7
    assert study.spec["detection"]["detectors"] == ["loglik"]
    assert study.spec["detection"]["batch_size"] == 4
    assert study.spec["closing_questions"][0]["scale_points"] == 7


def test_launched_study_cannot_be_edited_or_deleted(client_a, alice, make_live_study):
    study = _own(make_live_study(), alice)
    client_a.post(reverse("dashboard:edit-spec", args=[study.slug]), {"spec_text": "x = 1"})
    client_a.post(reverse("dashboard:delete", args=[study.slug]), {"confirm": "on"})
    study.refresh_from_db()
    assert study.status == "live" and Study.objects.filter(pk=study.pk).exists()


def test_copy_with_edits_and_delete_a_draft(client_a, alice, make_study):
    study = _own(make_study(slug="original"), alice)
    copy_url = reverse("dashboard:copy", args=[study.slug])
    page = client_a.post(copy_url, {"new_slug": "variant", "edit": "1"})
    source = page.context["form"]["spec_text"].value()
    assert 'slug = "variant"' in source
    response = client_a.post(
        copy_url, {"spec_text": source.replace("target_words = 120", "target_words = 90")}
    )
    assert response.status_code == 302 and response["Location"] == "/dashboard/variant/"
    copy = Study.objects.get(slug="variant")
    assert copy.spec["target_words"] == 90 and copy.copied_from == study
    delete = reverse("dashboard:delete", args=["variant"])
    client_a.post(delete, {})
    assert Study.objects.filter(slug="variant").exists()  # not confirmed
    response = client_a.post(delete, {"confirm": "on"})
    assert response.status_code == 302 and not Study.objects.filter(slug="variant").exists()


def test_settle_leaves_other_states_alone(make_study):
    study = make_study()
    assert study_status_settle(study=study).status == "draft"
