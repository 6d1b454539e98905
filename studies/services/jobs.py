"""Background jobs whose database row is the truth: claiming one, keeping it alive, and the
reconciler that re-sends those whose message was lost or whose worker died.

Three kinds of job run this way, each a :class:`JobKind` (its model, the Celery task that
runs one row by id, and how often a run may be lost): a condition's generation, a study's
detection, and a power-planner run. A row is *stale* when its heartbeat (or, before the
first, its creation) is older than ``NEWSEVAL_JOB_STALE_SECONDS``: a queued one's message
was probably lost, a running one's worker probably died. Generation and detection resume
from what they stored, so they are re-sent for as long as it takes; a power run starts over
each time, so after ``max_attempts`` lost runs it is marked failed instead.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import connection, models, transaction
from django.utils import timezone

from studies.models import DetectionJob, GenerationJob, PowerPlanRun
from studies.queueing import enqueue


@dataclass(frozen=True)
class JobKind:
    """A model whose rows are jobs (``state``, ``attempts``, ``heartbeat_at``, ``error``,
    ``created_at``, ``started_at``, ``finished_at``) and the task that runs one by id."""

    name: str
    model: type[models.Model]
    task: str
    max_attempts: int | None = None  # None: re-sent for as long as it takes


GENERATION = JobKind("generation", GenerationJob, "studies.tasks.generation_run")
DETECTION = JobKind("detection", DetectionJob, "studies.tasks.detection_run")
POWER = JobKind("power", PowerPlanRun, "studies.tasks.power_plan_run", max_attempts=3)
KINDS = (GENERATION, DETECTION, POWER)


def job_is_stale(job: models.Model) -> bool:
    limit = timezone.now() - timedelta(seconds=settings.NEWSEVAL_JOB_STALE_SECONDS)
    return (job.heartbeat_at or job.created_at) < limit


def _lost_too_often(kind: JobKind, job: models.Model) -> bool:
    return kind.max_attempts is not None and job.attempts >= kind.max_attempts


def _fail_lost(job: models.Model) -> None:
    job.state = job.State.FAILED
    job.error = f"the worker was lost {job.attempts} times; start it again"
    job.finished_at = timezone.now()
    job.save(update_fields=["state", "error", "finished_at"])


def job_claim(kind: JobKind, job_id: int) -> models.Model | None:
    """Mark the job running for this worker and return it; None when it is finished, gone,
    or alive in another worker. A run lost too often is marked failed here too, since a
    message redelivered after its worker died reaches a worker without the reconciler."""
    State = kind.model.State
    with transaction.atomic():
        job = kind.model.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.state not in (State.QUEUED, State.RUNNING):
            return None
        if job.state == State.RUNNING:
            if not job_is_stale(job):
                return None
            if _lost_too_often(kind, job):
                _fail_lost(job)
                return None
        job.state = State.RUNNING
        job.attempts += 1
        job.started_at = job.started_at or timezone.now()
        job.heartbeat_at = timezone.now()
        job.error = ""
        job.save(update_fields=["state", "attempts", "started_at", "heartbeat_at", "error"])
        return job


@contextmanager
def job_heartbeat(kind: JobKind, job_id: int) -> Iterator[None]:
    """Keep the job's heartbeat fresh from a thread while the body runs, for work that has no
    steps of its own to beat at (a power run is one long simulation)."""
    stop = threading.Event()
    every = settings.NEWSEVAL_JOB_STALE_SECONDS / 3

    def beat() -> None:
        try:
            while not stop.wait(every):
                kind.model.objects.filter(pk=job_id).update(heartbeat_at=timezone.now())
        finally:
            connection.close()  # this thread's own connection

    thread = threading.Thread(target=beat, name=f"{kind.name}-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def kind_reconcile(kind: JobKind) -> list[int]:
    """Re-send the kind's stale jobs (their ids); mark failed those lost too often."""
    State = kind.model.State
    resent = []
    with transaction.atomic():
        for job in kind.model.objects.select_for_update(skip_locked=True).filter(
            state__in=[State.QUEUED, State.RUNNING]
        ):
            if not job_is_stale(job):
                continue
            if job.state == State.RUNNING and _lost_too_often(kind, job):
                _fail_lost(job)
                continue
            if job.state == State.QUEUED:
                # Re-send once per stale period while the message waits in a queue.
                job.heartbeat_at = timezone.now()
                job.save(update_fields=["heartbeat_at"])
            enqueue(kind.task, job.pk)
            resent.append(job.pk)
    return resent


def jobs_reconcile() -> dict[str, list[int]]:
    """Every kind's re-sent jobs, by kind: at worker start and every minute from beat."""
    return {kind.name: kind_reconcile(kind) for kind in KINDS}
