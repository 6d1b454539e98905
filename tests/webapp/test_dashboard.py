"""The researcher's dashboard through whole HTTP requests: pages, forms, actions, JSON.

The studies use the first 40 articles of the shared corpus (enough for the factories'
8-article specs) so each test's setup stays well under a second.
"""

import csv
import hashlib
import io
import json
import re
import tomllib
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from studies.models import AuditEvent, GenerationJob, Judge, JudgeItem, Study, StudyArticle
from studies.services.assignment import judge_enter
from studies.services.studies import canonical_hash
from tests.factories import TEST_MODELS, fill_texts


@pytest.fixture
def corpus(db, shared_corpus_path, tmp_path):
    """Overrides the shared fixture: a 40-article slice of the shared corpus, as 'news'."""
    from studies.services.corpora import corpus_import

    lines = shared_corpus_path.read_text(encoding="utf-8").splitlines()[:40]
    path = tmp_path / "news40.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return corpus_import(path=path, name="news").corpus


@pytest.fixture(autouse=True)
def _test_models(monkeypatch):
    # The form and spec upload validate model names against the registry; use the
    # factories' test models (no weights needed for anything here).
    monkeypatch.setattr("studies.registry.registry_models", lambda: dict(TEST_MODELS))
    monkeypatch.setattr("studies.services.studies._models_or_none", lambda: dict(TEST_MODELS))


@pytest.fixture
def alice(django_user_model):
    return django_user_model.objects.create_user("alice", password="pw-alice-123")


@pytest.fixture
def client_a(client, alice):
    client.force_login(alice)
    return client


def _own(study, user):
    study.owner = user
    study.save(update_fields=["owner"])
    return study


def _form_data(**overrides):
    data = {
        "slug": "from-form",
        "title": "From the form",
        "corpus": "news",
        "protocol": "single",
        "design": "between",
        "seed": "11",
        "target_words": "120",
        "items_per_judge": "0",
        "judges_per_list": "3",
        "expiry_minutes": "90",
        "articles_count": "8",
        "recruitment_platform": "link",
        "analysis_alpha": "0.05",
        "analysis_exclude_failed_attention": "on",
        "generation_batch_size": "4",
        "cond-TOTAL_FORMS": "2",
        "cond-INITIAL_FORMS": "0",
        "cond-MIN_NUM_FORMS": "1",
        "cond-MAX_NUM_FORMS": "1000",
        "cond-0-name": "small",
        "cond-0-model": "model-small",
        "cond-0-context_articles": "1",
        "cond-0-prompt_format": "plain",
        "cond-0-temperature": "0.7",
        "cond-0-candidates": "2",
        "cond-1-name": "control",
        "cond-1-model": "model-bad",
        "cond-1-context_articles": "0",
        "cond-1-prompt_format": "plain",
        "cond-1-temperature": "1.2",
        "cond-1-candidates": "2",
        "cond-1-control": "on",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_login_page_and_redirect_to_dashboard(client, alice):
    page = client.get("/accounts/login/")
    assert page.status_code == 200 and b"Researcher log in" in page.content
    response = client.post("/accounts/login/", {"username": "alice", "password": "pw-alice-123"})
    assert response.status_code == 302 and response["Location"] == "/dashboard/"
    assert client.get("/dashboard/").status_code == 200


def test_create_study_from_form(client_a, alice, corpus):
    assert client_a.get(reverse("dashboard:study-new")).status_code == 200
    response = client_a.post(reverse("dashboard:study-new"), _form_data())
    assert response.status_code == 302, response.content.decode()[:3000]
    study = Study.objects.get(slug="from-form")
    assert response["Location"] == f"/dashboard/{study.slug}/"
    assert study.owner == alice and study.status == "draft"
    assert study.spec["target_words"] == 120 and study.spec["seed"] == 11
    assert study.spec["generation"]["batch_size"] == 4
    assert study.spec["articles"]["count"] == 8
    assert [c.name for c in study.conditions.order_by("position")] == ["small", "control"]
    assert study.conditions.get(name="control").is_control
    # Left empty, a field takes the spec's default; the stored spec file says what was set.
    assert study.spec["expiry_minutes"] == 90 and study.spec["practice"]["items"] == 2
    raw = tomllib.loads(study.spec_source)
    assert raw["slug"] == "from-form" and raw["conditions"][1]["control"] is True
    spec = client_a.get(reverse("dashboard:spec", args=[study.slug]))
    assert spec.status_code == 200 and "attachment" in spec["Content-Disposition"]
    assert tomllib.loads(spec.content.decode())["title"] == "From the form"


def test_form_lists_every_problem_at_once(client_a, corpus):
    data = _form_data(
        **{
            "slug": "Bad Slug",
            "target_words": "5",
            "cond-0-model": "no-such-model",
            "cond-0-top_p": "0",
            "cond-0-control": "on",
            "analysis_alpha": "0.9",
            "attention_count": "2",
            "attention_positions": "1",
        }
    )
    response = client_a.post(reverse("dashboard:study-new"), data)
    assert response.status_code == 400
    page = response.content.decode()
    for expected in (
        "slug: use 2-79 lowercase",
        "target_words: must be at least 20",
        "is not in the model registry",
        "top_p: must be in (0.0, 1.0]",
        "[analysis].alpha",
        "[attention_checks].positions: 1 positions for count = 2",
    ):
        assert expected.replace("'", "&#x27;") in page or expected in page, expected
    assert not Study.objects.exists()
    marked = set(re.findall(r'class="field has-problem[^"]*">\s*<label for="id_([\w-]+)"', page))
    assert {
        "slug",
        "target_words",
        "cond-0-model",
        "cond-0-top_p",
        "analysis_alpha",
        "attention_positions",
    } <= marked
    # A type error is caught by the form itself, and the spec's problems still show.
    response = client_a.post(
        reverse("dashboard:study-new"), _form_data(seed="seven", target_words="5")
    )
    assert response.status_code == 400
    assert b"Enter a whole number" in response.content
    assert b"target_words: must be at least 20" in response.content


def test_form_refuses_duplicate_slug_and_control_twice(client_a, corpus, make_study):
    make_study(slug="taken")
    response = client_a.post(
        reverse("dashboard:study-new"), _form_data(slug="taken", **{"cond-0-control": "on"})
    )
    assert response.status_code == 400
    assert b"at most one condition can be the control" in response.content
    response = client_a.post(reverse("dashboard:study-new"), _form_data(slug="taken"))
    assert response.status_code == 400 and b"exists already" in response.content


def test_upload_spec_file(client_a, alice, corpus):
    from tests.factories import spec_text

    bad = SimpleUploadedFile("s.toml", b'slug = "x y"\nprotocol = "triple"\n')
    response = client_a.post(reverse("dashboard:study-upload"), {"spec_file": bad})
    assert response.status_code == 400
    page = response.content.decode()
    assert "protocol: must be one of single, paired" in page and "title: required" in page
    good = SimpleUploadedFile("s.toml", spec_text(slug="uploaded").encode())
    response = client_a.post(reverse("dashboard:study-upload"), {"spec_file": good})
    assert response.status_code == 302
    study = Study.objects.get(slug="uploaded")
    assert study.owner == alice and study.spec_source == spec_text(slug="uploaded")


def test_corpus_upload_lists_every_problem_and_imports_nothing(client_a):
    lines = [
        json.dumps({"id": "a", "title": "T", "subtitle": "S.", "body": "S. Body text."}),
        "{broken json",
        json.dumps({"id": "a", "title": "T2", "subtitle": "S.", "body": "S. Other."}),
        json.dumps({"id": "c", "title": "", "body": "S. Body."}),
    ]
    upload = SimpleUploadedFile("mine.jsonl", "\n".join(lines).encode())
    response = client_a.post(reverse("dashboard:corpus-upload"), {"name": "mine", "file": upload})
    assert response.status_code == 400
    page = response.content.decode()
    assert "mine.jsonl:2:" in page
    assert "mine.jsonl:3: field &#x27;id&#x27;: duplicate id" in page
    assert "mine.jsonl:4: field &#x27;title&#x27;" in page
    assert "/uploads/" not in page  # the kept path is not shown, the uploaded name is
    from studies.models import Article, Corpus

    assert not Article.objects.filter(corpus__name="mine").exists()
    assert not Corpus.objects.filter(name="mine", articles__isnull=False).exists()
    good = SimpleUploadedFile("mine.jsonl", lines[0].encode())
    response = client_a.post(
        reverse("dashboard:corpus-upload"), {"name": "mine", "file": good}, follow=True
    )
    assert b"1 articles added" in response.content
    assert Article.objects.filter(corpus__name="mine").count() == 1
    wrong = SimpleUploadedFile("mine.txt", b"x")
    response = client_a.post(reverse("dashboard:corpus-upload"), {"name": "m", "file": wrong})
    assert response.status_code == 400 and b"use a .jsonl or .csv file" in response.content


def test_generation_button_progress_json_and_resume(client_a, alice, make_study, settings):
    settings.CELERY_BROKER_URL = "memory://"  # queued, never run: the rows are the truth
    study = _own(make_study(), alice)
    page = client_a.get(reverse("dashboard:study", args=[study.slug]))
    assert b'id="start-generation"' in page.content
    response = client_a.post(reverse("dashboard:generate", args=[study.slug]))
    assert response.status_code == 302
    study.refresh_from_db()
    assert study.status == "generating"
    assert AuditEvent.objects.filter(study=study, action="generate", actor=alice).exists()
    jobs = list(GenerationJob.objects.filter(study=study).order_by("condition__position"))
    assert [j.state for j in jobs] == ["queued", "queued"]
    # Two batches of the first job stored, the second job failed after one.
    GenerationJob.objects.filter(pk=jobs[0].pk).update(
        state="running",
        total_units=40,
        done_units=16,
        total_batches=5,
        done_batches=2,
        new_tokens=3200,
        seconds=8.0,
    )
    GenerationJob.objects.filter(pk=jobs[1].pk).update(
        state="failed",
        total_units=40,
        done_units=8,
        total_batches=5,
        done_batches=1,
        new_tokens=800,
        seconds=4.0,
        error="RuntimeError: CUDA out of memory",
    )
    data = client_a.get(reverse("dashboard:progress-json", args=[study.slug])).json()
    assert (data["done"], data["total"]) == (24, 80)
    assert data["texts_per_minute"] == 120.0  # 24 texts in 12 s of batches
    assert data["tokens_per_second"] == pytest.approx(333.3, abs=0.1)
    assert data["seconds_left"] == 28  # 56 left at 2 per second
    assert data["failed"] and data["jobs"][1]["error"] == "RuntimeError: CUDA out of memory"
    page = client_a.get(reverse("dashboard:study", args=[study.slug])).content.decode()
    assert "RuntimeError: CUDA out of memory" in page and 'id="resume-generation"' in page
    assert 'data-poll-url="/dashboard/' in page  # the bar keeps polling after a reload
    client_a.post(reverse("dashboard:generate", args=[study.slug]))
    jobs[1].refresh_from_db()
    assert jobs[1].state == "queued" and jobs[1].error == "" and jobs[1].done_units == 8
    # A worker that died leaves its job "running" without a heartbeat: shown as stalled,
    # with the Resume button, and resumable.
    GenerationJob.objects.filter(pk=jobs[0].pk).update(heartbeat_at="2000-01-01T00:00:00Z")
    data = client_a.get(reverse("dashboard:progress-json", args=[study.slug])).json()
    assert data["jobs"][0]["state"] == "stalled" and data["failed"]
    assert "no sign of life since 2000-01-01" in data["jobs"][0]["error"]
    client_a.post(reverse("dashboard:generate", args=[study.slug]))
    jobs[0].refresh_from_db()
    assert jobs[0].state == "queued"


def test_review_exclusion_needs_reason_and_is_logged(client_a, alice, make_study):
    study = _own(make_study(), alice)
    fill_texts(study)
    page = client_a.get(reverse("dashboard:review", args=[study.slug]))
    assert page.status_code == 200
    sa = study.study_articles.select_related("article").order_by("position").first()
    assert sa.article.title.encode()[:20] in page.content or b"Human original" in page.content
    url = reverse("dashboard:exclude", args=[study.slug])
    client_a.post(url, {"article": sa.article.key, "reason": "  "})
    sa.refresh_from_db()
    assert not sa.dropped
    client_a.post(url, {"article": sa.article.key, "reason": "garbled encoding in output"})
    sa.refresh_from_db()
    assert sa.dropped and sa.drop_kind == "excluded"
    assert sa.drop_reason == "garbled encoding in output"
    event = AuditEvent.objects.get(study=study, action="drop_excluded")
    assert event.actor == alice and event.detail["article"] == sa.article.key
    other = client_a.post(url, {"article": "not-in-study", "reason": "a reason here"})
    assert other.status_code == 302
    assert StudyArticle.objects.filter(study=study, dropped=True).count() == 1


def test_preview_uses_judge_template_and_records_nothing(client_a, alice, make_study):
    study = _own(make_study(attention_checks={"count": 1}), alice)
    fill_texts(study)
    page = client_a.get(reverse("dashboard:preview", args=[study.slug]))
    assert page.status_code == 200 and b"answers are not recorded" in page.content
    frame = client_a.get(reverse("dashboard:preview-frame", args=[study.slug]) + "?item=0")
    assert frame.status_code == 200
    assert b'id="answer-form"' in frame.content and b"Who wrote this article?" in frame.content
    assert "frame-ancestors 'self'" in frame["Content-Security-Policy"]
    assert "connect-src 'none'" in frame["Content-Security-Policy"]
    last = client_a.get(reverse("dashboard:preview-frame", args=[study.slug]) + "?item=99")
    assert b"Attention check" in last.content
    before = AuditEvent.objects.count()
    posted = client_a.post(
        reverse("dashboard:preview-frame", args=[study.slug]) + "?item=0",
        {"rating": "5", "item": "preview-0"},
    )
    assert posted.status_code == 303 and posted["Location"].endswith("?item=1")
    assert AuditEvent.objects.count() == before and not JudgeItem.objects.exists()


def test_preview_of_a_paired_study_shows_both_texts(client_a, alice, make_study):
    study = _own(make_study(slug="paired", protocol="paired"), alice)
    fill_texts(study)
    frame = client_a.get(reverse("dashboard:preview-frame", args=[study.slug]) + "?item=1")
    page = frame.content.decode()
    assert "Which text did a human write?" in page
    assert page.count('class="news side"') == 2


def test_launch_pause_resume_close_monitor_peek_and_exports(client_a, alice, make_study):
    study = _own(make_study(), alice)
    fill_texts(study)
    url = reverse("dashboard:launch", args=[study.slug])
    client_a.post(url, {})  # no confirmation: nothing happens
    study.refresh_from_db()
    assert study.status == "ready"
    client_a.post(url, {"confirm": "on"})
    study.refresh_from_db()
    assert study.status == "live" and study.design_hash
    page = client_a.get(reverse("dashboard:study", args=[study.slug])).content.decode()
    assert study.design_hash in page
    design = client_a.get(reverse("dashboard:design-json", args=[study.slug]))
    record = json.loads(design.content)
    # While the study runs, the record commits to the design and its secret but withholds
    # the lists, the kinds and the secret itself.
    assert record["design_hash"] == study.design_hash and "design" not in record
    assert "secret" not in record and study.secret not in design.content.decode()
    assert record["secret_sha256"] == hashlib.sha256(study.secret.encode()).hexdigest()
    assert "is_machine" not in design.content.decode()
    assert {lst["name"] for lst in record["public"]["lists"]} == set(
        study.lists.values_list("name", flat=True)
    )

    # Judges come in; the monitor counts them, per condition and list.
    first = judge_enter(study_id=study.pk, platform="prolific", external_id="P1").judge
    judge_enter(study_id=study.pk, platform="prolific", external_id="P2")
    Judge.objects.filter(pk=first.pk).update(status="completed")
    for item in first.items.select_related("entry__text"):
        machine = item.entry.text.is_machine if item.entry.text_id else True
        item.rating = 5 if machine else 1
        item.server_ms = 4000
        item.answered_at = item.judge.started_at
        item.save()
    numbers = client_a.get(reverse("dashboard:monitor-json", args=[study.slug])).json()
    assert numbers["totals"]["started"] == 2 and numbers["totals"]["completed"] == 1
    assert numbers["totals"]["median_ms_per_item"] == 4000
    assert sum(c["started"] for c in numbers["conditions"]) == 2
    assert "accuracy" not in json.dumps(numbers).replace("accuracy_visible", "")
    assert numbers["accuracy_visible"] is False
    monitor = client_a.get(reverse("dashboard:monitor", args=[study.slug])).content.decode()
    assert "Hidden until the study is closed" in monitor and "Mean accuracy" not in monitor

    # Peeking needs an explicit opt-in, and every look is logged.
    peek = reverse("dashboard:accuracy", args=[study.slug])
    client_a.post(peek, {})
    assert not AuditEvent.objects.filter(study=study, action="peek").exists()
    shown = client_a.post(peek, {"confirm": "on"}).content.decode()
    assert "Mean accuracy" in shown and "1.000" in shown
    client_a.post(peek, {"confirm": "on"})
    study.refresh_from_db()
    assert study.peek_allowed
    assert AuditEvent.objects.filter(study=study, action="peek", actor=alice).count() == 2
    assert AuditEvent.objects.filter(study=study, action="peek_opt_in").count() == 1

    for action, status in (("pause", "paused"), ("resume", "live")):
        client_a.post(reverse(f"dashboard:{action}", args=[study.slug]))
        study.refresh_from_db()
        assert study.status == status
    client_a.post(reverse("dashboard:close", args=[study.slug]), {})
    study.refresh_from_db()
    assert study.status == "live"  # closing needs the box ticked
    client_a.post(reverse("dashboard:close", args=[study.slug]), {"confirm": "on"})
    study.refresh_from_db()
    assert study.status == "closed"
    actions = list(
        AuditEvent.objects.filter(study=study, actor=alice).values_list("action", flat=True)
    )
    for action in ("launch", "pause", "resume", "close"):
        assert action in actions
    closed = client_a.get(reverse("dashboard:monitor", args=[study.slug])).content.decode()
    assert "Mean accuracy" in closed
    # Once closed, the full record and the secret are revealed and match the commitments.
    full = json.loads(client_a.get(reverse("dashboard:design-json", args=[study.slug])).content)
    assert full["design_hash"] == study.design_hash == canonical_hash(full["design"])
    assert hashlib.sha256(full["secret"].encode()).hexdigest() == record["secret_sha256"]

    # Exports: every download audited; the zip holds them all.
    before = AuditEvent.objects.filter(study=study, action="export").count()
    responses = client_a.get(reverse("dashboard:export-file", args=[study.slug, "responses.csv"]))
    header = next(csv.reader(io.StringIO(responses.content.decode())))
    assert header[:3] == ["study", "condition", "params"]
    rows = list(csv.DictReader(io.StringIO(responses.content.decode())))
    assert len(rows) == first.items.count()
    archive = zipfile.ZipFile(
        io.BytesIO(client_a.get(reverse("dashboard:export-zip", args=[study.slug])).content)
    )
    assert sorted(n.split("/")[-1] for n in archive.namelist()) == [
        "items.csv",
        "judges.csv",
        "responses.csv",
        "study.json",
    ]
    assert "P1" not in archive.read(f"{study.slug}/responses.csv").decode()
    # payments.csv is never a plain link: only a confirmed POST by the owner gets it.
    assert client_a.get(f"/dashboard/{study.slug}/data/payments.csv").status_code == 405
    assert AuditEvent.objects.filter(study=study, action="export").count() == before + 2

    # Withdrawal deletes the judge's data from the exports.
    client_a.post(
        reverse("dashboard:judges", args=[study.slug]), {"judge": first.pseudonym, "confirm": "on"}
    )
    assert not Judge.objects.filter(pk=first.pk).exists()
    responses = client_a.get(
        reverse("dashboard:export-file", args=[study.slug, "responses.csv"])
    ).content.decode()
    assert first.pseudonym not in responses
    assert AuditEvent.objects.filter(study=study, action="withdraw").exists()


def test_sharing_by_username(client, alice, make_study, django_user_model):
    bob = django_user_model.objects.create_user("bob")
    study = _own(make_study(), alice)
    client.force_login(bob)
    assert client.get(reverse("dashboard:study", args=[study.slug])).status_code == 404
    client.force_login(alice)
    response = client.post(
        reverse("dashboard:sharing", args=[study.slug]), {"username": "nobody"}, follow=True
    )
    assert b"no active researcher called" in response.content
    client.post(reverse("dashboard:sharing", args=[study.slug]), {"username": "bob"})
    assert list(study.shared_with.all()) == [bob]
    assert AuditEvent.objects.filter(study=study, action="share").exists()
    client.force_login(bob)
    assert client.get(reverse("dashboard:study", args=[study.slug])).status_code == 200
    assert study.slug.encode() in client.get(reverse("dashboard:index")).content
    client.force_login(alice)
    client.post(reverse("dashboard:sharing", args=[study.slug]), {"remove": str(bob.pk)})
    client.force_login(bob)
    assert client.get(reverse("dashboard:study", args=[study.slug])).status_code == 404


def _answer_all(study, judges=4):
    """Judges who answer every item (machine texts rated 5, human 1, some unsure)."""
    from django.utils import timezone

    for n in range(judges):
        judge = judge_enter(study_id=study.pk, platform="prolific", external_id=f"R{n}").judge
        for i, item in enumerate(judge.items.select_related("entry__text")):
            machine = item.entry.text.is_machine if item.entry.text_id else True
            item.rating = 3 if (i + n) % 5 == 0 else (5 if machine else 1)
            if (i * 7 + n) % 4 == 0:
                item.rating = 6 - item.rating
            item.server_ms, item.answered_at = 3000 + 100 * i, timezone.now()
            item.save()
        Judge.objects.filter(pk=judge.pk).update(status="completed", completed_at=timezone.now())


def test_report_needs_a_logged_peek_before_close(client_a, alice, make_live_study, monkeypatch):
    import functools

    from studies.services import reports

    # Fewer bootstrap resamples: this is about the page, not the statistics.
    monkeypatch.setattr(reports, "study_report", functools.partial(reports.study_report, n_boot=50))
    study = _own(make_live_study(), alice)
    _answer_all(study)
    url = reverse("dashboard:report", args=[study.slug])
    assert client_a.get(url).status_code == 200
    refused = client_a.post(url, {})
    assert refused.status_code == 302
    assert not AuditEvent.objects.filter(study=study, action="peek").exists()
    bundle = client_a.post(url, {"confirm": "on", "download": "zip"})
    assert bundle.status_code == 200 and bundle["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(bundle.content))
    names = archive.namelist()
    assert f"{study.slug}-report/results.json" in names
    report = archive.read(f"{study.slug}-report/report.html").decode()
    assert study.design_hash in report
    assert AuditEvent.objects.filter(study=study, action="peek", actor=alice).count() == 1
    study.refresh_from_db()
    assert study.peek_allowed


_PLAN = {
    "condition": "model",
    "test": "t",
    "accuracy": "0.55",
    "control_accuracy": "0.86",
    "sd_judge": "0.3",
    "sd_article": "0.3",
    "articles": "10",
    "margin": "0.05",
    "judges_per_list": "5, 20",
    "target": "0.8",
    "alpha": "0.05",
    "n_sims": "40",
}


def test_power_planner_runs_as_a_background_job(client_a, alice, settings):
    from studies.models import PowerPlanRun
    from studies.services.power import power_run_execute

    settings.CELERY_BROKER_URL = "memory://"  # queued, never run: the row is the truth
    url = reverse("dashboard:power")
    assert client_a.get(url).status_code == 200
    response = client_a.post(url, _PLAN)
    run = PowerPlanRun.objects.get(owner=alice)
    assert response.status_code == 302 and response["Location"].endswith(f"/power/{run.id}/")
    assert run.state == "queued" and run.result is None  # nothing simulated in the request
    page = client_a.get(response["Location"]).content.decode()
    assert "queued" in page and 'http-equiv="refresh"' in page
    from django.test import Client

    assert Client().get(response["Location"]).status_code == 302  # login required
    power_run_execute(run_id=run.id)
    run.refresh_from_db()
    assert run.state == "done", run.error
    page = client_a.get(response["Location"]).content.decode()
    assert 'id="power-grid"' in page and "judges per list" in page
    assert "equivalence of model to chance" in page and "refresh" not in page
    bad = client_a.post(url, {**_PLAN, "accuracy": "2", "judges_per_list": "x"})
    assert bad.status_code == 400 and b"errorlist" in bad.content
    assert PowerPlanRun.objects.count() == 1


def test_power_planner_asks_for_a_condition_of_the_chosen_study(
    client_a, alice, make_live_study, settings
):
    from studies.models import PowerPlanRun
    from studies.services.power import power_run_execute
    from studies.services.studies import study_transition

    settings.CELERY_BROKER_URL = "memory://"
    study = _own(make_live_study(), alice)
    _answer_all(study, judges=6)
    models = [c["name"] for c in study.spec["conditions"] if not c.get("control")]
    url = reverse("dashboard:power")
    wrong = client_a.post(url, {**_PLAN, "study": study.slug, "condition": "nope"})
    assert wrong.status_code == 400 and b"choose one of the study" in wrong.content
    live = client_a.post(
        url, {**_PLAN, "study": study.slug, "condition": models[0], "pilot": study.slug}
    )
    assert live.status_code == 400 and b"Select a valid choice" in live.content  # not closed
    study_transition(study=study, action="close")
    ok = client_a.post(
        url, {**_PLAN, "study": study.slug, "condition": models[0], "pilot": study.slug}
    )
    assert ok.status_code == 302
    run = power_run_execute(run_id=PowerPlanRun.objects.get().id)
    assert run.state == "done", run.error
    # six judges cannot estimate two variances: said, and the stated SDs are used
    assert any("too small to estimate the variances" in w for w in run.result["warnings"])
    assert run.result["assumptions"]["sd_judge"] == 0.3


def test_copy_a_launched_study_to_a_new_draft(client_a, alice, make_live_study):
    study = _own(make_live_study(), alice)
    url = reverse("dashboard:copy", args=[study.slug])
    response = client_a.post(url, {"new_slug": "second-run"})
    assert response.status_code == 302 and response["Location"] == "/dashboard/second-run/"
    copy = Study.objects.get(slug="second-run")
    assert copy.status == "draft" and copy.copied_from == study and copy.owner == alice
    assert copy.spec["conditions"] == study.spec["conditions"]
    client_a.post(url, {"new_slug": "second-run"}, follow=True)
    assert Study.objects.filter(slug="second-run").count() == 1


def test_overview_shows_recruitment_links_with_copy_buttons(client_a, alice, make_study):
    study = _own(make_study(recruitment={"platform": "prolific", "completion_code": "C1"}), alice)
    body = client_a.get(f"/dashboard/{study.slug}/").content.decode()
    assert "PROLIFIC_PID={{%PROLIFIC_PID%}}&amp;STUDY_ID={{%STUDY_ID%}}" in body
    assert 'data-copy="link-prolific"' in body and 'data-copy="link-completion-code"' in body


def test_the_form_writes_texts_questions_language_and_endings(client_a, corpus):
    data = _form_data(
        language="es",
        texts_consent="Hola **todos**",
        texts_ethics_approval="CEI-7",
        closing_questions="device | choice | Your device? | phone; computer | required\n"
        "advice | text | Advice?",
        recruitment_declined_code="NO1",
    )
    response = client_a.post(reverse("dashboard:study-new"), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    spec = Study.objects.get(slug="from-form").spec
    assert spec["language"] == "es" and spec["texts"]["consent"] == "Hola **todos**"
    assert spec["texts"]["ethics_approval"] == "CEI-7"
    assert spec["recruitment"]["declined_code"] == "NO1"
    assert [(q["name"], q["kind"], q["required"]) for q in spec["closing_questions"]] == [
        ("device", "choice", True),
        ("advice", "text", False),
    ]
    assert spec["closing_questions"][0]["options"] == ["phone", "computer"]
