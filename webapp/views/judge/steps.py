"""The judge's steps after entry: consent, instructions, practice, items, closing,
debrief and completion. Thin views over ``studies.services.judging``."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from studies.markup import judge_texts
from studies.models import Judge, Study
from studies.protocol import NEUTRAL_RATING, Protocol, Stage, is_correct
from studies.selectors.debrief import debrief_for_judge, judge_completion
from studies.selectors.judging import current_item_view, practice_item
from studies.services import judging
from webapp.forms.judge import (
    RATING_CHOICES,
    SIDE_CHOICES,
    ClosingForm,
    ConsentForm,
    SignalForm,
    answer_form,
)
from webapp.views.judge.common import (
    harden,
    judge_page,
    pop_notice,
    redirect_to,
    render_page,
    scale_context,
    session_judge,
    set_notice,
    stage_url,
    step_url,
)

# --- consent and instructions -----------------------------------------------------------


@require_http_methods(["GET", "HEAD", "POST"])
@judge_page(Stage.CONSENT)
def consent(request: HttpRequest, study: Study, judge: Judge) -> HttpResponse:
    form = ConsentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if form.cleaned_data["decision"] == "decline":
            judge = judging.judge_withdraw(judge=judge)
        else:
            judge = judging.judge_consent(judge=judge)
        # Straight to the next step (a declined judge's stage page says they are not
        # taking part); the entry link would not admit a test judge before launch.
        return redirect_to(stage_url(judge))
    context = {"study": study, "form": form, **scale_context(study)}
    return render_page(
        request, "consent.html", context, status=400 if request.method == "POST" else 200
    )


@require_http_methods(["GET", "HEAD", "POST"])
@judge_page(Stage.INSTRUCTIONS)
def instructions(request: HttpRequest, study: Study, judge: Judge) -> HttpResponse:
    if request.method == "POST":
        judge = judging.judge_instructions_done(judge=judge)
        return redirect_to(stage_url(judge))
    n_items = judge.items.count()
    return render_page(
        request,
        "instructions.html",
        {
            "study": study,
            "preview": False,
            **scale_context(study),
            "n_items": n_items,
        },
    )


# --- practice ---------------------------------------------------------------------------


@require_http_methods(["GET", "HEAD", "POST"])
@judge_page(Stage.PRACTICE)
def practice(request: HttpRequest, study: Study, judge: Judge) -> HttpResponse:
    position = judging.practice_position(judge=judge)
    item = practice_item(study=study, position=position)
    if item is None:
        judge = judging.practice_finish(judge=judge)
        return redirect_to(stage_url(judge))
    form = answer_form(study.protocol, request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid() and form.cleaned_data["item"] == item.view.token:
            judging.practice_answer(judge=judge, position=position, **form.answer())
            return redirect_to(step_url("judge-practice-feedback", study))
        if form.is_valid():  # an answer to an earlier practice item: show the current one
            return redirect_to(step_url("judge-practice", study))
        status = 400
    return render_page(
        request,
        "item.html",
        {
            "study": study,
            "item": item.view,
            "form": form,
            "practice": True,
            **scale_context(study, form),
        },
        status=status,
    )


@require_http_methods(["GET", "HEAD", "POST"])
@judge_page(Stage.PRACTICE)
def practice_feedback(request: HttpRequest, study: Study, judge: Judge) -> HttpResponse:
    answered = judge.practice_answers.order_by("-position").first()
    if request.method == "POST" or answered is None:
        return redirect_to(step_url("judge-practice", study))
    item = practice_item(study=study, position=answered.position)
    if study.protocol == Protocol.SINGLE:
        said = dict(RATING_CHOICES)[answered.rating]
        truth = answered.is_machine
    else:
        said = dict(SIDE_CHOICES)[answered.choice]
        truth = answered.human_side
    correct = bool(is_correct(study.protocol, answered.rating, answered.choice, truth))
    return render_page(
        request,
        "practice_feedback.html",
        {
            "study": study,
            "answer": answered,
            "item": item.view if item else None,
            "said": said,
            "correct": correct,
            "dont_know": study.protocol == Protocol.SINGLE and answered.rating == NEUTRAL_RATING,
            "human_label": dict(SIDE_CHOICES).get(answered.human_side, ""),
        },
    )


# --- items ------------------------------------------------------------------------------


def _item_page(
    request: HttpRequest, study: Study, judge: Judge, form=None, status: int = 200
) -> HttpResponse:
    served = judging.item_serve(judge=judge)
    if served is None:
        return redirect_to(step_url("judge-closing", study))
    view = current_item_view(item=served.item, study=study, total=served.total)
    return render_page(
        request,
        "item.html",
        {
            "study": study,
            "item": view,
            "practice": False,
            "notice": pop_notice(request),
            "form": form,  # None until an answer was refused
            "signal_url": step_url("judge-signal", study),
            **scale_context(study, form),
        },
        status=status,
    )


@require_http_methods(["GET", "HEAD", "POST"])
@judge_page(Stage.ITEMS)
def item(request: HttpRequest, study: Study, judge: Judge) -> HttpResponse:
    if request.method != "POST":
        return _item_page(request, study, judge)
    form = answer_form(study.protocol, request.POST)
    if not form.is_valid():
        token = request.POST.get("item", "")
        current = judging.judge_current_item(judge=judge)
        if current is not None and token == current.token:
            return _item_page(request, study, judge, form=form, status=400)
        return render_page(
            request,
            "message.html",
            {
                "study": study,
                "heading": _("That answer could not be read"),
                "message": _("Please go back to the study page and answer the article shown."),
                "continue_url": step_url("judge-item", study),
            },
            status=400,
        )
    try:
        judging.item_answer(
            judge=judge, item_token=form.cleaned_data["item"], **form.answer(), **form.signals()
        )
    except judging.AnswerRefused as refused:
        if refused.reason == "answered":
            set_notice(request, "answered")
            return redirect_to(stage_url(Judge.objects.get(pk=judge.pk)))
        return render_page(
            request,
            "message.html",
            {
                "study": study,
                "heading": _("That answer was not recorded"),
                "message": _("It was not for the article currently waiting for your answer."),
                "continue_url": step_url("judge-item", study),
            },
            status=409,
        )
    except ValueError:
        return _item_page(request, study, judge, form=form, status=400)
    # 303: a reload or the back button never posts the answer again.
    response = redirect_to(stage_url(judge))  # item_answer updated judge.stage
    response.status_code = 303
    return response


@require_POST
def signal(request: HttpRequest, slug: str) -> HttpResponse:
    """Visible time and event counts sent by the page when it is hidden or left."""
    study = Study.objects.filter(
        slug=slug, status__in=(Study.Status.LIVE, Study.Status.PAUSED, Study.Status.CLOSED)
    ).first()
    judge = session_judge(request, study) if study else None
    form = SignalForm(request.POST)
    if judge is None or not form.is_valid():
        return harden(HttpResponse(status=400))
    judging.item_signal(judge=judge, item_token=form.cleaned_data["item"], **form.signals())
    return harden(HttpResponse(status=204))


# --- closing, debrief, completion -------------------------------------------------------


@require_http_methods(["GET", "HEAD", "POST"])
@judge_page(Stage.CLOSING)
def closing(request: HttpRequest, study: Study, judge: Judge) -> HttpResponse:
    demographics = study.spec.get("recruitment", {}).get("demographics", [])
    form = ClosingForm(
        request.POST or None,
        demographics=demographics,
        questions=study.spec.get("closing_questions", []),
    )
    if request.method == "POST":
        if form.is_valid():
            try:
                judging.judge_complete(judge=judge, closing=form.closing())
            except judging.AnswerRefused:
                pass
            return redirect_to(stage_url(Judge.objects.get(pk=judge.pk)))
        return render_page(request, "closing.html", {"study": study, "form": form}, status=400)
    return render_page(request, "closing.html", {"study": study, "form": form})


@require_http_methods(["GET", "HEAD"])
@judge_page(Stage.DONE)
def debrief(request: HttpRequest, study: Study, judge: Judge) -> HttpResponse:
    if judge.status != Judge.Status.COMPLETED:
        return redirect_to(stage_url(judge))
    return render_page(
        request,
        "debrief.html",
        {
            "study": study,
            "debrief": debrief_for_judge(judge=judge),
            "completion": judge_completion(judge=judge),
            "texts": judge_texts(study.spec),
        },
    )


@require_http_methods(["GET", "HEAD"])
@judge_page(Stage.DONE)
def finish(request: HttpRequest, study: Study, judge: Judge) -> HttpResponse:
    if judge.status != Judge.Status.COMPLETED:
        return redirect_to(stage_url(judge))
    completion = judge_completion(judge=judge)
    if completion.redirect_url:
        return redirect_to(completion.redirect_url)
    return render_page(request, "finish.html", {"study": study, "completion": completion})
