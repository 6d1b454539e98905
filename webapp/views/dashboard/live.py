"""Launch, pause, resume, close; the live monitor; the audited look at accuracy."""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_GET, require_POST

from studies.access import access_study_by_user
from studies.models import Study
from studies.selectors.dashboard import accuracy_summary, live_numbers
from studies.services.dashboard import accuracy_look, download_audit
from studies.services.studies import StudyError, design_record, study_launch, study_transition
from webapp.forms.dashboard import ConfirmForm
from webapp.views.dashboard._shared import attachment, study_page


@login_required
@require_POST
def launch(request: HttpRequest, slug: str) -> HttpResponse:
    study = access_study_by_user(request.user, slug, write=True)
    if not ConfirmForm(request.POST).is_valid():
        messages.error(request, "Tick the box to confirm: a launched design cannot be edited.")
        return redirect("dashboard:study", slug=study.slug)
    try:
        study = study_launch(
            study=study,
            actor=request.user,
            acknowledge_tells=request.POST.get("acknowledge_tells") == "on",
        )
    except StudyError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Launched. Design hash {study.design_hash}.")
    return redirect("dashboard:study", slug=study.slug)


@login_required
@require_POST
def transition(request: HttpRequest, slug: str, action: str) -> HttpResponse:
    study = access_study_by_user(request.user, slug, write=True)
    if action == "close" and not ConfirmForm(request.POST).is_valid():
        messages.error(request, "Tick the box to confirm closing: a closed study stays closed.")
        return redirect("dashboard:study", slug=study.slug)
    try:
        study_transition(study=study, action=action, actor=request.user)
    except StudyError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            {
                "pause": "Paused: new judges are turned away.",
                "resume": "Live again.",
                "close": "Closed.",
            }[action],
        )
    next_url = request.POST.get("next", "")
    if next_url.startswith(f"/dashboard/{study.slug}/"):
        return redirect(next_url)
    return redirect("dashboard:study", slug=study.slug)


@login_required
def design_json(request: HttpRequest, slug: str) -> HttpResponse:
    """The frozen design: the pre-registration record whose SHA-256 is the design hash."""
    study = access_study_by_user(request.user, slug)
    if not study.is_frozen:
        return HttpResponse(
            "The design is frozen at launch.", status=404, content_type="text/plain"
        )
    download_audit(study=study, actor=request.user, filename="design.json")
    body = json.dumps(design_record(study=study), indent=2, ensure_ascii=False, sort_keys=True)
    return attachment(
        body,
        f"{study.slug}-design-{study.design_hash[:12]}.json",
        "application/json; charset=utf-8",
    )


@login_required
def monitor(request: HttpRequest, slug: str) -> HttpResponse:
    study = access_study_by_user(request.user, slug)
    return study_page(
        request,
        "dashboard/monitor.html",
        study,
        "monitor",
        {
            "numbers": live_numbers(study),
            "accuracy": accuracy_summary(study) if study.status == Study.Status.CLOSED else None,
        },
    )


@login_required
@require_GET
def monitor_json(request: HttpRequest, slug: str) -> JsonResponse:
    study = access_study_by_user(request.user, slug)
    response = JsonResponse(live_numbers(study))
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def accuracy_peek(request: HttpRequest, slug: str) -> HttpResponse:
    """An explicit, audited look at accuracy before the study is closed."""
    study = access_study_by_user(request.user, slug)
    if study.status != Study.Status.CLOSED and not ConfirmForm(request.POST).is_valid():
        messages.error(request, "Tick the box to confirm that you want to peek.")
        return redirect("dashboard:monitor", slug=study.slug)
    accuracy = accuracy_look(study=study, actor=request.user)
    study.refresh_from_db()
    return study_page(
        request,
        "dashboard/monitor.html",
        study,
        "monitor",
        {
            "numbers": live_numbers(study),
            "accuracy": accuracy,
            "peeked": True,
        },
    )
