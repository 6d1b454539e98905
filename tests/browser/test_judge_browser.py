"""A judge takes a whole single study and a whole paired study in headless Chromium."""

from __future__ import annotations

import pytest
from django.db.models import F, Value
from django.db.models.functions import Concat

from studies.models import Judge, JudgeItem, PracticeAnswer, Text
from tests.browser.axe import assert_accessible
from tests.browser.conftest import DESKTOP, PHONE

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def item_token(page) -> str:
    return page.locator('input[name="item"]').get_attribute("value")


def submit(page, selector: str = "#submit-answer", double: bool = False) -> None:
    with page.expect_navigation():
        if double:
            page.dblclick(selector)
        else:
            page.click(selector)


def start(page, live_server, slug: str, shot, prefix: str, query: str = "") -> None:
    page.goto(f"{live_server.url}/take/{slug}/{query}")
    if page.locator("#begin-form").count():  # an anonymous link's welcome page
        shot(page, f"{prefix}-00-welcome")
        submit(page, "#begin-form button")
    assert page.url == f"{live_server.url}/take/{slug}/consent/", "ids leave the URL"
    shot(page, f"{prefix}-01-consent")
    assert_accessible(page, f"{prefix} consent")
    page.check("#consent-agree")
    submit(page, "button[value=agree]")
    assert page.url.endswith("/instructions/")
    shot(page, f"{prefix}-02-instructions")
    assert_accessible(page, f"{prefix} instructions")
    submit(page, "form button[type=submit]")


def closing_and_debrief(page, shot, prefix: str) -> None:
    assert page.url.endswith("/closing/")
    for question in ("Had you seen any", "Did you look anything up"):
        page.get_by_role("group", name=question).get_by_label("No", exact=True).check()
    page.fill("textarea[name=comments]", "Hard to tell. <script>alert(1)</script>")
    shot(page, f"{prefix}-06-closing")
    assert_accessible(page, f"{prefix} closing")
    submit(page, "form.closing button[type=submit]")
    assert page.url.endswith("/debrief/")
    shot(page, f"{prefix}-07-debrief")
    assert_accessible(page, f"{prefix} debrief")


def check_clean(page, live_server) -> None:
    assert not page.console_errors, page.console_errors
    outside = [u for u in page.requested if not u.startswith(live_server.url)]
    assert not outside, f"requests left the app: {outside}"


def test_single_study_in_a_browser(page, live_server, make_live_study, screenshot):
    study = make_live_study(
        slug="browser-single",
        attention_checks={"count": 1, "positions": [5]},
        recruitment={"platform": "link", "estimated_minutes": 15},
    )
    markup = '\n\n<script>window.pwned = 1</script><img src="x" onerror="window.pwned = 2">'
    Text.objects.filter(study=study).update(body=Concat(F("body"), Value(markup)))
    start(page, live_server, study.slug, screenshot, "single")
    n, seen = 0, []
    while page.url.endswith("/item/"):
        token = item_token(page)
        assert token not in seen
        seen.append(token)
        if n == 0:
            assert (
                page.get_by_role("radio", name="very likely written by a human", exact=True).count()
                == 1
            )
            if "Attention" not in page.inner_text("h1"):
                assert "<script>window.pwned = 1</script>" in page.inner_text(".body")
                assert page.evaluate("typeof window.pwned") == "undefined", "markup stays inert"
            screenshot(page, "single-03-item")
            assert_accessible(page, "single item")
        if n == 2:
            page.wait_for_timeout(700)
            page.reload()  # the same item again, its visible time kept
            assert item_token(page) == token
        if n == 3:
            # Keyboard only: the key 2 picks the second answer (hinted beside it), Enter sends.
            assert page.locator('label[for="rating-2"] kbd').inner_text() == "2"
            page.keyboard.press("2")
            assert (
                page.is_checked("#rating-2")
                and page.evaluate("document.activeElement.id") == "rating-2"
            )
            screenshot(page, "single-04-item-keyboard", full_page=False)
            with page.expect_navigation():
                page.keyboard.press("Enter")
            n += 1
            continue
        if n == 4:  # another window takes the focus, and text is copied
            page.evaluate(
                "window.dispatchEvent(new Event('blur'));"
                "document.dispatchEvent(new Event('copy'));"
                "window.dispatchEvent(new Event('focus'));"
            )
        page.get_by_role("radio", name="more likely written by a machine", exact=True).check()
        page.wait_for_timeout(120)
        submit(page, double=(n == 1))
        n += 1
    closing_and_debrief(page, screenshot, "single")
    assert "machine" in page.inner_text(".reveal")
    page.set_viewport_size(PHONE)
    screenshot(page, "single-08-debrief-phone")
    check_clean(page, live_server)

    judge = Judge.objects.get(study=study)
    items = list(judge.items.order_by("position"))
    assert n == len(items) == 9 and judge.status == Judge.Status.COMPLETED
    assert [i.token for i in items] == seen
    assert [i.rating for i in items] == [4, 4, 4, 2, 4, 4, 4, 4, 4]
    assert all(i.answered_at and i.server_ms is not None for i in items)
    assert items[2].visible_ms >= 600, "visible time before the reload was kept"
    assert items[2].server_ms >= 700
    assert all(0 < i.visible_ms <= i.server_ms + 5000 for i in items)
    assert [(i.tabaway_count, i.copy_count) for i in items] == [(0, 0)] * 4 + [(1, 1)] + [
        (0, 0)
    ] * 4, "a reload or a submit is not a tab-away"
    assert judge.closing["comments"].startswith("Hard to tell.")


def test_paired_study_in_a_browser(page, live_server, make_live_study, screenshot):
    study = make_live_study(
        slug="browser-paired",
        protocol="paired",
        practice={"enabled": True, "items": 2},
        recruitment={
            "platform": "prolific",
            "completion_code": "PAIR-OK",
            "completion_url": "https://app.prolific.com/submissions/complete",
            "redirect_seconds": 3,
            "demographics": ["age", "news_reading"],
        },
    )
    returned = []

    def prolific(route):
        returned.append(route.request.url)
        route.fulfill(status=200, content_type="text/html", body="<p>Prolific</p>")

    page.context.route("https://app.prolific.com/**", prolific)
    start(
        page,
        live_server,
        study.slug,
        screenshot,
        "paired",
        query="?PROLIFIC_PID=browser1&STUDY_ID=s&SESSION_ID=x",
    )
    for k in range(2):
        assert page.url.endswith("/practice/")
        if k == 0:
            screenshot(page, "paired-02b-practice")
        page.get_by_role("radio", name="Text A", exact=True).check()
        page.get_by_role("radio", name="4", exact=True).check()
        submit(page)
        assert page.url.endswith("/practice/feedback/")
        if k == 0:
            screenshot(page, "paired-02c-practice-feedback")
        submit(page, "form button[type=submit]")
    n = 0
    while page.url.endswith("/item/"):
        token = item_token(page)
        if n == 0:
            assert page.locator(".pair .news").count() == 2
            screenshot(page, "paired-03-item")
            assert_accessible(page, "paired item")
            page.set_viewport_size(PHONE)
            boxes = [page.locator(".pair .news").nth(i).bounding_box() for i in range(2)]
            assert boxes[1]["y"] > boxes[0]["y"] + boxes[0]["height"] - 1, "stacked on a phone"
            screenshot(page, "paired-04-item-phone")
            page.set_viewport_size(DESKTOP)
        if n == 3:
            page.wait_for_timeout(500)
            page.reload()
            assert item_token(page) == token
        if n == 1:  # keys: B for the text, 5 for the confidence
            page.keyboard.press("b")
            page.keyboard.press("5")
        else:
            page.get_by_role("radio", name="Text B" if n % 2 else "Text A", exact=True).check()
            page.get_by_role("radio", name="5 - certain", exact=True).check()
        page.wait_for_timeout(100)
        submit(page, double=(n == 2))
        n += 1
    for question in ("Had you seen any", "Did you look anything up"):
        page.get_by_role("group", name=question).get_by_label("No", exact=True).check()
    with page.expect_navigation(url="https://app.prolific.com/**", timeout=20_000):
        submit(page, "form.closing button[type=submit]")
        assert page.url.endswith("/debrief/")
        assert "PAIR-OK" in page.inner_text("#completion-code"), "the code is shown as well"
        assert page.is_visible("#return-stay")
        screenshot(page, "paired-07-debrief-return")
    assert returned == ["https://app.prolific.com/submissions/complete?cc=PAIR-OK"]
    page.context.unroute("https://app.prolific.com/**")
    page.requested[:] = [u for u in page.requested if "app.prolific.com" not in u]
    check_clean(page, live_server)

    judge = Judge.objects.get(study=study)
    items = list(judge.items.order_by("position"))
    assert n == len(items) == 8
    assert [i.choice for i in items] == ["right" if k % 2 else "left" for k in range(8)]
    assert all(i.confidence == 5 and i.server_ms is not None for i in items)
    assert items[3].visible_ms >= 400
    assert PracticeAnswer.objects.filter(judge=judge).count() == 2
    assert JudgeItem.objects.filter(judge=judge, answered_at__isnull=True).count() == 0
    assert judge.completion_code == "PAIR-OK" and judge.external_id == "browser1"


def test_mturk_task_opens_in_its_own_tab_and_submits_the_hit(
    page, live_server, make_live_study, screenshot
):
    study = make_live_study(slug="browser-mturk", recruitment={"platform": "mturk"})
    submitted = []

    def mturk(route):
        submitted.append(route.request.post_data or "")
        route.fulfill(status=200, content_type="text/html", body="<p>HIT submitted</p>")

    page.context.route("https://workersandbox.mturk.com/**", mturk)
    page.goto(
        f"{live_server.url}/take/{study.slug}/?assignmentId=ASSIGNMENT_ID_NOT_AVAILABLE"
        "&hitId=H1&turkSubmitTo=https%3A%2F%2Fworkersandbox.mturk.com"
    )
    screenshot(page, "mturk-01-preview")
    assert "preview" in page.inner_text("main") and Judge.objects.count() == 0
    page.goto(
        f"{live_server.url}/take/{study.slug}/?assignmentId=A9&workerId=W9&hitId=H1"
        "&turkSubmitTo=https%3A%2F%2Fworkersandbox.mturk.com"
    )
    screenshot(page, "mturk-02-launch")
    with page.context.expect_page() as opened:
        page.click("a[target=_blank]")
    tab = opened.value
    tab.wait_for_load_state()
    assert tab.url.endswith(f"/take/{study.slug}/consent/")
    tab.check("#consent-agree")
    submit(tab, "button[value=agree]")
    submit(tab, "form button[type=submit]")
    while tab.url.endswith("/item/"):
        tab.get_by_role("radio", name="I don't know", exact=True).check()
        submit(tab)
    for question in ("Had you seen any", "Did you look anything up"):
        tab.get_by_role("group", name=question).get_by_label("No", exact=True).check()
    submit(tab, "form.closing button[type=submit]")
    with tab.expect_navigation(url="https://workersandbox.mturk.com/**"):
        tab.click("text=Submit the task to Mechanical Turk")
    assert submitted and "assignmentId=A9" in submitted[0]
    judge = Judge.objects.get()
    assert judge.status == Judge.Status.COMPLETED and judge.external_id == "W9"
    assert all(i.rating == 3 for i in judge.items.all())


def test_a_study_in_chinese(page, live_server, make_live_study, screenshot):
    """zh-hans from the spec, whatever the browser's language; keys answer; axe on each page."""
    study = make_live_study(
        slug="browser-zh",
        language="zh_Hans",
        items_per_judge=4,
        texts={"researcher_contact": "王老师 <wang@example.org>", "ethics_approval": "IRB-9"},
        closing_questions=[
            {"name": "device", "kind": "choice", "prompt": "设备？", "options": ["手机", "电脑"]}
        ],
    )
    page.goto(f"{live_server.url}/take/{study.slug}/")
    assert page.get_attribute("html", "lang") == "zh-hans"
    assert "欢迎" in page.inner_text("h1")
    assert_accessible(page, "zh welcome")
    submit(page, "#begin-form button")
    assert "研究说明与知情同意" in page.inner_text("h1") and "IRB-9" in page.inner_text("main")
    screenshot(page, "zh-01-consent")
    assert_accessible(page, "zh consent")
    page.check("#consent-agree")
    submit(page, "button[value=agree]")
    assert_accessible(page, "zh instructions")
    submit(page, "form button[type=submit]")
    n = 0
    while page.url.endswith("/item/"):
        if n == 0:
            assert page.get_by_role("radio", name="很可能由人撰写", exact=True).count() == 1
            screenshot(page, "zh-02-item")
            assert_accessible(page, "zh item")
        page.keyboard.press(str(n % 5 + 1))
        with page.expect_navigation():
            page.keyboard.press("Enter")
        n += 1
    assert n == 4
    page.check("input[name=seen_before][value=no]")
    page.check("input[name=looked_up][value=no]")
    page.get_by_role("radio", name="电脑", exact=True).check()
    assert_accessible(page, "zh closing")
    submit(page, "form.closing button[type=submit]")
    assert page.url.endswith("/debrief/") and "谢谢" in page.inner_text("h1")
    screenshot(page, "zh-03-debrief")
    assert_accessible(page, "zh debrief")
    check_clean(page, live_server)
    judge = Judge.objects.get(study=study)
    assert [i.rating for i in judge.items.order_by("position")] == [1, 2, 3, 4]
    assert judge.closing["questions"] == {"device": "电脑"}


def test_test_mode_before_launch_then_a_judge_who_declines(
    page, live_server, make_study, screenshot, django_user_model, browser
):
    """The owner tries the study before launch (a banner on every page, axe-clean); after
    launch a Prolific judge declines consent and sees the declined code, redirect stoppable."""
    from studies.services.studies import study_launch
    from tests.factories import fill_texts

    owner = django_user_model.objects.create_user("olga", password="pw-olga-123")
    study = make_study(
        slug="browser-test-mode",
        items_per_judge=2,
        recruitment={
            "platform": "prolific",
            "completion_code": "OK1",
            "declined_code": "NO-THANKS",
            "declined_url": "https://app.prolific.com/submissions/complete",
            "redirect_seconds": 30,
        },
    )
    study.owner = owner
    study.save(update_fields=["owner"])
    fill_texts(study)
    page.goto(f"{live_server.url}/accounts/login/?next=/dashboard/{study.slug}/")
    page.fill("#id_username", "olga")
    page.fill("#id_password", "pw-olga-123")
    with page.expect_navigation():
        page.click("button[type=submit]")
    assert "PROLIFIC_PID={{%PROLIFIC_PID%}}" in page.inner_text("#link-prolific")
    submit(page, "#test-run")
    assert page.url.endswith("/consent/") and page.is_visible(".test-banner")
    screenshot(page, "test-mode-01-consent")
    assert_accessible(page, "test-mode consent")
    page.check("#consent-agree")
    submit(page, "button[value=agree]")
    submit(page, "form button[type=submit]")
    while page.url.endswith("/item/"):
        assert page.is_visible(".test-banner")
        page.keyboard.press("3")
        with page.expect_navigation():
            page.keyboard.press("Enter")
    page.check("input[name=seen_before][value=no]")
    page.check("input[name=looked_up][value=no]")
    submit(page, "form.closing button[type=submit]")
    assert page.url.endswith("/debrief/") and page.is_visible(".test-banner")
    assert_accessible(page, "test-mode debrief")
    assert Judge.objects.get(study=study).test

    study_launch(study=study)
    assert not Judge.objects.filter(study=study).exists(), "test runs go at launch"
    judge_page = browser.new_context(viewport=PHONE, locale="es-ES").new_page()
    judge_page.goto(f"{live_server.url}/take/{study.slug}/?PROLIFIC_PID=d1&STUDY_ID=s&SESSION_ID=x")
    with judge_page.expect_navigation():
        judge_page.click("button[value=decline]")
    assert "NO-THANKS" in judge_page.inner_text("#completion-code")
    assert not judge_page.is_visible(".test-banner")
    assert judge_page.is_visible("#return-note")
    judge_page.click("#return-stay")  # the countdown stops; the link stays
    assert not judge_page.is_visible("#return-stay") and not judge_page.is_visible("#return-note")
    assert judge_page.get_attribute("#return-now", "href").endswith("?cc=NO-THANKS")
    screenshot(judge_page, "declined-01-phone")
    assert_accessible(judge_page, "declined")
    judge_page.context.close()
    assert Judge.objects.get(study=study).status == Judge.Status.WITHDRAWN
