"""A judge who reloads the browser at every step, and goes back after every answer:
the page returns to the same step, and every answer is stored once."""

import pytest

from studies.models import Judge, JudgeItem

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def reload_and_check(page, expected_path: str) -> None:
    page.reload()
    assert page.url.endswith(expected_path), f"reload moved {expected_path} to {page.url}"


def test_reload_at_every_step(page, live_server, make_live_study):
    study = make_live_study(slug="reloads", attention_checks={"count": 1, "positions": [3]})
    page.goto(f"{live_server.url}/take/{study.slug}/")
    reload_and_check(page, f"/take/{study.slug}/")
    with page.expect_navigation():
        page.click("#begin-form button")
    reload_and_check(page, "/consent/")
    page.check("#consent-agree")
    with page.expect_navigation():
        page.click("button[value=agree]")
    reload_and_check(page, "/instructions/")
    with page.expect_navigation():
        page.click("form button[type=submit]")
    judge = Judge.objects.get(study=study)
    total = JudgeItem.objects.filter(judge=judge).count()
    for n in range(total):
        token = page.locator('input[name="item"]').get_attribute("value")
        reload_and_check(page, "/item/")
        assert page.locator('input[name="item"]').get_attribute("value") == token
        page.get_by_role("radio", name="I don't know", exact=True).check()
        with page.expect_navigation():
            page.click("#submit-answer")
        page.go_back()  # the back button shows the current step, not the old form
        assert page.locator('input[name="item"]').count() == 0 or (
            page.locator('input[name="item"]').get_attribute("value") != token
        )
        reload_and_check(page, "/closing/" if n == total - 1 else "/item/")
    answered = JudgeItem.objects.filter(judge=judge, answered_at__isnull=False)
    assert answered.count() == total
    assert set(answered.values_list("rating", flat=True)) == {3}
    for question in ("Had you seen any", "Did you look anything up"):
        page.get_by_role("group", name=question).get_by_label("No", exact=True).check()
    with page.expect_navigation():
        page.click("form.closing button[type=submit]")
    reload_and_check(page, "/debrief/")
    judge.refresh_from_db()
    assert judge.status == Judge.Status.COMPLETED
