"""The power planner as a background job: the request stores the question, a worker answers.

``power_run_create`` records a :class:`PowerPlanRun` and enqueues it; ``power_run_execute``
(called by the Celery task with the run's id) simulates the study's own tests with
:mod:`analysis.planner` and stores the plan, or the reason it could not be made. A run whose
message was lost or whose worker died is re-sent by the reconciler (``studies.services.jobs``),
and marked failed after three lost runs.
"""

from __future__ import annotations

import logging
from typing import Any

from django.utils import timezone

from studies.models import PowerPlanRun, Study
from studies.queueing import enqueue
from studies.services.jobs import POWER, job_claim, job_heartbeat

log = logging.getLogger(__name__)


def power_run_create(
    *, owner, params: dict[str, Any], study: Study | None = None, pilot: Study | None = None
) -> PowerPlanRun:
    run = PowerPlanRun.objects.create(owner=owner, params=params, study=study, pilot=pilot)
    enqueue(POWER.task, run.id)
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
    """Run the plan (unless it is finished or alive in another worker) and store the answer."""
    run = job_claim(POWER, run_id)
    if run is None:
        return PowerPlanRun.objects.get(id=run_id)
    try:
        with job_heartbeat(POWER, run.id):
            plan = _plan(run)
    except (ValueError, ArithmeticError, KeyError) as exc:  # the question has no answer
        run.state = PowerPlanRun.State.FAILED
        run.error = str(exc)
    except Exception as exc:  # noqa: BLE001 - stored on the row the researcher watches
        log.exception("power run %s failed", run_id)
        run.state = PowerPlanRun.State.FAILED
        run.error = f"{type(exc).__name__}: {exc}"
    else:
        run.state = PowerPlanRun.State.DONE
        run.result = {**plan.to_dict(), "sentences": plan.sentences()}
    run.finished_at = timezone.now()
    run.save(update_fields=["state", "error", "result", "finished_at"])
    return run


def _plan(run: PowerPlanRun):
    from analysis.planner import pilot_assumptions, plan_study, stated_assumptions

    p = run.params
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
    return plan_study(
        design,
        assumptions,
        condition=p["condition"],
        test=p.get("test", "t"),
        judges_per_list=[int(x) for x in p["judges_per_list"]],
        target=float(p["target"]),
        n_sims=int(p["n_sims"]),
    )
