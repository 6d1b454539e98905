"""A real Celery worker on a private Redis: generation through the queue, a worker killed
in the middle of a batch, and Redis stopped and restarted."""

import time

import pytest
from django.db import connection

from studies.models import Candidate, GenerationJob, Study, Text
from studies.services.generation import generation_start
from tests.factories import generation_spec, tiny_condition
from tests.faults.helpers import Worker, first_batch_stored, wait_for, wait_for_job
from tests.studies.test_jobs import PLAN

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def study(corpus, tiny_registry, monkeypatch, settings, redis_server):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL")
    monkeypatch.setenv("NEWSEVAL_MODEL_REGISTRY", str(tiny_registry))
    settings.CELERY_BROKER_URL = redis_server.url
    from studies.services.studies import study_create

    text = generation_spec(
        slug="faults",
        articles=6,
        batch_size=2,
        conditions=[tiny_condition(max_new_tokens=96, control=True)],
    )
    return study_create(spec_text=text)[0]


def worker_for(redis_server, tiny_registry, tmp_path, name):
    return Worker(
        redis_server.url,
        tmp_path / f"{name}.log",
        NEWSEVAL_MODEL_REGISTRY=str(tiny_registry),
        NEWSEVAL_JOB_STALE_SECONDS="2",
        NEWSEVAL_GENERATION_THREADS="1",
    )


def test_worker_killed_mid_batch_completes_after_restart_without_duplicates(
    study, redis_server, tiny_registry, tmp_path
):
    first = worker_for(redis_server, tiny_registry, tmp_path, "first")
    first.start()
    try:
        job = first_batch_stored(study, timeout=120, what="the first batch")
        first.kill()
    finally:
        first.kill()
    job.refresh_from_db()
    assert job.state == "running" and 1 <= job.done_batches < job.total_batches, (
        "the worker should die in the middle of the job"
    )
    stored_before = Candidate.objects.filter(job=job).count()
    time.sleep(2.5)  # let the dead worker's heartbeat go stale; the new worker reconciles
    with worker_for(redis_server, tiny_registry, tmp_path, "second"):
        wait_for_job(job, "done", timeout=180, what="the resumed job")
    job.refresh_from_db()
    assert job.attempts == 2
    assert Candidate.objects.filter(job=job).count() == job.total_units > stored_before
    assert Study.objects.get(pk=study.pk).status == Study.Status.READY
    assert (
        Text.objects.filter(study=study, is_machine=True).count()
        == study.study_articles.filter(dropped=False).count()
    )


def test_redis_down_then_back_generation_resumes(study, redis_server, tiny_registry, tmp_path):
    redis_server.stop()
    generation_start(study=study)  # the message cannot be sent: logged, the row stays queued
    job = GenerationJob.objects.get(study=study)
    assert job.state == "queued"
    redis_server.start()
    GenerationJob.objects.filter(pk=job.pk).update(created_at="2000-01-01T00:00:00Z")
    # The worker reconciles on start: it re-sends the queued job.
    with worker_for(redis_server, tiny_registry, tmp_path, "w"):
        wait_for_job(job, "done", timeout=180, what="the job after Redis came back")
    job.refresh_from_db()
    assert Candidate.objects.filter(job=job).count() == job.total_units == 12


def test_power_run_whose_worker_is_killed_is_resent_and_finishes(
    redis_server, tiny_registry, tmp_path, settings, django_user_model
):
    """A power-plan run, killed with its worker while it simulates, is re-sent by the next
    worker's reconciler and finishes there (one claim each)."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL")
    from studies.models import PowerPlanRun
    from studies.services.power import power_run_create

    settings.CELERY_BROKER_URL = redis_server.url
    owner = django_user_model.objects.create_user("planner", password="pw-planner-1")
    params = {
        **PLAN,
        "judges_per_list": [20, 40, 80, 160],
        "n_sims": 4000,  # several seconds: long enough to be killed in the middle
    }
    first = worker_for(redis_server, tiny_registry, tmp_path, "first")
    first.start()
    try:
        run = power_run_create(owner=owner, params=params)
        wait_for(
            lambda: PowerPlanRun.objects.get(pk=run.pk).state == "running",
            timeout=120,
            what="the run to start",
        )
        first.kill()
    finally:
        first.kill()
    run.refresh_from_db()
    assert run.state == "running" and run.attempts == 1, "the worker should die mid-run"
    time.sleep(2.5)  # the dead worker's heartbeat goes stale; the new worker reconciles
    second = worker_for(redis_server, tiny_registry, tmp_path, "second")
    second.start()
    try:
        wait_for(
            lambda: PowerPlanRun.objects.get(pk=run.pk).state == "done",
            timeout=180,
            what="the re-sent run",
        )
    finally:
        second.stop()
    run.refresh_from_db()
    assert run.attempts == 2 and run.result["grid"], run.error
