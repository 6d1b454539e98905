"""A researcher in Chromium through a study that cannot run as first written: a spec whose
token budget drops every article is warned about at creation, ends generation as "needs
attention" with the reason, is edited in the form, generated again and launched; then an
excluded judge shows on the Judges page and in the monitor. axe-core checks every dashboard
page on the way (zero violations), and the pages are shot at phone width (390 px) with no
horizontal scroll.

Generation runs the tiny test model in a thread of the live server's process.
"""

from __future__ import annotations

import pytest

from studies.models import Judge, Study
from tests.browser.axe import axe_violations, describe
from tests.browser.conftest import PHONE
from tests.factories import spec_text

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SLUG = "needs-work"


@pytest.fixture
def corpus(db, shared_corpus_path, tmp_path):
    from studies.services.corpora import corpus_import

    lines = shared_corpus_path.read_text(encoding="utf-8").splitlines()[:40]
    path = tmp_path / "news40.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return corpus_import(path=path, name="news").corpus


@pytest.fixture
def close_thread_connections():
    yield
    from django.db import connections

    from studies import queueing

    if queueing._pool is not None:
        queueing._pool.submit(connections.close_all).result(timeout=10)
    connections.close_all()


def _spec(max_new_tokens: int) -> str:
    condition = {"model": "tiny", "candidates": 1, "max_new_tokens": max_new_tokens}
    return spec_text(
        slug=SLUG,
        title="A study that needs work",
        target_words=20,
        judges_per_list=2,
        articles={"count": 4},
        generation={"batch_size": 4, "min_words_ratio": 0.5},
        analysis={"exclude_looked_up": True},
        conditions=[
            {"name": "tiny", "context_articles": 1, "temperature": 0.8, **condition},
            {
                "name": "control",
                "context_articles": 0,
                "temperature": 1.5,
                "control": True,
                **condition,
            },
        ],
    )


def _no_horizontal_scroll(page) -> int:
    return page.evaluate("() => document.documentElement.scrollWidth")


def test_spec_that_drops_every_article_is_mended_and_launched(
    live_server,
    close_thread_connections,
    page,
    browser,
    screenshot,
    corpus,
    tiny_registry,
    settings,
    monkeypatch,
    django_user_model,
):
    from tests.webapp.test_dashboard import _answer_all

    monkeypatch.setenv("NEWSEVAL_MODEL_REGISTRY", str(tiny_registry))
    settings.CELERY_BROKER_URL = ""
    settings.NEWSEVAL_DASHBOARD_POLL_MS = 150
    settings.NEWSEVAL_GENERATION_THREADS = 1
    django_user_model.objects.create_user("rita", password="correct-horse-battery")
    base = live_server.url
    checked: list[str] = []
    violations: dict[str, str] = {}

    def check(label: str) -> None:
        # Collected, not failed at once, so one run lists every page's violations.
        found = axe_violations(page)
        if found:
            violations[label] = describe(found)
        checked.append(label)

    page.goto(f"{base}/dashboard/")
    check("login")
    page.fill("#id_username", "rita")
    page.fill("#id_password", "correct-horse-battery")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/dashboard/")
    check("study list")

    # Written with a token budget that cannot reach the word floor: warned at creation.
    page.goto(f"{base}/dashboard/upload-spec/")
    check("upload a spec")
    page.fill("#id_spec_text", _spec(max_new_tokens=12))
    with page.expect_navigation():
        page.click("main button[type=submit]")
    assert page.url == f"{base}/dashboard/{SLUG}/"
    warnings = page.inner_text(".messages")
    assert "max_new_tokens = 12" in warnings and "are dropped" in warnings
    check("overview, draft")

    # Generation drops every article: the study needs attention, says why and what to do.
    page.click("#start-generation")
    page.wait_for_selector("#attention", timeout=60_000)
    assert Study.objects.get(slug=SLUG).status == "attention"
    assert page.locator("[data-study-status]").inner_text() == "needs attention"
    problems = page.inner_text("#attention")
    assert "Only 0 of 4 articles" in problems and "too short" in problems, problems
    assert "Raise max_new_tokens" in problems
    assert page.locator("#launch-study").count() == 0
    screenshot(page, "states-01-needs-attention")
    check("overview, needs attention")
    page.goto(f"{base}/dashboard/{SLUG}/review/?show=dropped")
    check("texts, dropped")

    # Edit in the form: the tiny model writes no words, so the floor goes; more tokens too.
    page.goto(f"{base}/dashboard/{SLUG}/")
    page.click("#edit-study-attention")
    page.wait_for_selector("#save-study")
    check("edit in the form")
    page.fill("#id_generation_min_words_ratio", "0")
    for i in range(2):
        page.fill(f"#id_cond-{i}-max_new_tokens", "24")
    with page.expect_navigation():
        page.press("#save-study", "Enter")
    assert page.url == f"{base}/dashboard/{SLUG}/"
    assert "max_new_tokens" not in page.inner_text(".messages")
    study = Study.objects.get(slug=SLUG)
    assert study.status == "draft" and study.spec["generation"]["min_words_ratio"] == 0

    # Generate again: ready this time, and launched.
    page.click("#start-generation")
    page.wait_for_selector("#launch-study", timeout=60_000)
    check("overview, ready")
    page.click(".tabs >> text=Preview")
    frame = page.frame_locator("#preview-frame")
    frame.locator("#answer-form button[type=submit]").wait_for()
    page.wait_for_function(
        "() => { const f = document.querySelector('#preview-frame');"
        " return f.getBoundingClientRect().height >="
        " f.contentDocument.documentElement.scrollHeight; }"
    )
    check("preview")
    page.goto(f"{base}/dashboard/{SLUG}/")
    page.check("#confirm-launch")
    if page.locator("#acknowledge-tells").count():  # the tiny model's digits are a form tell
        page.check("#acknowledge-tells")
    page.click("#launch-study")
    page.wait_for_selector("#design-hash")
    study.refresh_from_db()
    assert study.status == "live"
    check("overview, live")

    # Two judges finish; one says they looked things up, which the spec excludes.
    _answer_all(study, judges=2)
    Judge.objects.filter(study=study, external_id="R1").update(closing={"looked_up": "yes"})
    page.goto(f"{base}/dashboard/{SLUG}/judges/")
    excluded = page.locator("tr[data-inclusion=excluded]")
    assert excluded.count() == 1 and "looked things up" in excluded.inner_text()
    assert "R1" in excluded.inner_text()  # the owner sees platform ids
    assert page.locator("tr[data-inclusion=included]").count() == 1
    screenshot(page, "states-02-judges-excluded")
    check("judges")
    page.goto(f"{base}/dashboard/{SLUG}/monitor/")
    page.wait_for_function("document.querySelector('[data-field=excluded]').textContent === '1'")
    check("monitor")
    for tab in ("review", "data", "sharing", "report", "audit"):
        page.goto(f"{base}/dashboard/{SLUG}/{tab}/")
        check(tab)
    for path in ("new/", "power/", "corpora/upload/", f"{SLUG}/copy/", "no-such-study/"):
        page.goto(f"{base}/dashboard/{path}")
        check(path)
    assert page.title().startswith("Not found")

    assert violations == {}, "axe-core violations:\n" + "\n".join(
        f"{label}: {found}" for label, found in violations.items()
    )

    # Phone width: the header and every page fit 390 px.
    phone = browser.new_context(viewport=PHONE, locale="en-US")
    phone.add_cookies(page.context.cookies())
    small = phone.new_page()
    wide = {}
    for name, path in [
        ("list", ""),
        ("overview", f"{SLUG}/"),
        ("judges", f"{SLUG}/judges/"),
        ("monitor", f"{SLUG}/monitor/"),
        ("texts", f"{SLUG}/review/"),
        ("new-study", "new/"),
    ]:
        small.goto(f"{base}/dashboard/{path}")
        width = _no_horizontal_scroll(small)
        if width > PHONE["width"]:
            wide[name] = width
        screenshot(small, f"states-phone-{name}")
    phone.close()
    assert wide == {}, f"pages wider than {PHONE['width']} px: {wide}"
    # (The one 404 is the study that does not exist, asked for on purpose.)
    assert [e for e in page.console_errors if "status of 404" not in e] == []
    assert len(checked) >= 20
