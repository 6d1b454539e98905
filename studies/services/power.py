"""The power planner as a background job: the request stores the question, a worker answers.

``power_run_create`` records a :class:`PowerPlanRun` and enqueues it; ``power_run_execute``
(called by the Celery task with the run's id) simulates the study's own tests with
:mod:`analysis.planner` and stores the plan, or the reason it could not be made.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from studies.models import PowerPlanRun, Study
from studies.queueing import enqueue

POWER_TASK = "studies.tasks.power_plan_run"


def power_run_create(
    *, owner, params: dict[str, Any], study: Study | None = None, pilot: Study | None = None
) -> PowerPlanRun:
    run = PowerPlanRun.objects.create(owner=owner, params=params, study=study, pilot=pilot)
    enqueue(POWER_TASK, run.id)
    return run


def _design(run: PowerPlanRun):
    from analysis.planner import PlanDesign

    p = run.params
    if run.study is not None:
        design = PlanDesign.from_spec(run.study.spec)
    else:
        design = PlanDesign(
            conditions=["control", p["condition"]],
            control="control",
            articles=int(p["articles"]),
        )
    design.alpha = float(p.get("alpha", design.alpha))
    design.margin = float(p.get("margin", design.margin))
    return design


def power_run_execute(*, run_id: int) -> PowerPlanRun:
    from analysis.planner import pilot_assumptions, plan_study, stated_assumptions

    with transaction.atomic():
        run = PowerPlanRun.objects.select_for_update().get(id=run_id)
        if run.state != PowerPlanRun.State.QUEUED:
            return run  # already taken by another worker, or finished
        run.state = PowerPlanRun.State.RUNNING
        run.started_at = timezone.now()
        run.save(update_fields=["state", "started_at"])
    p = run.params
    try:
        design = _design(run)
        accuracy = {p["condition"]: float(p["accuracy"])}
        if design.control is not None and p.get("control_accuracy") is not None:
            accuracy[design.control] = float(p["control_accuracy"])
        assumptions = stated_assumptions(
            design,
            accuracy=accuracy,
            sd_judge=float(p["sd_judge"]),
            sd_article=float(p["sd_article"]),
        )
        if run.pilot is not None:
            from studies.selectors.dashboard import pilot_frame

            assumptions = pilot_assumptions(pilot_frame(run.pilot), design, assumptions)
        plan = plan_study(
            design,
            assumptions,
            condition=p["condition"],
            test=p.get("test", "t"),
            judges_per_list=[int(x) for x in p["judges_per_list"]],
            target=float(p["target"]),
            n_sims=int(p["n_sims"]),
        )
    except (ValueError, ArithmeticError, KeyError) as exc:
        run.state = PowerPlanRun.State.FAILED
        run.error = str(exc)
    else:
        run.state = PowerPlanRun.State.DONE
        run.result = {**plan.to_dict(), "sentences": plan.sentences()}
    run.finished_at = timezone.now()
    run.save(update_fields=["state", "error", "result", "finished_at"])
    return run
