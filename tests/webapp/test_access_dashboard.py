"""Who can reach the researcher's pages: owners, shared researchers and staff only.

Another researcher gets a 404 on every study URL (pages, JSON endpoints, exports and
every action), and nothing changes in the database; anonymous users and judges are sent
to the login page.
"""

import pytest
from django.urls import reverse

from studies.access import access_study_by_user, studies_for_user
from studies.models import AuditEvent, Judge, Study
from studies.services.assignment import judge_enter

GET_URLS = [
    ("dashboard:study", {}),
    ("dashboard:spec", {}),
    ("dashboard:progress-json", {}),
    ("dashboard:review", {}),
    ("dashboard:preview", {}),
    ("dashboard:preview-frame", {}),
    ("dashboard:design-json", {}),
    ("dashboard:monitor", {}),
    ("dashboard:monitor-json", {}),
    ("dashboard:exports", {}),
    ("dashboard:export-zip", {}),
    ("dashboard:judges", {}),
    ("dashboard:sharing", {}),
    ("dashboard:report", {}),
    ("dashboard:audit", {}),
    ("dashboard:copy", {}),
    *[
        ("dashboard:export-file", {"filename": f})
        for f in ("responses.csv", "items.csv", "judges.csv", "study.json")
    ],
]
POST_URLS = [
    ("dashboard:copy", {"new_slug": "stolen"}),
    ("dashboard:generate", {}),
    ("dashboard:exclude", {"article": "x", "reason": "because"}),
    ("dashboard:launch", {"confirm": "on"}),
    ("dashboard:pause", {}),
    ("dashboard:resume", {}),
    ("dashboard:close", {"confirm": "on"}),
    ("dashboard:accuracy", {"confirm": "on"}),
    ("dashboard:export-payments", {"confirm": "on"}),
    ("dashboard:judges", {"judge": "x", "confirm": "on"}),
    ("dashboard:sharing", {"username": "mallory"}),
    ("dashboard:report", {"confirm": "on"}),
    ("dashboard:preview-frame", {}),
    ("dashboard:edit-spec", {"spec_text": "slug = 'x'"}),
    ("dashboard:delete", {"confirm": "on"}),
    ("dashboard:restore", {"article": "x", "reason": "because"}),
    ("dashboard:generate-cancel", {}),
]
INDEX_URLS = [
    "dashboard:index",
    "dashboard:study-new",
    "dashboard:study-upload",
    "dashboard:corpus-upload",
    "dashboard:power",
]


@pytest.fixture
def corpus(db, shared_corpus_path, tmp_path):
    """Overrides the shared fixture: a 40-article slice of the shared corpus, as 'news'."""
    from studies.services.corpora import corpus_import

    lines = shared_corpus_path.read_text(encoding="utf-8").splitlines()[:40]
    path = tmp_path / "news40.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return corpus_import(path=path, name="news").corpus


def _url(name, slug, extra):
    kwargs = {"slug": slug}
    if "filename" in extra:
        kwargs["filename"] = extra["filename"]
    return reverse(name, kwargs=kwargs)


@pytest.fixture
def users(django_user_model):
    # No passwords: hashing them would be most of the setup time; tests force_login.
    make = django_user_model.objects.create_user
    return {
        "alice": make("alice"),
        "bob": make("bob"),
        "mallory": make("mallory"),
        "staff": make("staff", is_staff=True),
    }


@pytest.fixture
def alices_study(make_live_study, users):
    study = make_live_study()
    study.owner = users["alice"]
    study.save(update_fields=["owner"])
    study.shared_with.add(users["bob"])
    judge_enter(study_id=study.pk, platform="prolific", external_id="PID-1")
    return study


def _snapshot(study):
    study.refresh_from_db()
    return (
        study.status,
        study.peek_allowed,
        AuditEvent.objects.filter(study=study).count(),
        Judge.objects.filter(study=study).count(),
        study.shared_with.count(),
        Study.objects.count(),
    )


def test_another_researcher_gets_404_everywhere_and_changes_nothing(client, alices_study, users):
    client.force_login(users["mallory"])
    before = _snapshot(alices_study)
    for name, extra in GET_URLS:
        response = client.get(_url(name, alices_study.slug, extra))
        assert response.status_code == 404, (name, response.status_code)
    for name, data in POST_URLS:
        response = client.post(_url(name, alices_study.slug, data), data)
        assert response.status_code == 404, (name, response.status_code)
    for name in ("dashboard:edit", "dashboard:edit-spec"):  # a live study's: redirects its owner
        assert client.get(_url(name, alices_study.slug, {})).status_code == 404, name
    assert _snapshot(alices_study) == before
    index = client.get(reverse("dashboard:index"))
    assert index.status_code == 200
    assert alices_study.slug not in index.content.decode()


@pytest.mark.parametrize("who", ["anonymous", "judge"])
def test_anonymous_and_judges_are_sent_to_login(client, alices_study, who):
    if who == "judge":
        # A real judge session, made by the judge's own entry link.
        response = client.get(
            f"/take/{alices_study.slug}/?PROLIFIC_PID=PID-9&STUDY_ID=s&SESSION_ID=x"
        )
        assert response.status_code in (200, 302, 303)
        assert client.cookies.get("newseval_judge"), "the judge entry should have set its cookie"
    before = _snapshot(alices_study)
    for name in INDEX_URLS:
        response = client.get(reverse(name))
        assert response.status_code == 302 and response["Location"].startswith(
            "/accounts/login/?next="
        ), name
    for name, extra in GET_URLS:
        url = _url(name, alices_study.slug, extra)
        response = client.get(url)
        assert response.status_code == 302, (name, response.status_code)
        assert response["Location"].startswith("/accounts/login/?next="), name
    for name, data in POST_URLS:
        response = client.post(_url(name, alices_study.slug, data), data)
        assert response.status_code == 302, (name, response.status_code)
        assert response["Location"].startswith("/accounts/login/"), name
    assert _snapshot(alices_study) == before


def test_owner_shared_and_staff_can_read(client, alices_study, users):
    for who in ("alice", "bob", "staff"):
        client.force_login(users[who])
        for name, extra in GET_URLS:
            response = client.get(_url(name, alices_study.slug, extra))
            assert response.status_code == 200, (who, name, response.status_code)


def test_payments_and_sharing_are_owner_only(client, alices_study, users):
    client.force_login(users["bob"])
    response = client.post(
        reverse("dashboard:export-payments", args=[alices_study.slug]), {"confirm": "on"}
    )
    assert response.status_code == 404
    response = client.post(
        reverse("dashboard:sharing", args=[alices_study.slug]), {"username": "mallory"}
    )
    assert response.status_code == 404
    client.force_login(users["alice"])
    response = client.post(
        reverse("dashboard:export-payments", args=[alices_study.slug]), {"confirm": "on"}
    )
    assert response.status_code == 200
    assert "PID-1" in response.content.decode()
    assert AuditEvent.objects.filter(
        study=alices_study, action="export", detail__payments=True
    ).exists()


def test_access_helpers(alices_study, users):
    from django.contrib.auth.models import AnonymousUser
    from django.http import Http404

    assert list(studies_for_user(AnonymousUser())) == []
    assert access_study_by_user(users["bob"], alices_study.slug, write=True) == alices_study
    assert access_study_by_user(users["staff"], alices_study.slug, owner=True) == alices_study
    for user, kwargs in [
        (users["mallory"], {}),
        (users["bob"], {"owner": True}),
        (AnonymousUser(), {}),
    ]:
        with pytest.raises(Http404):
            access_study_by_user(user, alices_study.slug, **kwargs)
    users["alice"].is_active = False
    users["alice"].save()
    with pytest.raises(Http404):
        access_study_by_user(users["alice"], alices_study.slug)
