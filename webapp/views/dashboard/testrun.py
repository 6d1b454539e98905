"""Test mode: the owner takes their own study as a judge, before or after launch."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from studies.access import access_study_by_user
from studies.services.assignment import EntryRefused, judge_enter_test
from studies.services.studies import StudyError
from webapp.views.judge.common import redirect_to, remember_judge, stage_url


@login_required
@require_POST
def test_run(request: HttpRequest, slug: str) -> HttpResponse:
    """A fresh test judge in this browser, sent to the consent page. Its answers are marked
    as a test and never analysed, exported or counted toward quotas."""
    study = access_study_by_user(request.user, slug, owner=True)
    try:
        judge = judge_enter_test(study_id=study.pk, actor=request.user)
    except (EntryRefused, StudyError) as refused:
        messages.error(request, f"Test mode is not available: {refused}")
        return redirect("dashboard:study", slug=study.slug)
    remember_judge(request, study, judge)
    return redirect_to(stage_url(judge))
