"""The judge's whole HTTP flow through Django's test client, for both protocols."""

from __future__ import annotations

import html
import re

import pytest
from django.test import Client, override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from studies.models import EntryAttempt, Judge, JudgeItem, PracticeAnswer
from studies.services.studies import study_transition

TOKEN_RE = re.compile(r'name="item" value="([^"]+)"')
LABELS = [
    "very likely written by a human",
    "more likely written by a human",
    "I don't know",
    "more likely written by a machine",
    "very likely written by a machine",
]


def item_token(response) -> str:
    match = TOKEN_RE.search(response.content.decode())
    assert match, response.content.decode()[:2000]
    return match.group(1)


def take(client: Client, url: str, **params):
    """Open a link as a judge would; on an anonymous link's welcome page, press Begin."""
    response = client.get(url, params, follow=True)
    if 'id="begin-form"' in response.content.decode():
        response = client.post(url, follow=True)
    return response


def answer_payload(protocol: str, token: str, n: int) -> dict:
    if protocol == "single":
        return {"item": token, "rating": str(n % 5 + 1), "visible_ms": "1200", "copies": "1"}
    return {
        "item": token,
        "choice": "left" if n % 2 else "right",
        "confidence": str(n % 5 + 1),
        "visible_ms": "900",
    }


def walk_to_items(client: Client, slug: str, **params):
    response = take(client, f"/take/{slug}/", **params)
    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == f"/take/{slug}/consent/"
    response = client.post(
        f"/take/{slug}/consent/", {"agree": "on", "decision": "agree"}, follow=True
    )
    assert response.redirect_chain[-1][0] == f"/take/{slug}/instructions/"
    return client.post(f"/take/{slug}/instructions/", follow=True)


def final_path(response) -> str:
    return response.request["PATH_INFO"]


def answer_all(client: Client, slug: str, protocol: str, response, log=None):
    n = 0
    while final_path(response) == f"/take/{slug}/item/":
        token = item_token(response)
        response = client.post(
            f"/take/{slug}/item/", answer_payload(protocol, token, n), follow=True
        )
        if log is not None:
            log.append(response)
        n += 1
    return response, n


def finish_closing(client: Client, slug: str, **extra):
    data = {"seen_before": "no", "looked_up": "no", "comments": "<b>nice</b>", **extra}
    return client.post(f"/take/{slug}/closing/", data, follow=True)


def test_single_flow_link(make_live_study, client):
    study = make_live_study(attention_checks={"count": 1, "positions": [3]})
    response = walk_to_items(client, study.slug)
    body = html.unescape(response.content.decode())
    for label in LABELS:
        assert f">{label}</label>" in body
    assert "<fieldset" in body and "<legend>" in body and 'for="rating-1"' in body
    response, answered = answer_all(client, study.slug, "single", response)
    assert answered == 9
    assert response.redirect_chain[-1][0] == f"/take/{study.slug}/closing/"
    response = finish_closing(client, study.slug)
    assert response.redirect_chain[-1][0] == f"/take/{study.slug}/debrief/"
    judge = Judge.objects.get()
    assert judge.status == Judge.Status.COMPLETED and judge.consent_version == "1"
    assert judge.closing["comments"] == "<b>nice</b>" and judge.closing["looked_up"] == "no"
    assert judge.completion_code and judge.completion_code in response.content.decode()
    items = list(judge.items.order_by("position"))
    assert [i.rating for i in items] == [n % 5 + 1 for n in range(9)]
    assert all(i.server_ms is not None and i.visible_ms <= i.server_ms + 5000 for i in items)
    assert all(i.copy_count == 1 for i in items)
    # The debrief tells which texts were machine-written, only now.
    assert "a machine" in response.content.decode()
    assert "&lt;b&gt;" not in response.content.decode()  # comments are never echoed


def test_paired_flow_prolific_with_practice(make_live_study, client):
    study = make_live_study(
        slug="paired-study",
        protocol="paired",
        practice={"enabled": True, "items": 2},
        recruitment={
            "platform": "prolific",
            "completion_code": "C0DE42",
            "completion_url": "https://app.prolific.com/submissions/complete",
            "demographics": ["age", "country"],
        },
    )
    response = take(
        client, f"/take/{study.slug}/", PROLIFIC_PID="pid-1", STUDY_ID="s", SESSION_ID="x"
    )
    assert all("PROLIFIC_PID" not in url for url, _ in response.redirect_chain)
    client.post(f"/take/{study.slug}/consent/", {"agree": "on", "decision": "agree"})
    response = client.post(f"/take/{study.slug}/instructions/", follow=True)
    assert response.redirect_chain[-1][0] == f"/take/{study.slug}/practice/"
    for _ in range(2):
        assert "Practice" in response.content.decode()
        token = item_token(response)
        response = client.post(
            f"/take/{study.slug}/practice/",
            {"item": token, "choice": "left", "confidence": "3"},
            follow=True,
        )
        assert response.redirect_chain[-1][0].endswith("/practice/feedback/")
        assert "was written by a human journalist" in response.content.decode()
        response = client.post(f"/take/{study.slug}/practice/feedback/", follow=True)
    assert PracticeAnswer.objects.count() == 2
    assert not JudgeItem.objects.filter(answered_at__isnull=False).exists()
    assert response.redirect_chain[-1][0] == f"/take/{study.slug}/item/"
    body = response.content.decode()
    assert "Text A" in body and "Text B" in body and 'name="confidence"' in body
    # No completion before the closing answers are committed.
    for page in ("debrief", "finish"):
        early = client.get(f"/take/{study.slug}/{page}/", follow=True)
        assert "C0DE42" not in early.content.decode()
    response, answered = answer_all(client, study.slug, "paired", response)
    assert answered == 8
    early = client.get(f"/take/{study.slug}/finish/", follow=True)
    assert "C0DE42" not in early.content.decode()
    assert early.redirect_chain[-1][0] == f"/take/{study.slug}/closing/"
    bad = client.post(f"/take/{study.slug}/closing/", {"seen_before": "maybe"})
    assert bad.status_code == 400 and Judge.objects.get().status == Judge.Status.ACTIVE
    response = finish_closing(client, study.slug, age="25-34", country="Wales")
    assert "C0DE42" in response.content.decode()
    judge = Judge.objects.get()
    assert judge.closing["demographics"] == {"age": "25-34", "country": "Wales"}
    assert judge.platform == "prolific" and judge.external_id == "pid-1"
    assert judge.platform_meta == {"STUDY_ID": "s", "SESSION_ID": "x"}
    items = judge.items.order_by("position")
    assert all(i.choice in ("left", "right") and i.confidence for i in items)
    done = client.get(f"/take/{study.slug}/finish/")
    assert done.status_code == 302
    assert done["Location"] == "https://app.prolific.com/submissions/complete?cc=C0DE42"


def test_resume_and_reload_keep_the_current_item(make_live_study):
    study = make_live_study(recruitment={"platform": "prolific", "completion_code": "X"})
    first = Client()
    response = walk_to_items(first, study.slug, PROLIFIC_PID="back", STUDY_ID="s", SESSION_ID="1")
    token = item_token(response)
    first.post(f"/take/{study.slug}/item/", answer_payload("single", token, 0))
    response = first.get(f"/take/{study.slug}/item/")
    second_token = item_token(response)
    served = JudgeItem.objects.get(token=second_token).served_at
    assert item_token(first.get(f"/take/{study.slug}/item/")) == second_token  # reload
    # Closing the browser and reopening the link: the browser kept its judge cookie (a
    # persistent one), so the link resumes the same judge and item. Another browser with the
    # same id is refused (tests/webapp/test_hardening.py).
    again = Client()
    again.cookies["newseval_judge"] = first.cookies["newseval_judge"].value
    response = take(
        again, f"/take/{study.slug}/", PROLIFIC_PID="back", STUDY_ID="s", SESSION_ID="2"
    )
    assert response.redirect_chain[-1][0] == f"/take/{study.slug}/item/"
    assert item_token(response) == second_token
    assert Judge.objects.count() == 1
    assert JudgeItem.objects.get(token=second_token).served_at == served
    # The anonymous-looking clean URL with the session routes back too.
    response = take(first, f"/take/{study.slug}/")
    assert item_token(response) == second_token


def test_double_submit_stores_one_answer(make_live_study, client):
    study = make_live_study()
    response = walk_to_items(client, study.slug)
    token = item_token(response)
    one = client.post(f"/take/{study.slug}/item/", {"item": token, "rating": "2"})
    two = client.post(f"/take/{study.slug}/item/", {"item": token, "rating": "5"}, follow=True)
    assert one.status_code == 303
    assert two.status_code == 200
    assert "already recorded" in two.content.decode()
    item = JudgeItem.objects.get(token=token)
    assert item.rating == 2
    assert JudgeItem.objects.filter(answered_at__isnull=False).count() == 1
    # The back button shows the current item, never the old form.
    back = client.get(f"/take/{study.slug}/item/")
    assert item_token(back) != token and back["Cache-Control"] == "no-store"


@pytest.mark.parametrize("protocol", ["single", "paired"])
def test_an_answer_shown_again_keeps_what_the_judge_chose(make_live_study, client, protocol):
    study = make_live_study(protocol=protocol)
    first = walk_to_items(client, study.slug)
    assert " checked" not in first.content.decode()  # a fresh item: nothing chosen
    token = item_token(first)
    data = answer_payload(protocol, token, 3) | {"visible_ms": "-5"}  # refused: bad time
    again = client.post(f"/take/{study.slug}/item/", data)
    assert again.status_code == 400 and item_token(again) == token
    checked = re.findall(
        r'name="(\w+)" id="[^"]+" value="([^"]+)" required checked', again.content.decode()
    )
    chosen = {k: v for k, v in data.items() if k in ("rating", "choice", "confidence")}
    assert dict(checked) == chosen and len(checked) == len(chosen)
    assert JudgeItem.objects.filter(answered_at__isnull=False).count() == 0
    fresh = client.get(f"/take/{study.slug}/item/").content.decode()
    assert " checked" not in fresh  # the cached scale never carries a choice


def test_out_of_order_and_foreign_answers_are_refused(make_live_study):
    study = make_live_study()
    alice, bob = Client(), Client()
    a_first = item_token(walk_to_items(alice, study.slug))
    b_first = item_token(walk_to_items(bob, study.slug))
    judge_a = Judge.objects.get(items__token=a_first)
    later = judge_a.items.get(position=3).token
    response = alice.post(f"/take/{study.slug}/item/", {"item": later, "rating": "1"})
    assert response.status_code == 409
    response = alice.post(f"/take/{study.slug}/item/", {"item": b_first, "rating": "1"})
    assert response.status_code == 409
    response = alice.post(f"/take/{study.slug}/signal/", {"item": b_first, "visible_ms": "500"})
    assert response.status_code == 204  # accepted quietly, but stored nothing
    assert JudgeItem.objects.get(token=b_first).visible_ms == 0
    for bad in (
        {"item": a_first, "rating": "9"},
        {"item": a_first},
        {"item": a_first, "rating": "1", "visible_ms": "-4"},
        {"item": "x" * 500, "rating": "1"},
        {"item": a_first, "choice": "left"},
    ):
        response = alice.post(f"/take/{study.slug}/item/", bad)
        assert response.status_code == 400, bad
    assert not JudgeItem.objects.filter(answered_at__isnull=False).exists()
    # An item page never shows another judge's item.
    assert b_first not in alice.get(f"/take/{study.slug}/item/").content.decode()


def test_signals_add_visible_time_with_a_cap(make_live_study, client):
    study = make_live_study()
    token = item_token(walk_to_items(client, study.slug))
    url = f"/take/{study.slug}/signal/"
    assert (
        client.post(url, {"item": token, "visible_ms": "1500", "tabaways": "1"}).status_code == 204
    )
    assert client.post(url, {"item": token, "visible_ms": "1000", "pastes": "2"}).status_code == 204
    item = JudgeItem.objects.get(token=token)
    assert (item.visible_ms, item.tabaway_count, item.paste_count) == (2500, 1, 2)
    client.post(url, {"item": token, "visible_ms": str(10**7)})
    item.refresh_from_db()
    assert item.visible_ms < 10_000  # not more than the time since serving plus slack
    assert client.post(url, {"item": token, "visible_ms": "abc"}).status_code == 400
    client.post(f"/take/{study.slug}/item/", {"item": token, "rating": "3", "visible_ms": "400"})
    item.refresh_from_db()
    assert item.answered_at and item.visible_ms >= 2500 and item.tabaway_count == 1


def test_mturk_preview_creates_nothing_and_accepted_hit_completes(make_live_study, client):
    study = make_live_study(recruitment={"platform": "mturk"})
    response = client.get(
        f"/take/{study.slug}/",
        {
            "assignmentId": "ASSIGNMENT_ID_NOT_AVAILABLE",
            "hitId": "H1",
            "turkSubmitTo": "https://workersandbox.mturk.com",
        },
    )
    assert response.status_code == 200 and "preview" in response.content.decode()
    assert "X-Frame-Options" not in response and "mturk.com" in response["Content-Security-Policy"]
    assert Judge.objects.count() == 0 and EntryAttempt.objects.count() == 0
    assert "sessionid" not in response.cookies and "newseval_judge" not in response.cookies
    params = {
        "assignmentId": "A1",
        "workerId": "W1",
        "hitId": "H1",
        "turkSubmitTo": "https://workersandbox.mturk.com",
    }
    response = client.get(f"/take/{study.slug}/", params)
    launch = re.search(r'href="(/take/[^"]+/launch/[^"]+/)"', response.content.decode()).group(1)
    tab = Client()  # the task's own tab
    response = tab.get(launch, follow=True)
    assert response.redirect_chain[-1][0] == f"/take/{study.slug}/consent/"
    tab.post(f"/take/{study.slug}/consent/", {"agree": "on", "decision": "agree"})
    response = tab.post(f"/take/{study.slug}/instructions/", follow=True)
    response, _ = answer_all(tab, study.slug, "single", response)
    finish_closing(tab, study.slug)
    response = tab.get(f"/take/{study.slug}/finish/")
    body = response.content.decode()
    assert 'action="https://workersandbox.mturk.com/mturk/externalSubmit"' in body
    assert 'name="assignmentId" value="A1"' in body and 'data-autosubmit="1"' in body
    assert Judge.objects.get().external_id == "W1"
    # The worker returns the HIT and accepts it again: completion goes to the new assignment.
    client.get(f"/take/{study.slug}/", {**params, "assignmentId": "A2"})
    assert Judge.objects.get().platform_meta["assignmentId"] == "A2"
    assert 'value="A2"' in tab.get(f"/take/{study.slug}/finish/").content.decode()
    # A forged submit host is refused at entry.
    evil = client.get(
        f"/take/{study.slug}/", {**params, "workerId": "W2", "turkSubmitTo": "https://evil.example"}
    )
    assert evil.status_code == 400


def test_entry_rate_limit(make_live_study, settings):
    settings.NEWSEVAL_ENTRY_RATE = "2/m"
    study = make_live_study(recruitment={"platform": "prolific", "completion_code": "X"})
    # Keyed by the client's address: new ids from one address share the limit.
    codes = [
        Client().get(f"/take/{study.slug}/", {"PROLIFIC_PID": f"p{n}"}).status_code
        for n in range(3)
    ]
    assert codes == [302, 302, 429]
    other = Client(REMOTE_ADDR="10.1.2.3")
    assert other.get(f"/take/{study.slug}/", {"PROLIFIC_PID": "p9"}).status_code == 302
    settings.NEWSEVAL_ENTRY_RATE = ""
    assert Client().get(f"/take/{study.slug}/", {"PROLIFIC_PID": "p3"}).status_code == 302


def test_paused_full_unknown_and_platform_mismatch(make_live_study):
    study = make_live_study(judges_per_list=1)
    welcome = Client().get(f"/take/{study.slug}/")  # a link preview or a crawler
    assert welcome.status_code == 200 and 'id="begin-form"' in welcome.content.decode()
    assert Judge.objects.count() == 0
    judges = [Client() for _ in range(4)]
    for c in judges:
        assert take(c, f"/take/{study.slug}/").status_code == 200
    late = take(Client(), f"/take/{study.slug}/")
    assert "This study is full" in late.content.decode()
    study_transition(study=study, action="pause")
    paused = take(judges[0], f"/take/{study.slug}/consent/")
    assert paused.status_code == 503 and "paused" in paused.content.decode()
    assert take(Client(), f"/take/{study.slug}/").status_code == 503
    assert Client().get("/take/no-such-study/").status_code == 404
    other = make_live_study(
        slug="prolific-only", recruitment={"platform": "prolific", "completion_code": "X"}
    )
    assert Client().get(f"/take/{other.slug}/").status_code == 400
    assert Client().get(f"/take/{other.slug}/", {"PROLIFIC_PID": "<script>"}).status_code == 400


def test_decline_consent_withdraws(make_live_study, client):
    study = make_live_study()
    take(client, f"/take/{study.slug}/")
    response = client.post(f"/take/{study.slug}/consent/", {"decision": "decline"}, follow=True)
    assert "not taking part" in response.content.decode()
    assert Judge.objects.get().status == Judge.Status.WITHDRAWN
    refused = client.post(f"/take/{study.slug}/consent/", {"decision": "agree"})
    assert refused.status_code == 200 and Judge.objects.get().consent_version == ""


def test_csrf_is_enforced(make_live_study):
    study = make_live_study()
    client = Client(enforce_csrf_checks=True)
    client.get(f"/take/{study.slug}/")
    assert client.post(f"/take/{study.slug}/").status_code == 403
    assert Judge.objects.count() == 0
    csrf = client.cookies["csrftoken"].value
    assert client.post(f"/take/{study.slug}/", {"csrfmiddlewaretoken": csrf}).status_code == 302
    response = client.post(f"/take/{study.slug}/consent/", {"agree": "on", "decision": "agree"})
    assert response.status_code == 403
    assert Judge.objects.get().stage == "consent"


@pytest.mark.parametrize("protocol", ["single", "paired"])
def test_attention_items_look_like_ordinary_items(make_live_study, client, protocol):
    study = make_live_study(protocol=protocol, attention_checks={"count": 1, "positions": [1]})
    response = walk_to_items(client, study.slug)
    body = response.content.decode()
    assert "Attention check" in body  # the first item is the check
    assert "expected" not in body and "attention" not in body.lower().replace("attention check", "")


def test_simulated_judges_are_marked_by_a_researcher_token(make_live_study, django_user_model):
    from studies.services.tokens import token_create

    study = make_live_study()
    owner = django_user_model.objects.create_user("owner", password="x")
    study.owner = owner
    study.save(update_fields=["owner"])
    stranger = django_user_model.objects.create_user("stranger", password="x")
    key = token_create(user=owner)
    sim = Client(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert sim.post(f"/take/{study.slug}/").status_code == 302
    assert Judge.objects.get().simulated is True
    bad = Client(HTTP_AUTHORIZATION=f"Bearer {token_create(user=stranger)}")
    assert bad.post(f"/take/{study.slug}/").status_code == 403
    assert Client().post(f"/take/{study.slug}/?simulated=1").status_code == 302
    assert Judge.objects.filter(simulated=False).count() == 1  # a URL flag does nothing


def test_a_judge_back_after_expiry_resumes_or_finds_the_study_full(make_live_study, client):
    import datetime as dt

    from django.utils import timezone

    study = make_live_study(judges_per_list=1)
    token = item_token(walk_to_items(client, study.slug))
    judge = Judge.objects.get(items__token=token)
    Judge.objects.filter(pk=judge.pk).update(last_seen_at=timezone.now() - dt.timedelta(days=1))
    assert item_token(client.get(f"/take/{study.slug}/item/")) == token  # resumed
    judge.refresh_from_db()
    assert judge.status == Judge.Status.ACTIVE
    Judge.objects.filter(pk=judge.pk).update(last_seen_at=timezone.now() - dt.timedelta(days=1))
    for _ in range(4):  # the expired judge's slot is given to one of these
        take(Client(), f"/take/{study.slug}/")
    judge.refresh_from_db()
    assert judge.status == Judge.Status.EXPIRED
    Judge.objects.exclude(pk=judge.pk).filter(study_list=judge.study_list).update(
        status=Judge.Status.COMPLETED
    )
    response = client.get(f"/take/{study.slug}/item/")
    assert "This study is full" in response.content.decode()
    judge.refresh_from_db()
    assert judge.status == Judge.Status.FULL and "partial_after_expiry" in judge.flags


FUZZ_FIELDS = [
    "item",
    "rating",
    "choice",
    "confidence",
    "visible_ms",
    "pastes",
    "copies",
    "tabaways",
    "agree",
    "decision",
    "seen_before",
    "looked_up",
    "comments",
    "age",
]
FUZZ_VALUES = (
    st.text(max_size=60)
    | st.integers(min_value=-(10**20), max_value=10**20).map(str)
    | st.sampled_from(["1", "5", "left", "right", "agree", "decline", "yes", "no", "", "\x00"])
)


@override_settings(NEWSEVAL_ENTRY_RATE="")
@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    page=st.sampled_from(
        [
            "",
            "consent/",
            "instructions/",
            "practice/",
            "item/",
            "item/",
            "signal/",
            "closing/",
            "finish/",
        ]
    ),
    data=st.dictionaries(st.sampled_from(FUZZ_FIELDS), FUZZ_VALUES, max_size=8),
)
def test_fuzzed_posts_never_fail_or_store_garbage(make_live_study, page, data):
    from studies.models import Study

    if not Study.objects.filter(slug="fuzz").exists():  # once for all examples
        make_live_study(slug="fuzz", protocol="paired", judges_per_list=1000)
    client = Client()
    walk_to_items(client, "fuzz")
    response = client.post(f"/take/fuzz/{page}", data)
    assert response.status_code < 500
    for item in JudgeItem.objects.filter(answered_at__isnull=False):
        assert item.choice in ("left", "right") and 1 <= item.confidence <= 5
        assert item.rating is None and item.server_ms is not None


@pytest.mark.django_db(transaction=True)
def test_concurrent_double_submit_stores_one_answer(make_live_study):
    import threading

    from django.db import connection

    study = make_live_study()
    first = Client()
    token = item_token(walk_to_items(first, study.slug))
    clients = [first] + [Client() for _ in range(5)]
    for c in clients[1:]:  # the same browser session, six requests at once
        c.cookies["newseval_judge"] = first.cookies["newseval_judge"].value
    barrier, codes = threading.Barrier(len(clients)), []

    def post(c: Client, rating: int) -> None:
        try:
            barrier.wait()
            codes.append(
                c.post(
                    f"/take/{study.slug}/item/", {"item": token, "rating": str(rating)}
                ).status_code
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=(c, r % 5 + 1)) for r, c in enumerate(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(codes) == [302] * 5 + [303]  # one stored, five told it was already in
    assert JudgeItem.objects.filter(answered_at__isnull=False).count() == 1
