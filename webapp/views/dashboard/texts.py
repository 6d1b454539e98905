"""Generation (start, resume, progress), review of the texts, and the judge's-eye preview."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from studies.access import access_study_by_user
from studies.models import Article, Study
from studies.selectors.dashboard import generation_progress, preview_samples, review_articles
from studies.selectors.detection import detection_overview
from studies.selectors.judging import ItemView, item_view, shown_content
from studies.services.generation import generation_cancel, generation_start
from studies.services.studies import StudyError
from studies.services.tell_audit import tell_audit_current
from studies.services.texts import article_drop, article_restore
from studies.wording import attention_checks
from webapp.forms.dashboard import ExcludeForm
from webapp.forms.judge import answer_form, answer_options
from webapp.views.dashboard._shared import study_page

REVIEW_PAGE_SIZE = 5


@login_required
@require_POST
def generation_start_view(request: HttpRequest, slug: str) -> HttpResponse:
    """Start generation, or resume failed or abandoned jobs (stored batches are kept)."""
    study = access_study_by_user(request.user, slug, write=True)
    if study.status not in (Study.Status.DRAFT, Study.Status.GENERATING):
        messages.error(request, f"Generation runs on a draft study; this one is {study.status}.")
        return redirect("dashboard:study", slug=study.slug)
    try:
        jobs = generation_start(study=study, actor=request.user)
    except StudyError as exc:
        messages.error(request, str(exc))
    else:
        if jobs:
            messages.success(request, f"Generation queued for {len(jobs)} condition(s).")
        else:
            messages.info(request, "Every job is done or already running.")
    return redirect("dashboard:study", slug=study.slug)


@login_required
@require_POST
def generation_cancel_view(request: HttpRequest, slug: str) -> HttpResponse:
    """Stop generation; what is stored stays, and generating again resumes from there."""
    study = access_study_by_user(request.user, slug, write=True)
    try:
        stopped = generation_cancel(study=study, actor=request.user)
    except StudyError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            f"Generation cancelled ({stopped} job{'s' if stopped != 1 else ''}). Stored texts "
            "are kept; generate again to resume, or edit the study first.",
        )
    return redirect("dashboard:study", slug=study.slug)


@login_required
@require_GET
def generation_progress_json(request: HttpRequest, slug: str) -> JsonResponse:
    study = access_study_by_user(request.user, slug)
    response = JsonResponse(generation_progress(study))
    response["Cache-Control"] = "no-store"
    return response


@login_required
def review(request: HttpRequest, slug: str) -> HttpResponse:
    study = access_study_by_user(request.user, slug)
    show = request.GET.get("show", "all")
    articles = study.study_articles.select_related("article").order_by("position")
    if show == "dropped":
        articles = articles.filter(dropped=True)
    elif show == "kept":
        articles = articles.filter(dropped=False)
    page = Paginator(articles, REVIEW_PAGE_SIZE).get_page(request.GET.get("page"))
    return study_page(
        request,
        "dashboard/review.html",
        study,
        "review",
        {
            "page": page,
            "show": show,
            "items": review_articles(study, list(page.object_list)),
            "detection": detection_overview(study),
            "can_exclude": not study.is_frozen
            and study.status
            in (
                Study.Status.READY,
                Study.Status.ATTENTION,
                Study.Status.GENERATING,
                Study.Status.DRAFT,
            ),
            "exclude_form": ExcludeForm(),
            "tell_audit": tell_audit_current(study=study),
        },
    )


@login_required
@require_POST
def article_exclude(request: HttpRequest, slug: str) -> HttpResponse:
    """Exclude an article from every condition; a reason is required, and it is logged."""
    study = access_study_by_user(request.user, slug, write=True)
    form = ExcludeForm(request.POST)
    if not form.is_valid():
        messages.error(request, "An exclusion needs a reason (at least a few words).")
        return redirect(_next_url(request, study))
    article = Article.objects.filter(
        corpus=study.corpus,
        key=form.cleaned_data["article"],
        pk__in=study.study_articles.values("article"),
    ).first()
    if article is None:
        messages.error(request, "That article is not in this study.")
    else:
        try:
            article_drop(
                study=study,
                article=article,
                kind="excluded",
                reason=form.cleaned_data["reason"],
                actor=request.user,
            )
        except ValueError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, f"Article {article.key} excluded from every condition.")
    return redirect(_next_url(request, study))


def _next_url(request: HttpRequest, study: Study) -> str:
    """Where to go after the exclusion form: ``next`` when it is one of this study's
    dashboard pages on this site, else the review page (never another site)."""
    fallback = reverse("dashboard:review", kwargs={"slug": study.slug})
    next_url = request.POST.get("next", "")
    if not next_url or not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return fallback
    path = urlsplit(next_url).path
    if urlsplit(next_url).netloc or not path.startswith(f"/dashboard/{study.slug}/"):
        return fallback
    if ".." in path.split("/") or "\\" in next_url:
        return fallback
    return next_url


@login_required
@require_POST
def article_restore_view(request: HttpRequest, slug: str) -> HttpResponse:
    """Undo an exclusion; the undo needs its own reason and is logged beside it."""
    study = access_study_by_user(request.user, slug, write=True)
    form = ExcludeForm(request.POST)
    next_url = request.POST.get("next", "")
    if not next_url.startswith(f"/dashboard/{study.slug}/"):
        next_url = f"/dashboard/{study.slug}/review/"
    if not form.is_valid():
        messages.error(request, "Undoing an exclusion needs a reason (at least a few words).")
        return redirect(next_url)
    article = Article.objects.filter(
        corpus=study.corpus,
        key=form.cleaned_data["article"],
        pk__in=study.study_articles.values("article"),
    ).first()
    if article is None:
        messages.error(request, "That article is not in this study.")
        return redirect(next_url)
    try:
        article_restore(
            study=study, article=article, reason=form.cleaned_data["reason"], actor=request.user
        )
    except ValueError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Article {article.key} is back in every condition.")
    return redirect(next_url)


def _preview_items(study: Study) -> list[ItemView]:
    """Sample items built the way the judge's item page builds them: human and machine
    texts alternating (paired: both, sides alternating), then an attention check if the
    study has them."""
    samples = preview_samples(study)
    total = len(samples) + (1 if study.spec["attention_checks"]["count"] else 0)
    items = []
    for n, sample in enumerate(samples):
        text, article = sample["text"], sample["article"]
        raw = [text.body]
        if study.protocol == "paired":
            other = study.texts.filter(
                condition=text.condition, article=article, is_machine=not text.is_machine
            ).first()
            human, machine = (other, text) if text.is_machine else (text, other)
            pair = [human.body if human else "", machine.body if machine else ""]
            raw = pair if n % 2 == 0 else pair[::-1]
        items.append(
            item_view(
                token=f"preview-{n}",
                number=n + 1,
                total=total,
                protocol=study.protocol,
                content=shown_content(title=article.title, subtitle=article.subtitle, texts=raw),
            )
        )
    if study.spec["attention_checks"]["count"]:
        check = attention_checks(study.protocol, study.spec.get("language", "en"))[0]
        raw = [check["body"]] if study.protocol == "single" else [check["left"], check["right"]]
        items.append(
            item_view(
                token="preview-attention",
                number=total,
                total=total,
                protocol=study.protocol,
                content=shown_content(title=check["title"], subtitle=check["subtitle"], texts=raw),
            )
        )
    return items


def _preview_index(request: HttpRequest, items: list) -> int:
    try:
        index = int(request.GET.get("item", 0) or 0)
    except ValueError:
        index = 0
    return max(0, min(index, max(len(items) - 1, 0)))


@login_required
def preview(request: HttpRequest, slug: str) -> HttpResponse:
    """The study as a judge sees it: the judge's own item page, in a frame, fed sample
    texts from this study. Nothing is recorded."""
    study = access_study_by_user(request.user, slug)
    items = _preview_items(study)
    index = _preview_index(request, items)
    return study_page(
        request,
        "dashboard/preview.html",
        study,
        "preview",
        {
            "items": items,
            "index": index,
            "item": items[index] if items else None,
            "previous": index - 1 if index > 0 else None,
            "next": index + 1 if index + 1 < len(items) else None,
        },
    )


@login_required
@xframe_options_sameorigin
@require_http_methods(["GET", "POST"])
def preview_frame(request: HttpRequest, slug: str) -> HttpResponse:
    """The judge's item template with a sample item. A submitted answer is thrown away:
    the frame just moves on to the next sample."""
    study = access_study_by_user(request.user, slug)
    translation.activate(study.spec.get("language") or "en")  # as the study's judges read it
    items = _preview_items(study)
    index = _preview_index(request, items)
    if request.method == "POST":
        following = min(index + 1, max(len(items) - 1, 0))
        response = redirect(f"{request.path}?item={following}")
        response.status_code = 303
        return response
    if not items:
        return HttpResponse(
            "Nothing to preview yet: generate the texts first.",
            content_type="text/plain; charset=utf-8",
        )
    recruitment = study.spec.get("recruitment", {})
    response = render(
        request,
        "judge/item.html",
        {
            "study": study,
            "item": items[index],
            "practice": False,
            "notice": "",
            "form": answer_form(study.protocol),
            **answer_options(),
            "protocol": study.protocol,
            "estimated_minutes": recruitment.get("estimated_minutes") or None,
        },
    )
    response["Cache-Control"] = "no-store"
    # As on the judge's pages, plus: only this site may frame it, and it may post only
    # to itself (the preview), so no answer or signal can reach the judge's endpoints.
    response["Content-Security-Policy"] = (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; connect-src 'none'; "
        "frame-ancestors 'self'"
    )
    return response
