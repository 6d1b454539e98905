"""Study list, creating studies (form or spec file), corpus upload, the overview page."""

from __future__ import annotations

from collections.abc import Callable

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from studies.access import access_study_by_user, studies_for_user
from studies.models import PowerPlanRun, Study
from studies.selectors.dashboard import (
    audit_log,
    corpora_summaries,
    generation_progress,
    params_words,
    study_summaries,
)
from studies.selectors.readiness import study_readiness
from studies.selectors.recruitment import recruitment_links
from studies.services.corpora import CorpusImportError
from studies.services.dashboard import corpus_upload as corpus_upload_service
from studies.services.dashboard import download_audit
from studies.services.power import power_run_create
from studies.services.studies import (
    EDITABLE,
    StudyError,
    spec_text_copy,
    spec_to_toml,
    study_copy,
    study_create,
    study_delete,
    study_edit,
)
from studies.services.tell_audit import tell_audit_current
from studies.spec import SpecError, parse_spec
from studies.spec_schema import keep_unformed
from webapp.forms.dashboard import (
    INITIAL_CONDITIONS,
    ConditionFormSet,
    ConfirmForm,
    CopyForm,
    CorpusUploadForm,
    PowerForm,
    SpecEditForm,
    SpecUploadForm,
    StudyForm,
    form_initial,
    problem_fields,
    spec_from_forms,
)
from webapp.uploads import upload_refusal
from webapp.views.dashboard._shared import attachment, study_page


def _registry_models():
    try:
        from studies.registry import registry_models

        return registry_models()
    except Exception:  # noqa: BLE001 - a broken registry is reported by create_study
        return None


@login_required
def index(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "dashboard/index.html",
        {
            "rows": study_summaries(studies_for_user(request.user)),
            "corpora": corpora_summaries(request.user),
        },
    )


def _create(request: HttpRequest, spec_text: str) -> tuple[object | None, list[str]]:
    try:
        study, warnings = study_create(spec_text=spec_text, owner=request.user)
    except SpecError as exc:
        return None, exc.problems
    except StudyError as exc:
        return None, [str(exc)]
    for warning in warnings:
        messages.warning(request, warning)
    messages.success(request, f"Study {study.slug} created as a draft.")
    return study, []


@login_required
@require_http_methods(["GET", "POST"])
def study_new(request: HttpRequest) -> HttpResponse:
    """The spec file as a form: every problem parse_spec finds is listed at once."""
    problems: list[str] = []
    spec: dict = {}
    models = _registry_models()
    if request.method == "POST":
        form = StudyForm(request.POST, user=request.user)
        conditions = ConditionFormSet(
            request.POST, prefix="cond", form_kwargs={"models": sorted(models or {})}
        )
        forms_ok = form.is_valid() & conditions.is_valid()
        spec = spec_from_forms(form, conditions)
        try:
            parse_spec(spec, models=models)
        except SpecError as exc:
            problems = exc.problems
        if forms_ok and not problems:
            study, problems = _create(request, spec_to_toml(spec))
            if study is not None:
                return redirect("dashboard:study", slug=study.slug)
    else:
        form = StudyForm(user=request.user)
        conditions = ConditionFormSet(
            prefix="cond", initial=INITIAL_CONDITIONS, form_kwargs={"models": sorted(models or {})}
        )
    return render(
        request,
        "dashboard/study_new.html",
        {
            "form": form,
            "conditions": conditions,
            "problems": problems,
            "problem_fields": problem_fields(problems, spec),
        },
        status=400 if problems or form.errors else 200,
    )


def _upload_page(
    request: HttpRequest,
    form_class: type[forms.Form],
    template: str,
    take: Callable[[forms.Form], tuple[HttpResponse | None, list[str]]],
) -> HttpResponse:
    """An upload form's page. A valid upload goes to ``take``, which answers with the page
    to go to next, or None and the problems to list with the form."""
    problems: list[str] = []
    if request.method == "POST":
        form = form_class(request.POST, request.FILES)
        refused = upload_refusal(request)
        if refused:
            problems = [refused]
        elif form.is_valid():
            done, problems = take(form)
            if done is not None:
                return done
    else:
        form = form_class()
    return render(
        request,
        template,
        {"form": form, "problems": problems},
        status=400 if problems or form.errors else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def study_upload(request: HttpRequest) -> HttpResponse:
    def take(form: SpecUploadForm) -> tuple[HttpResponse | None, list[str]]:
        study, problems = _create(request, form.cleaned_data["text"])
        return (redirect("dashboard:study", slug=study.slug) if study else None), problems

    return _upload_page(request, SpecUploadForm, "dashboard/study_upload.html", take)


@login_required
@require_http_methods(["GET", "POST"])
def corpus_upload(request: HttpRequest) -> HttpResponse:
    def take(form: CorpusUploadForm) -> tuple[HttpResponse | None, list[str]]:
        upload = form.cleaned_data["file"]
        try:
            result = corpus_upload_service(
                name=form.cleaned_data["name"],
                filename=upload.name,
                chunks=upload.chunks(),
                actor=request.user,
            )
        except CorpusImportError as exc:
            return None, exc.problems
        for warning in result.warnings:
            messages.warning(request, warning)
        messages.success(
            request,
            f"Corpus {result.corpus.name}: {result.created} articles added, "
            f"{result.unchanged} already there.",
        )
        return redirect("dashboard:index"), []

    return _upload_page(request, CorpusUploadForm, "dashboard/corpus_upload.html", take)


@login_required
def study_detail(request: HttpRequest, slug: str) -> HttpResponse:
    study = access_study_by_user(request.user, slug)
    articles = study.study_articles.select_related("article")
    return study_page(
        request,
        "dashboard/study_detail.html",
        study,
        "overview",
        {
            "conditions": _conditions_for_display(study),
            "n_articles": articles.count(),
            "dropped": articles.filter(dropped=True),
            "progress": generation_progress(study),
            "events": audit_log(study, limit=12),
            "copy_form": CopyForm(),
            "n_lists": study.lists.count(),
            "tell_audit": tell_audit_current(study=study)
            if study.status in (Study.Status.READY, Study.Status.ATTENTION) or study.is_frozen
            else None,
            "editable": not study.is_frozen and study.status in EDITABLE,
            "deletable": not study.is_frozen and study.status != Study.Status.GENERATING,
            "readiness": study_readiness(study)
            if study.status in (Study.Status.READY, Study.Status.ATTENTION)
            else None,
            "recruitment_links": recruitment_links(
                study=study, origin=f"{request.scheme}://{request.get_host()}"
            ),
        },
    )


def _conditions_for_display(study: Study) -> list:
    conditions = list(study.conditions.order_by("position"))
    for condition in conditions:
        condition.params_words = params_words(condition.params)
    return conditions


def _edit_refused(request: HttpRequest, study: Study) -> HttpResponse | None:
    if study.is_frozen or study.status not in EDITABLE:
        messages.error(
            request,
            f"This study is {study.get_status_display()}: only a draft, ready or "
            "needs-attention study can be edited. A launched one can be copied.",
        )
        return redirect("dashboard:study", slug=study.slug)
    return None


def _saved(request: HttpRequest, study: Study, warnings: list[str]) -> HttpResponse:
    for warning in warnings:
        messages.warning(request, warning)
    messages.success(request, "Spec saved. The study is a draft again: generate its texts anew.")
    return redirect("dashboard:study", slug=study.slug)


@login_required
@require_http_methods(["GET", "POST"])
def study_edit_form(request: HttpRequest, slug: str) -> HttpResponse:
    """Edit a draft in the same form it was made with; the slug stays."""
    study = access_study_by_user(request.user, slug, write=True)
    if (refused := _edit_refused(request, study)) is not None:
        return refused
    problems: list[str] = []
    spec: dict = {}
    models = _registry_models()
    initial, conditions_initial = form_initial(study.spec)
    if request.method == "POST":
        data = request.POST.copy()
        data["slug"] = study.slug
        form = StudyForm(data, user=request.user)
        conditions = ConditionFormSet(
            data, prefix="cond", form_kwargs={"models": sorted(models or {})}
        )
        forms_ok = form.is_valid() & conditions.is_valid()
        spec = keep_unformed(spec_from_forms(form, conditions), study.spec)
        try:
            parse_spec(spec, models=models)
        except SpecError as exc:
            problems = exc.problems
        if forms_ok and not problems:
            try:
                study, warnings = study_edit(
                    study=study, spec_text=spec_to_toml(spec), actor=request.user
                )
            except SpecError as exc:
                problems = exc.problems
            except StudyError as exc:
                problems = [str(exc)]
            else:
                return _saved(request, study, warnings)
    else:
        form = StudyForm(initial=initial, user=request.user)
        conditions = ConditionFormSet(
            prefix="cond",
            initial=conditions_initial,
            form_kwargs={"models": sorted(models or {})},
        )
    form.fields["slug"].disabled = True
    return render(
        request,
        "dashboard/study_new.html",
        {
            "form": form,
            "conditions": conditions,
            "problems": problems,
            "problem_fields": problem_fields(problems, spec),
            "editing": study,
        },
        status=400 if problems or form.errors else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def study_edit_spec(request: HttpRequest, slug: str) -> HttpResponse:
    """Edit a draft's spec file as text."""
    study = access_study_by_user(request.user, slug, write=True)
    if (refused := _edit_refused(request, study)) is not None:
        return refused
    problems: list[str] = []
    if request.method == "POST":
        form = SpecEditForm(request.POST)
        if form.is_valid():
            try:
                study, warnings = study_edit(
                    study=study, spec_text=form.cleaned_data["spec_text"], actor=request.user
                )
            except SpecError as exc:
                problems = exc.problems
            except StudyError as exc:
                problems = [str(exc)]
            else:
                return _saved(request, study, warnings)
    else:
        form = SpecEditForm(initial={"spec_text": study.spec_source or spec_to_toml(study.spec)})
    return render(
        request,
        "dashboard/spec_text.html",
        {"form": form, "problems": problems, "study": study, "mode": "edit"},
        status=400 if problems or form.errors else 200,
    )


@login_required
@require_POST
def study_delete_view(request: HttpRequest, slug: str) -> HttpResponse:
    study = access_study_by_user(request.user, slug, owner=True)
    if not ConfirmForm(request.POST).is_valid():
        messages.error(request, "Tick the box to confirm: a deleted draft cannot be recovered.")
        return redirect("dashboard:study", slug=study.slug)
    try:
        gone = study_delete(study=study, actor=request.user)
    except StudyError as exc:
        messages.error(request, str(exc))
        return redirect("dashboard:study", slug=study.slug)
    messages.success(request, f"Study {gone} deleted.")
    return redirect("dashboard:index")


@login_required
def study_spec(request: HttpRequest, slug: str) -> HttpResponse:
    """The spec file as written (or, for a study made in the browser, as the form built it)."""
    study = access_study_by_user(request.user, slug)
    download_audit(study=study, actor=request.user, filename=f"{study.slug}.toml")
    return attachment(
        study.spec_source or spec_to_toml(study.spec),
        f"{study.slug}.toml",
        "application/toml; charset=utf-8",
    )


@login_required
@require_http_methods(["GET", "POST"])
def study_copy_view(request: HttpRequest, slug: str) -> HttpResponse:
    """Copy a study into a new draft: the same spec under a new slug, or edited first."""
    study = access_study_by_user(request.user, slug, write=True)
    problems: list[str] = []
    if request.method == "POST" and "spec_text" in request.POST:
        form = SpecEditForm(request.POST)
        if form.is_valid():
            try:
                copy, warnings = study_copy(
                    study=study, spec_text=form.cleaned_data["spec_text"], owner=request.user
                )
            except SpecError as exc:
                problems = exc.problems
            except StudyError as exc:
                problems = [str(exc)]
            else:
                for warning in warnings:
                    messages.warning(request, warning)
                messages.success(request, f"Copied to a new draft, {copy.slug}.")
                return redirect("dashboard:study", slug=copy.slug)
    elif request.method == "POST":
        copy_form = CopyForm(request.POST)
        if not copy_form.is_valid():
            messages.error(request, "Give the copy a slug: lowercase letters, digits and hyphens.")
            return redirect("dashboard:study", slug=study.slug)
        new_slug = copy_form.cleaned_data["new_slug"]
        if request.POST.get("edit"):
            form = SpecEditForm(initial={"spec_text": spec_text_copy(study, new_slug)})
        else:
            try:
                copy, warnings = study_copy(study=study, new_slug=new_slug, owner=request.user)
            except (SpecError, StudyError) as exc:
                for problem in getattr(exc, "problems", [str(exc)]):
                    messages.error(request, problem)
                return redirect("dashboard:study", slug=study.slug)
            for warning in warnings:
                messages.warning(request, warning)
            messages.success(request, f"Copied to a new draft, {copy.slug}.")
            return redirect("dashboard:study", slug=copy.slug)
    else:
        form = SpecEditForm(initial={"spec_text": spec_text_copy(study, f"{study.slug}-copy")})
    return render(
        request,
        "dashboard/spec_text.html",
        {"form": form, "problems": problems, "study": study, "mode": "copy"},
        status=400 if problems or form.errors else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def power(request: HttpRequest) -> HttpResponse:
    """The power planner's question; the simulation runs as a background job."""
    mine = studies_for_user(request.user)
    pilots = list(mine.filter(status=Study.Status.CLOSED).values_list("slug", flat=True))
    designs = {
        s.slug: [c["name"] for c in s.spec.get("conditions", []) if not c.get("control")]
        for s in mine.order_by("slug")
    }
    form = PowerForm(request.POST or None, pilots=pilots, designs=designs)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        study = access_study_by_user(request.user, data["study"]) if data["study"] else None
        pilot = access_study_by_user(request.user, data["pilot"]) if data["pilot"] else None
        params = {k: v for k, v in data.items() if k not in ("study", "pilot")}
        run = power_run_create(owner=request.user, params=params, study=study, pilot=pilot)
        return redirect("dashboard:power-run", run_id=run.id)
    runs = PowerPlanRun.objects.filter(owner=request.user)[:10]
    return render(
        request,
        "dashboard/power.html",
        {"form": form, "runs": runs},
        status=400 if form.is_bound else 200,
    )


@login_required
def power_run(request: HttpRequest, run_id: int) -> HttpResponse:
    """One planner run: its state while a worker simulates, then the answer."""
    run = get_object_or_404(PowerPlanRun, id=run_id, owner=request.user)
    result = run.result or {}
    grid = result.get("grid") or []
    return render(
        request,
        "dashboard/power_run.html",
        {
            "run": run,
            "pending": run.state in (PowerPlanRun.State.QUEUED, PowerPlanRun.State.RUNNING),
            "grid": grid,
            "sentences": result.get("sentences") or [],
            "warnings": result.get("warnings") or [],
            "assumptions": result.get("assumptions") or {},
            "target": result.get("target"),
        },
    )
