"""Shared pieces of the judge's views: the session, stage routing and page headers.

The judge is known by an opaque session key kept in a signed cookie (webapp/sessions.py),
never by a URL;
every page checks the judge's stage and sends them to where they belong, so reloads,
back buttons and reopened links all land on the current step.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import get_script_prefix, reverse
from django.utils import translation
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from studies.markup import judge_texts
from studies.models import Judge, Study
from studies.protocol import STAGE_ORDER
from studies.selectors import judging as judging_selectors
from studies.selectors.debrief import judge_completion
from studies.services import judging
from studies.services.assignment import TEST_STATUSES
from webapp.forms.judge import (
    CONFIDENCE_CHOICES,
    RATING_CHOICES,
    SIDE_CHOICES,
    answer_options,
)
from webapp.sessions import judge_cookie

MTURK_FRAMES = "https://worker.mturk.com https://workersandbox.mturk.com https://www.mturk.com"
# The page of each stage, in the stage order (a new stage without a page fails at import).
STAGE_VIEWS = dict(
    zip(
        STAGE_ORDER,
        (
            "judge-consent",
            "judge-instructions",
            "judge-practice",
            "judge-item",
            "judge-closing",
            "judge-debrief",
        ),
        strict=True,
    )
)


# --- helpers ----------------------------------------------------------------------------


def render_page(
    request: HttpRequest,
    template: str,
    context: dict,
    status: int = 200,
    frame_ancestors: str = "'none'",
) -> HttpResponse:
    context = {**context, "test_mode": getattr(request, "newseval_test", False)}
    response = render(request, f"judge/{template}", context, status=status)
    if frame_ancestors != "'none'":
        response.xframe_options_exempt = True  # CSP frame-ancestors names who may frame it
    return harden(response, frame_ancestors)


def harden(response: HttpResponse, frame_ancestors: str = "'none'") -> HttpResponse:
    # Nothing on a judge's page comes from elsewhere, and nothing is cached: the back
    # button reloads the current step instead of showing an old form.
    response["Cache-Control"] = "no-store"
    response["Content-Security-Policy"] = (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
        f"object-src 'none'; base-uri 'none'; form-action 'self' https://www.mturk.com "
        f"https://workersandbox.mturk.com; frame-ancestors {frame_ancestors}"
    )
    return response


def message_page(
    request: HttpRequest,
    study: Study | None,
    heading: str,
    message: str,
    *,
    status: int = 200,
    frame_ancestors: str = "'none'",
    **context,
) -> HttpResponse:
    """A judge's page that says one thing: a heading, a sentence or two, and what
    ``context`` adds (a link back, a completion code)."""
    return render_page(
        request,
        "message.html",
        {"study": study, "heading": heading, "message": message, **context},
        status=status,
        frame_ancestors=frame_ancestors,
    )


def redirect_to(url: str) -> HttpResponse:
    return harden(HttpResponseRedirect(url))


def step_url(name: str, study: Study) -> str:
    return _step_url(name, study.slug, get_script_prefix())


@functools.lru_cache(maxsize=4096)
def _step_url(name: str, slug: str, prefix: str) -> str:
    # Every judge's page reverses a URL or two; the answer never changes for a given
    # prefix (which reverse() reads itself), and reversing costs more than the cache.
    return reverse(name, kwargs={"slug": slug})


def stage_url(judge: Judge) -> str:
    return step_url(STAGE_VIEWS.get(judge.stage, "judge-consent"), judge.study)


def remember_judge(request: HttpRequest, study: Study, judge: Judge) -> None:
    judge_cookie(request).remember(study.pk, judge.session_key)


def session_judge(request: HttpRequest, study: Study) -> Judge | None:
    key = judge_cookie(request).key_for(study.pk)
    if not key:
        return None
    judge = Judge.objects.filter(study=study, session_key=key).first()
    if judge is not None:
        judge.study = study  # already loaded, without its large frozen record
    return judge


def study_and_judge(request: HttpRequest, slug: str) -> tuple[Study | None, Judge | None]:
    """The study and this session's judge in one query (the common case on every page)."""
    judge = judging_selectors.judge_for_session(
        slug=slug, keys=list(judge_cookie(request).keys.values())
    )
    if judge is not None:
        return judge.study, judge
    study = Study.objects.defer("frozen", "spec_source").filter(slug=slug).first()
    return study, None


def set_notice(request: HttpRequest, code: str) -> None:
    judge_cookie(request).set_notice(code)


def pop_notice(request: HttpRequest) -> str:
    return {
        "answered": _(
            "Your answer to that article was already recorded; answers cannot be "
            "changed. Here is the next one."
        ),
    }.get(judge_cookie(request).pop_notice(), "")


def not_found(study: Study | None) -> bool:
    return study is None or study.status in (
        Study.Status.DRAFT,
        Study.Status.GENERATING,
        Study.Status.READY,
    )


def speak(study: Study | None) -> None:
    """Judges' pages are in the study's language, whatever the browser asks for."""
    if study is not None:
        translation.activate(study.spec.get("language") or "en")


def study_for_judges(slug: str) -> Study | None:
    """The study at ``slug`` if judges may see it (launched), its language switched on;
    None otherwise (the caller answers with ``study_not_found``)."""
    # The frozen design record can be large; judge pages never need it.
    study = Study.objects.defer("frozen", "spec_source").filter(slug=slug).first()
    if not_found(study):
        return None
    speak(study)
    return study


def study_not_found(request: HttpRequest) -> HttpResponse:
    return render_page(
        request,
        "message.html",
        {
            "heading": _("Study not found"),
            "message": _(
                "There is no study at this address. Please check the link you were given."
            ),
        },
        status=404,
    )


def may_go_on(request: HttpRequest, study: Study, judge: Judge) -> bool:
    """Whether an admitted judge's request is served although the study is not live.

    A close stops new admissions only: judges already taking part finish, and get the
    debrief and completion code their consent promised. A pause stores what a judge sends
    (an answer in flight when the researcher paused is kept) and shows the paused page for
    everything else.
    """
    if study.status == Study.Status.LIVE:
        return True
    if judge.status != Judge.Status.ACTIVE:
        return False
    if study.status == Study.Status.CLOSED:
        return True
    return study.status == Study.Status.PAUSED and request.method == "POST"


def not_live_page(request: HttpRequest, study: Study) -> HttpResponse:
    if study.status == Study.Status.PAUSED:
        return render_page(
            request,
            "message.html",
            {
                "study": study,
                "heading": _("This study is paused"),
                "message": _(
                    "The researcher has paused the study for a short while. Every answer "
                    "you sent before this page appeared has been saved. Please come back "
                    "to this page later to go on."
                ),
            },
            status=503,
        )
    return render_page(
        request,
        "message.html",
        {
            "study": study,
            "heading": _("This study has closed"),
            "message": _("This study is no longer taking answers. Thank you for your interest."),
        },
        status=410,
    )


def status_page(request: HttpRequest, judge: Judge) -> HttpResponse | None:
    if judge.status == Judge.Status.FULL:
        return render_page(
            request,
            "message.html",
            {
                "study": judge.study,
                "heading": _("This study is full"),
                "message": _(
                    "Thank you for your interest: every place in this study has been "
                    "taken. Anything you answered before is kept."
                ),
            },
        )
    if judge.status == Judge.Status.WITHDRAWN:
        return render_page(
            request,
            "message.html",
            {
                "study": judge.study,
                "heading": _("You are not taking part"),
                "message": _(
                    "You chose not to take part, so nothing more will be asked. If you "
                    "came from a recruitment site, please return the task there. You "
                    "can close this window."
                ),
                # Declined at consent: the platform's own code and URL for that ending.
                "completion": judge_completion(judge=judge) if judge.stage == "consent" else None,
            },
        )
    return None


def judge_page(stage: str | None) -> Callable:
    """Load the study and this session's judge, keep them in their stage, or redirect."""

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, slug: str) -> HttpResponse:
            study, judge = study_and_judge(request, slug)
            testing = judge is not None and judge.test and study.status in TEST_STATUSES
            if not_found(study) and not testing:
                return study_not_found(request)
            speak(study)
            if judge is None:
                return redirect_to(step_url("judge-enter", study))
            request.newseval_test = judge.test  # the test-mode banner
            if judge.status != Judge.Status.COMPLETED:
                if not testing and not may_go_on(request, study, judge):
                    return not_live_page(request, study)
                judge = judging.judge_touch(judge=judge)
                blocked = status_page(request, judge)
                if blocked is not None:
                    return blocked
            if stage is not None and judge.stage != stage:
                return redirect_to(stage_url(judge))
            return view(request, study, judge)

        return wrapper

    return decorate


def scale_context(study: Study, form=None) -> dict:
    """The answer scale and what the pages say of the study; ``form``: a refused answer
    whose choices stay checked."""
    recruitment = study.spec.get("recruitment", {})
    return {
        **answer_options(form),
        "language": get_language(),
        "rating_choices": RATING_CHOICES,
        "side_choices": SIDE_CHOICES,
        "confidence_choices": CONFIDENCE_CHOICES,
        "protocol": study.protocol,
        "n_items": None,
        "estimated_minutes": recruitment.get("estimated_minutes") or None,
        "pay": recruitment.get("pay") or "",
        "has_practice": study.spec.get("practice", {}).get("enabled", False),
        "texts": judge_texts(study.spec),
    }
