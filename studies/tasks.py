"""Celery tasks: each takes ids, loads nothing itself, and calls one service."""

from celery import shared_task
from celery.signals import worker_ready

from studies.services.detection import detection_run as run_detection
from studies.services.generation import generation_run as run_generation
from studies.services.jobs import jobs_reconcile
from studies.services.power import power_run_execute


@shared_task(name="studies.tasks.generation_run", acks_late=True)
def generation_run(job_id: int) -> None:
    run_generation(job_id=job_id)


@shared_task(name="studies.tasks.detection_run", acks_late=True)
def detection_run(job_id: int) -> None:
    run_detection(job_id=job_id)


@shared_task(name="studies.tasks.reconcile_jobs")
def reconcile_jobs() -> dict[str, list[int]]:
    """Every minute from beat (``CELERY_BEAT_SCHEDULE``): generation, detection, power."""
    return jobs_reconcile()


@worker_ready.connect
def _reconcile_on_start(**kwargs) -> None:
    jobs_reconcile()


@shared_task(name="studies.tasks.power_plan_run", acks_late=True)
def power_plan_run(run_id: int) -> None:
    power_run_execute(run_id=run_id)
