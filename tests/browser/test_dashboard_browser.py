"""The researcher's whole path in a real browser: log in, create a study from the form,
generate its texts on the tiny test model while the progress bar moves, review, preview,
launch, watch judges come in, close and download the exports.

Screenshots go to ``test-artifacts/screenshots/``. Generation runs in a thread of the
live server's process (no broker), as on a zero-setup install.
"""

from __future__ import annotations

import csv
import io
import time
import zipfile
from pathlib import Path

import pytest

from studies.models import GenerationJob, Study

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

BATCH_DELAY_S = 0.15  # per stored batch, so a human-speed poll sees the bar move


@pytest.fixture(scope="session")
def tiny_registry_file(tmp_path_factory):
    from generator.testing import make_tiny_model, tiny_registry_toml

    folder = make_tiny_model(tmp_path_factory.mktemp("tiny") / "model")
    path = tmp_path_factory.mktemp("registry") / "models.toml"
    path.write_text(tiny_registry_toml(folder, name="tiny"), encoding="utf-8")
    return path


@pytest.fixture
def corpus(db, shared_corpus_path, tmp_path):
    """A 40-article slice of the shared corpus, as 'news'."""
    from studies.services.corpora import corpus_import

    lines = shared_corpus_path.read_text(encoding="utf-8").splitlines()[:40]
    path = tmp_path / "news40.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return corpus_import(path=path, name="news").corpus


@pytest.fixture
def close_thread_connections():
    """The generation thread keeps a database connection, and so does the test's own
    context while Playwright runs; close both so the test database can be dropped."""
    yield
    from django.db import connections

    from studies import queueing

    if queueing._pool is not None:
        queueing._pool.submit(connections.close_all).result(timeout=10)
    connections.close_all()


def _stored_done(slug: str) -> int:
    """Texts stored, plus those finished in the batch being written (counted as they end)."""
    return sum(
        job.done_units + (job.batch_texts_done if job.state == "running" else 0)
        for job in GenerationJob.objects.filter(study__slug=slug)
    )


def test_researcher_runs_a_study_in_the_browser(
    live_server,
    close_thread_connections,
    page,
    screenshot,
    corpus,
    tiny_registry_file,
    settings,
    monkeypatch,
    django_user_model,
):
    import generator
    from studies.services.assignment import judge_enter

    monkeypatch.setenv("NEWSEVAL_MODEL_REGISTRY", str(tiny_registry_file))
    settings.CELERY_BROKER_URL = ""  # generation in a thread of the live server's process
    settings.NEWSEVAL_DASHBOARD_POLL_MS = 100
    settings.NEWSEVAL_GENERATION_THREADS = 1  # a tiny model gains nothing from more
    real_run_batch = generator.run_batch

    def slow_run_batch(*args, **kwargs):
        out = real_run_batch(*args, **kwargs)
        time.sleep(BATCH_DELAY_S)
        return out

    monkeypatch.setattr(generator, "run_batch", slow_run_batch)
    django_user_model.objects.create_user("alice", password="correct-horse-battery")
    base = live_server.url

    def _shot(pg, name):
        screenshot(pg, f"dashboard-{name}")

    slug = "browser-study"

    # Log in: any dashboard URL sends an anonymous visitor to the login page first.
    page.goto(f"{base}/dashboard/")
    assert "/accounts/login/" in page.url
    _shot(page, "01-login")
    page.fill("#id_username", "alice")
    page.fill("#id_password", "correct-horse-battery")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/dashboard/")

    # Create the study from the form. A first try with mistakes lists every problem.
    page.click("text=New study")
    page.click("#add-condition")  # a third, left empty: ignored, as an absent table would be
    assert page.input_value("#id_cond-TOTAL_FORMS") == "3"
    assert page.locator("#id_cond-2-name").count() == 1
    page.fill("#id_slug", "Not A Slug")
    page.fill("#id_title", "Tiny model in the browser")
    page.fill("#id_target_words", "5")
    page.fill("#id_articles_count", "4")
    page.fill("#id_judges_per_list", "2")
    page.fill("#id_generation_batch_size", "1")
    page.fill("#id_generation_min_words_ratio", "0")
    for i, (name, context, temp) in enumerate([("tiny", "1", "0.8"), ("control", "0", "1.5")]):
        page.fill(f"#id_cond-{i}-name", name)
        page.select_option(f"#id_cond-{i}-model", "tiny")
        page.fill(f"#id_cond-{i}-context_articles", context)
        page.fill(f"#id_cond-{i}-temperature", temp)
        page.fill(f"#id_cond-{i}-candidates", "1")
        page.fill(f"#id_cond-{i}-max_new_tokens", "24")
    _shot(page, "02-new-study-form")
    with page.expect_navigation():
        # The keyboard, not the mouse: after a full-page shot of this long form, headless
        # Chromium's mouse clicks land at stale coordinates.
        page.press("#create-study", "Enter")
    problems = page.inner_text("[data-problems]")
    assert (
        "slug: use 2-79 lowercase" in problems and "target_words: must be at least 20" in problems
    )
    _shot(page, "02b-new-study-problems")
    page.fill("#id_slug", slug)
    page.fill("#id_target_words", "20")
    with page.expect_navigation():
        page.press("#create-study", "Enter")
    if page.url != f"{base}/dashboard/{slug}/":
        _shot(page, "02-new-study-refused")
        problems = page.locator("[data-problems], .errorlist, .notice").all_inner_texts()
        pytest.fail(f"the study form was refused: {problems}")
    study = Study.objects.get(slug=slug)
    assert study.owner.username == "alice" and study.status == "draft"
    assert [c.name for c in study.conditions.order_by("position")] == ["tiny", "control"]

    # Generate: the bar shows values read from the database while batches are stored.
    page.click("#start-generation")
    page.wait_for_selector("#generation[data-poll-kind=progress]")
    total = 2 * 4 * 1  # conditions x articles x candidates, one per batch
    seen: list[int] = []
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline:
        try:
            done = int(page.get_attribute("#generation", "data-done", timeout=2000) or 0)
            shown_total = int(page.get_attribute("#generation", "data-total", timeout=2000) or 0)
        except Exception:  # noqa: BLE001 - the page reloads when generation ends
            done, shown_total = -1, 0
        if 0 < done < total and done not in seen:
            assert shown_total == total
            stored = _stored_done(slug)
            assert done <= stored, (done, stored)  # the bar never runs ahead of the rows
            text = page.inner_text("#generation .progress-line")
            assert f"{done} / {total}" in text
            seen.append(done)
            if len(seen) == 2:
                _shot(page, "03-generation-progress")
        if page.locator("#launch-study").count():
            break
        page.wait_for_timeout(40)
    assert len(seen) >= 2, f"intermediate progress values seen: {seen}"
    assert seen == sorted(seen)
    page.wait_for_selector("#launch-study", timeout=30_000)
    study.refresh_from_db()
    assert study.status == "ready"
    assert all(
        j.done_units == j.total_units == 4 for j in GenerationJob.objects.filter(study=study)
    )
    _shot(page, "04-generated-ready")

    # Review and preview.
    page.click(".tabs >> text=Texts")
    page.wait_for_selector(".review-article")
    assert page.locator(".side-by-side").count() >= 2
    _shot(page, "05-review")
    page.click(".tabs >> text=Preview")
    frame = page.frame_locator("#preview-frame")
    frame.locator("#answer-form").wait_for()
    page.wait_for_timeout(200)
    _shot(page, "06-preview")

    # Launch: the design hash is shown.
    page.click(".tabs >> text=Overview")
    page.check("#confirm-launch")
    # The tiny model writes digits the human texts here lack: the form audit may gate launch.
    if page.locator("#acknowledge-tells").count():
        page.check("#acknowledge-tells")
    page.click("#launch-study")
    page.wait_for_selector("#design-hash")
    study.refresh_from_db()
    assert study.status == "live"
    assert page.inner_text("#design-hash").strip() == study.design_hash
    _shot(page, "07-launched")

    # Judges arrive; the monitor counts them without a reload.
    page.click(".tabs >> text=Monitor")
    page.wait_for_selector("#monitor")
    assert page.inner_text("[data-field=started] >> nth=0").strip() == "0"
    for pid in ("P1", "P2", "P3"):
        judge_enter(study_id=study.pk, platform="prolific", external_id=pid)
    page.wait_for_function(
        "document.querySelector('#monitor').getAttribute('data-started') === '3'"
    )
    assert page.inner_text("[data-field=started] >> nth=0").strip() == "3"
    assert page.locator("tbody[data-lists] tr").count() == study.lists.count()
    _shot(page, "08-monitor")

    # Close, then download the exports.
    page.click(".tabs >> text=Overview")
    page.check("#confirm-close")
    page.click("#close-study")
    page.wait_for_selector(".badge.closed")
    study.refresh_from_db()
    assert study.status == "closed"
    page.click(".tabs >> text=Data")
    with page.expect_download() as info:
        page.click("[data-export='responses.csv']")
    header = Path(info.value.path()).read_text(encoding="utf-8").splitlines()[0]
    assert header.startswith("study,condition,params,judge,list,article,item,is_machine")
    with page.expect_download() as info:
        page.click("[data-export='zip']")
    archive = zipfile.ZipFile(info.value.path())
    names = sorted(n.split("/")[-1] for n in archive.namelist())
    assert names == ["items.csv", "judges.csv", "responses.csv", "study.json"]
    judges = list(csv.DictReader(io.StringIO(archive.read(f"{slug}/judges.csv").decode())))
    assert len(judges) == 3 and not any("P1" in str(row) for row in judges)
    page.reload()
    _shot(page, "09-data")
    page.click(".tabs >> text=Judges")
    assert page.locator("tbody tr").count() == 3
    _shot(page, "09b-judges")
    page.click(".tabs >> text=Audit log")
    _shot(page, "10-audit-log")
    page.click("text=Studies >> nth=0")
    _shot(page, "11-study-list")
    page.goto(f"{base}/dashboard/power/")
    page.fill("#id_accuracy", "0.6")
    page.fill("#id_judges_per_list", "5, 20")
    page.fill("#id_n_sims", "40")
    page.click("#plan-power")
    page.wait_for_selector("#power-state")
    from studies.models import PowerPlanRun
    from studies.services.power import power_run_execute

    # The simulation is a background job; the test plays the worker.
    power_run_execute(run_id=PowerPlanRun.objects.latest("id").id)
    page.reload()
    page.wait_for_selector("#power-grid")
    _shot(page, "12-power-planner")
    from studies.models import AuditEvent

    actions = set(AuditEvent.objects.filter(study=study).values_list("action", flat=True))
    assert {"create", "generate", "launch", "close", "export"} <= actions

    # Everything came from this server (no CDN), and no page logged an error.
    assert all(url.startswith(base) or url.startswith("data:") for url in page.requested)
    # (The one 400 is the refused study form, which answers 400 on purpose.)
    assert [e for e in page.console_errors if "status of 400" not in e] == []
