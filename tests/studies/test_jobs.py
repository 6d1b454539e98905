"""One reconciler for every kind of background job: generation, detection and power-plan runs
whose message was lost or whose worker died are re-sent through Redis, and a power run lost
too often is marked failed."""

import time

import pytest
import redis
from django.conf import settings
from django.utils import timezone

from studies.models import DetectionJob, GenerationJob, PowerPlanRun
from studies.services.jobs import KINDS, POWER, job_heartbeat, jobs_reconcile
from studies.services.power import power_run_create, power_run_execute

PLAN = {
    "condition": "model",
    "test": "t",
    "accuracy": 0.55,
    "control_accuracy": 0.86,
    "sd_judge": 0.3,
    "sd_article": 0.3,
    "articles": 10,
    "margin": 0.05,
    "judges_per_list": [5, 20],
    "target": 0.8,
    "alpha": 0.05,
    "n_sims": 20,
}
LONG_AGO = "2000-01-01T00:00:00Z"

pytestmark = pytest.mark.django_db


@pytest.fixture
def queue():
    """The broker's ``default`` list (power runs and the reconciler's own task)."""
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    client.delete("default")
    yield lambda: client.llen("default")
    client.delete("default")


@pytest.fixture
def owner(django_user_model):
    return django_user_model.objects.create_user("planner", password="pw-planner-1")


def _run(owner, capture):
    with capture(execute=True):
        return power_run_create(owner=owner, params=PLAN)


def test_every_job_kind_is_reconciled():
    assert {k.model for k in KINDS} == {GenerationJob, DetectionJob, PowerPlanRun}
    assert {k.task for k in KINDS} == {
        "studies.tasks.generation_run",
        "studies.tasks.detection_run",
        "studies.tasks.power_plan_run",
    }
    from studies.tasks import reconcile_jobs

    assert settings.CELERY_BEAT_SCHEDULE["reconcile-jobs"]["task"] == reconcile_jobs.name
    assert reconcile_jobs() == {"generation": [], "detection": [], "power": []}


def test_a_lost_power_message_is_resent_once_per_stale_period(
    owner, queue, django_capture_on_commit_callbacks
):
    run = _run(owner, django_capture_on_commit_callbacks)
    assert queue() == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert jobs_reconcile()["power"] == []  # fresh: its message may still be on its way
    PowerPlanRun.objects.filter(pk=run.pk).update(created_at=LONG_AGO)
    with django_capture_on_commit_callbacks(execute=True):
        assert jobs_reconcile()["power"] == [run.pk]
    assert queue() == 2
    with django_capture_on_commit_callbacks(execute=True):
        assert jobs_reconcile()["power"] == []  # heartbeat refreshed: not every minute
    assert queue() == 2


def test_a_power_run_whose_worker_died_is_resent_and_finishes(
    owner, queue, django_capture_on_commit_callbacks
):
    run = _run(owner, django_capture_on_commit_callbacks)
    # A worker claimed it, then died: running, one attempt, a heartbeat that stopped.
    PowerPlanRun.objects.filter(pk=run.pk).update(
        state="running", attempts=1, started_at=LONG_AGO, heartbeat_at=LONG_AGO
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert jobs_reconcile()["power"] == [run.pk]
    assert queue() == 2
    run = power_run_execute(run_id=run.pk)  # what the re-sent message does
    assert run.state == "done" and run.attempts == 2 and run.result["grid"], run.error
    with django_capture_on_commit_callbacks(execute=True):
        assert jobs_reconcile()["power"] == []
    assert power_run_execute(run_id=run.pk).attempts == 2  # a late duplicate does nothing


def test_a_running_power_run_with_a_live_worker_is_left_alone(
    owner, queue, django_capture_on_commit_callbacks
):
    run = _run(owner, django_capture_on_commit_callbacks)
    PowerPlanRun.objects.filter(pk=run.pk).update(
        state="running", attempts=1, created_at=LONG_AGO, heartbeat_at=timezone.now()
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert jobs_reconcile()["power"] == []
    assert queue() == 1
    assert power_run_execute(run_id=run.pk).state == "running"  # not claimed twice


def test_a_power_run_lost_too_often_is_marked_failed(
    owner, queue, django_capture_on_commit_callbacks
):
    run = _run(owner, django_capture_on_commit_callbacks)
    lost = {"state": "running", "started_at": LONG_AGO, "heartbeat_at": LONG_AGO}
    PowerPlanRun.objects.filter(pk=run.pk).update(attempts=POWER.max_attempts, **lost)
    with django_capture_on_commit_callbacks(execute=True):
        assert jobs_reconcile()["power"] == []
    run.refresh_from_db()
    assert run.state == "failed" and "lost 3 times" in run.error and run.finished_at
    assert queue() == 1
    # A message redelivered by the broker after the last loss fails it too, without running.
    other = _run(owner, django_capture_on_commit_callbacks)
    PowerPlanRun.objects.filter(pk=other.pk).update(attempts=POWER.max_attempts, **lost)
    other = power_run_execute(run_id=other.pk)
    assert other.state == "failed" and other.result is None and other.attempts == 3


@pytest.mark.django_db(transaction=True)
def test_a_power_run_beats_while_it_simulates(owner, settings):
    """The heartbeat thread writes through its own connection: the row must be committed."""
    settings.NEWSEVAL_JOB_STALE_SECONDS = 0.3  # a beat every 0.1 s
    run = PowerPlanRun.objects.create(owner=owner, params=PLAN, state="running")
    assert run.heartbeat_at is None
    with job_heartbeat(POWER, run.pk):
        time.sleep(0.5)
    first = PowerPlanRun.objects.get(pk=run.pk).heartbeat_at
    assert first is not None
    time.sleep(0.3)
    assert PowerPlanRun.objects.get(pk=run.pk).heartbeat_at == first  # stopped with the body
