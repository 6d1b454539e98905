"""Smaller mends: no peek logged when there is nothing to see, a proper 404 page under
DEBUG, a tab title per page, and people's words instead of internal names."""

import re

import pytest
from django.urls import reverse

from studies.models import AuditEvent
from studies.selectors.dashboard import params_words
from studies.services.texts import article_drop
from tests.factories import TEST_MODELS, fill_texts
from tests.webapp.test_dashboard import _own
from tests.webapp.test_dashboard import corpus as corpus  # noqa: F401 - 40 articles
from webapp.views.dashboard._shared import TABS


@pytest.fixture(autouse=True)
def _test_models(monkeypatch):
    monkeypatch.setattr("studies.registry.registry_models", lambda: dict(TEST_MODELS))
    monkeypatch.setattr("studies.services.studies._models_or_none", lambda: dict(TEST_MODELS))


@pytest.fixture
def alice(django_user_model):
    return django_user_model.objects.create_user("alice")


@pytest.fixture
def client_a(client, alice):
    client.force_login(alice)
    return client


def test_a_peek_at_a_study_with_no_answers_is_not_logged(client_a, alice, make_live_study):
    study = _own(make_live_study(), alice)
    client_a.post(reverse("dashboard:accuracy", args=[study.slug]), {"confirm": "on"})
    page = client_a.post(reverse("dashboard:report", args=[study.slug]), {"confirm": "on"})
    assert "No answers yet" in page.content.decode()
    actions = set(AuditEvent.objects.filter(study=study).values_list("action", flat=True))
    assert not actions & {"peek", "peek_opt_in", "report", "report_failed"}
    study.refresh_from_db()
    assert not study.peek_allowed


def test_a_study_one_may_not_see_is_a_dashboard_404_even_in_debug(
    client, make_study, django_user_model, settings
):
    settings.DEBUG = True
    make_study(slug="private")
    client.force_login(django_user_model.objects.create_user("mallory"))
    for url in ("/dashboard/private/", "/dashboard/private/judges/", "/dashboard/nothing/"):
        response = client.get(url)
        assert response.status_code == 404
        assert [t.name for t in response.templates][0] == "dashboard/404.html", url
        body = response.content.decode()
        assert "<h1>Not found</h1>" in body and "URLconf" not in body


def test_every_study_page_has_its_own_tab_title(client_a, alice, make_live_study):
    study = _own(make_live_study(), alice)
    titles = set()
    for _, label, url in TABS:
        body = client_a.get(reverse(url, args=[study.slug])).content.decode()
        title = re.search(r"<title>(.*?)</title>", body, re.S).group(1)
        assert title.startswith(label), title
        titles.add(title)
    assert len(titles) == len(TABS)


def test_people_words_not_internal_names(client_a, alice, make_study):
    study = _own(make_study(), alice)
    fill_texts(study)
    sa = study.study_articles.select_related("article").first()
    article_drop(study=study, article=sa.article, kind="excluded", reason="garbled")
    page = client_a.get(reverse("dashboard:study", args=[study.slug])).content.decode()
    assert "Cands" not in page and "Samples per article" in page
    assert ">125M<" in page and "125000000<" not in page
    assert "article excluded" in page and "drop_excluded</strong>" not in page
    assert params_words(134_515_008) == "135M" and params_words(1_300_000_000) == "1.3B"
