"""The recruitment link: Prolific, MTurk (with its preview) or an anonymous link."""

from __future__ import annotations

import re

from django.conf import settings
from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from studies.access import studies_for_user
from studies.models import Judge, Study
from studies.selectors.debrief import MTURK_HOSTS
from studies.services import judging
from studies.services.assignment import EntryRefused, judge_enter
from studies.services.tokens import bearer_key, token_user
from webapp.clientip import client_address
from webapp.sessions import judge_cookie
from webapp.views.judge.common import (
    MTURK_FRAMES,
    may_go_on,
    message_page,
    not_live_page,
    redirect_to,
    remember_judge,
    render_page,
    scale_context,
    session_judge,
    stage_url,
    step_url,
    study_for_judges,
    study_not_found,
)

MTURK_PREVIEW = "ASSIGNMENT_ID_NOT_AVAILABLE"
_EXTERNAL_ID = re.compile(r"^[A-Za-z0-9_.:@-]{1,200}$")


def _simulated_by_researcher(request: HttpRequest, study: Study) -> bool | None:
    """True when a researcher's API token with access to the study drives this judge (a
    simulated judge); False without a token; None for a token that is not good here."""
    key = bearer_key(request)
    if key is None:
        return False
    user = token_user(key)
    if user is None or not studies_for_user(user).filter(pk=study.pk).exists():
        return None
    return True


def _platform_params(request: HttpRequest) -> tuple[str, str | None, dict] | None:
    """(platform, external id, meta) from the link's parameters; None when malformed."""
    q = request.GET
    if "PROLIFIC_PID" in q:
        pid = q.get("PROLIFIC_PID", "")
        if not _EXTERNAL_ID.match(pid):
            return None
        meta = {k: q.get(k, "")[:200] for k in ("STUDY_ID", "SESSION_ID")}
        return "prolific", pid, meta
    if "assignmentId" in q or "workerId" in q:
        assignment = q.get("assignmentId", "")
        if assignment == MTURK_PREVIEW:
            return "mturk-preview", None, {}
        worker = q.get("workerId", "")
        submit_to = q.get("turkSubmitTo", "").rstrip("/")
        if not (_EXTERNAL_ID.match(worker) and _EXTERNAL_ID.match(assignment)):
            return None
        if submit_to not in MTURK_HOSTS:
            return None
        meta = {
            "assignmentId": assignment,
            "hitId": q.get("hitId", "")[:200],
            "turkSubmitTo": submit_to,
        }
        return "mturk", worker, meta
    return "link", None, {}


def _elsewhere_page(request: HttpRequest, study: Study, platform: str) -> HttpResponse:
    """Someone presented the platform id of a judge whose session is in another browser."""
    # MTurk shows the task in a frame that never carries our cookie: the worker's own
    # tab (which does) goes on from the plain link.
    return message_page(
        request,
        study,
        _("This study is already open in another browser"),
        _(
            "You started this study in another browser or tab. Please go on there; "
            "for your safety it cannot be taken over from here. If you no longer "
            "have that browser, please contact the researcher through your "
            "recruitment site."
        ),
        status=409,
        frame_ancestors=MTURK_FRAMES if platform == "mturk" else "'none'",
        continue_url=step_url("judge-enter", study) if platform == "mturk" else "",
    )


@require_http_methods(["GET", "HEAD", "POST"])
def enter(request: HttpRequest, slug: str) -> HttpResponse:
    """The recruitment link: admit or resume the judge, then go to a clean URL.

    A link from Prolific or MTurk admits on GET (the platform has vetted the visit); an
    anonymous link shows a welcome page whose button (a POST) admits, so that link
    previews, prefetchers and crawlers never take a judge's place.
    """
    study = study_for_judges(slug)
    if study is None:
        return study_not_found(request)
    parsed = _platform_params(request)
    if parsed is None:
        return _incomplete_link_page(request, study)
    platform, external_id, meta = parsed
    if platform == "mturk-preview":
        return render_page(
            request,
            "instructions.html",
            {"study": study, "preview": True, **scale_context(study)},
            frame_ancestors=MTURK_FRAMES,
        )
    existing = session_judge(request, study)
    same = existing is not None and (external_id is None or existing.external_id == external_id)
    if same and platform != "mturk":  # MTurk always goes through its launch page
        return _resume_here(request, study, existing, meta)
    if study.status != Study.Status.LIVE:
        return not_live_page(request, study)
    wanted = study.spec.get("recruitment", {}).get("platform", "link")
    if platform == "link" and wanted == "link" and request.method != "POST":
        return render_page(request, "welcome.html", {"study": study, **scale_context(study)})
    if wanted != "link" and platform != wanted:
        return _start_from_site_page(request, study)
    # Keyed by address alone: made-up platform ids from one address share one limit.
    key = judging.entry_key(study_id=study.pk, address=client_address(request))
    if not judging.entry_attempt_allow(key=key, rate=settings.NEWSEVAL_ENTRY_RATE):
        return _too_many_attempts_page(request, study)
    simulated = _simulated_by_researcher(request, study)
    if simulated is None:
        return message_page(
            request,
            study,
            _("You cannot take part in this study"),
            _("The researcher token sent with this request is not valid here."),
            status=403,
        )
    return _admit(request, study, platform, external_id, meta, simulated=simulated)


def _incomplete_link_page(request: HttpRequest, study: Study) -> HttpResponse:
    return message_page(
        request,
        study,
        _("This link is incomplete"),
        _(
            "The link is missing some of the details your recruitment site "
            "adds to it. Please open the study again from that site."
        ),
        status=400,
    )


def _start_from_site_page(request: HttpRequest, study: Study) -> HttpResponse:
    return message_page(
        request,
        study,
        _("Please start from your recruitment site"),
        _(
            "This study can only be taken through the site where you found it, "
            "which adds your participant details to the link."
        ),
        status=400,
    )


def _resume_here(request: HttpRequest, study: Study, judge: Judge, meta: dict) -> HttpResponse:
    """This browser already holds the judge: back to their step (or the closed page)."""
    if meta:
        judge = judging.judge_meta_refresh(judge=judge, meta=meta)
    if judge.status == Judge.Status.COMPLETED:
        return redirect_to(stage_url(judge))
    if study.status != Study.Status.LIVE and not may_go_on(request, study, judge):
        return not_live_page(request, study)
    return redirect_to(stage_url(judging.judge_touch(judge=judge)))


def _too_many_attempts_page(request: HttpRequest, study: Study) -> HttpResponse:
    response = message_page(
        request,
        study,
        _("Too many attempts"),
        _(
            "This link was opened too many times in a short while. Please wait "
            "a minute and try again."
        ),
        status=429,
    )
    response["Retry-After"] = "60"
    return response


def _admit(
    request: HttpRequest,
    study: Study,
    platform: str,
    external_id: str | None,
    meta: dict,
    *,
    simulated: bool,
) -> HttpResponse:
    """Admit (or resume) the judge, remember them in this browser, and send them on."""
    try:
        entry = judge_enter(
            study_id=study.pk,
            platform=platform,
            external_id=external_id,
            meta=meta,
            simulated=simulated,
            session_key=judge_cookie(request).key_for(study.pk),
        )
    except EntryRefused as refused:
        if refused.reason == "elsewhere":
            return _elsewhere_page(request, study, platform)
        return message_page(
            request, study, _("You cannot take part in this study"), str(refused), status=403
        )
    judge = entry.judge
    if entry.resumed and meta:  # this browser holds the judge's key: its details count
        judge = judging.judge_meta_refresh(judge=judge, meta=meta)
    remember_judge(request, study, judge)
    if platform == "mturk":
        return _mturk_launch_page(request, study, judge)
    return redirect_to(
        step_url("judge-enter", study) if judge.status == Judge.Status.FULL else stage_url(judge)
    )


def _mturk_launch_page(request: HttpRequest, study: Study, judge: Judge) -> HttpResponse:
    # MTurk shows the task in a frame, where browsers withhold our session cookie: the
    # judge continues in a tab of their own through a signed, one-judge link.
    launch = reverse(
        "judge-launch",
        kwargs={
            "slug": study.slug,
            "signed": signing.dumps(judge.session_key, salt="judge-launch"),
        },
    )
    return render_page(
        request,
        "launch.html",
        {"study": study, "launch_url": launch},
        frame_ancestors=MTURK_FRAMES,
    )


@require_http_methods(["GET", "HEAD"])
def launch(request: HttpRequest, slug: str, signed: str) -> HttpResponse:
    study = study_for_judges(slug)
    if study is None:
        return study_not_found(request)
    try:
        key = signing.loads(signed, salt="judge-launch", max_age=7 * 24 * 3600)
    except signing.BadSignature:
        return message_page(
            request,
            study,
            _("This link is not valid"),
            _("Please open the study again from your recruitment site."),
            status=400,
        )
    judge = Judge.objects.select_related("study").filter(study=study, session_key=str(key)).first()
    if judge is None:
        return redirect_to(step_url("judge-enter", study))
    remember_judge(request, study, judge)
    return redirect_to(stage_url(judge))
