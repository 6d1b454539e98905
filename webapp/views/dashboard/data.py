"""Exports (each download audited), judges and their withdrawal, sharing, the report."""

from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from studies.access import access_study_by_user, can_administer
from studies.models import Judge, JudgeItem, Study
from studies.selectors.dashboard import STAGE_WORDS, audit_log, judge_table
from studies.services.dashboard import (
    download_audit,
    peek_opt_in,
    study_share,
    study_unshare,
)
from studies.services.exports import export_files
from studies.services.judge_data import judge_data_delete
from studies.services.studies import StudyError
from webapp.forms.dashboard import ConfirmForm, ShareForm, WithdrawForm
from webapp.views.dashboard._shared import attachment, study_page

JUDGE_STATUSES = [s.value for s in Judge.Status]
INCLUSIONS = ["included", "excluded", "in progress"]

EXPORTS = {
    "responses.csv": ("text/csv; charset=utf-8", "One row per judgment: the analysis input."),
    "items.csv": ("text/csv; charset=utf-8", "Every shown text with provenance and licence."),
    "judges.csv": ("text/csv; charset=utf-8", "Closing answers and exclusion flags."),
    "study.json": (
        "application/json; charset=utf-8",
        "The study record: design hash, spec, seeds, counts, audit log.",
    ),
}


@login_required
def exports(request: HttpRequest, slug: str) -> HttpResponse:
    study = access_study_by_user(request.user, slug)
    downloads = [e for e in audit_log(study) if e.action == "export"][:10]
    return study_page(
        request,
        "dashboard/exports.html",
        study,
        "data",
        {
            "exports": EXPORTS.items(),
            "downloads": downloads,
        },
    )


@login_required
def export_file(request: HttpRequest, slug: str, filename: str) -> HttpResponse:
    study = access_study_by_user(request.user, slug)
    if filename not in EXPORTS:
        raise Http404("No such export.")
    content = export_files(study)[filename]
    download_audit(study=study, actor=request.user, filename=filename)
    return attachment(content, f"{study.slug}-{filename}", EXPORTS[filename][0])


@login_required
def export_zip(request: HttpRequest, slug: str) -> HttpResponse:
    study = access_study_by_user(request.user, slug)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in export_files(study).items():
            archive.writestr(f"{study.slug}/{name}", content)
    download_audit(study=study, actor=request.user, filename=f"{study.slug}-export.zip")
    return attachment(buffer.getvalue(), f"{study.slug}-export.zip", "application/zip")


@login_required
@require_POST
def export_payments(request: HttpRequest, slug: str) -> HttpResponse:
    """Platform ids, for paying people: owner and staff only, after a confirmation."""
    study = access_study_by_user(request.user, slug, owner=True)
    if not ConfirmForm(request.POST).is_valid():
        messages.error(request, "Tick the box: payments.csv holds participants' platform ids.")
        return redirect("dashboard:exports", slug=study.slug)
    content = export_files(study, payments=True)["payments.csv"]
    download_audit(study=study, actor=request.user, filename="payments.csv", payments=True)
    return attachment(content, f"{study.slug}-payments-RESTRICTED.csv", "text/csv; charset=utf-8")


@login_required
@require_http_methods(["GET", "POST"])
def judges(request: HttpRequest, slug: str) -> HttpResponse:
    """Judges by pseudonym; a judge can be withdrawn, which deletes their data."""
    study = access_study_by_user(request.user, slug)
    if request.method == "POST":
        study = access_study_by_user(request.user, slug, write=True)
        form = WithdrawForm(request.POST)
        judge = None
        if form.is_valid():
            key = form.cleaned_data["judge"].strip()
            match = Q(pseudonym=key)
            if can_administer(request.user, study):
                match |= Q(external_id=key)  # platform ids are the owner's to see
            judge = Judge.objects.filter(study=study).filter(match).first()
        if judge is None:
            messages.error(
                request,
                "Tick the box to confirm, and name a judge of this study "
                "by pseudonym or platform id.",
            )
        else:
            judge_data_delete(judge=judge, actor=request.user)
            messages.success(
                request,
                f"Judge {judge.pseudonym} withdrawn; their data is "
                "deleted and no export or report contains it.",
            )
        return redirect("dashboard:judges", slug=study.slug)
    owner = can_administer(request.user, study)
    filters = {
        "query": request.GET.get("q", "")[:100],
        "status": request.GET.get("status", "")
        if request.GET.get("status") in JUDGE_STATUSES
        else "",
        "inclusion": request.GET.get("inclusion", "")
        if request.GET.get("inclusion") in INCLUSIONS
        else "",
        "stage": request.GET.get("stage", "") if request.GET.get("stage") in STAGE_WORDS else "",
    }
    rows, total = judge_table(study, platform_ids=owner, **filters)
    context = {
        "rows": rows,
        "total": total,
        "filters": filters,
        "statuses": JUDGE_STATUSES,
        "inclusions": INCLUSIONS,
        "stages": STAGE_WORDS.items(),
        "form": WithdrawForm(),
        "show_platform_ids": owner,
    }
    if request.GET.get("fragment") == "rows":
        response = render(request, "dashboard/_judge_rows.html", context)
        response["Cache-Control"] = "no-store"
        return response
    return study_page(request, "dashboard/judges.html", study, "judges", context)


@login_required
@require_http_methods(["GET", "POST"])
def sharing(request: HttpRequest, slug: str) -> HttpResponse:
    study = access_study_by_user(request.user, slug)
    form = ShareForm()
    if request.method == "POST":
        study = access_study_by_user(request.user, slug, owner=True)
        try:
            if "remove" in request.POST:
                study_unshare(study=study, user_id=int(request.POST["remove"]), actor=request.user)
                messages.success(request, "No longer shared with that researcher.")
            else:
                form = ShareForm(request.POST)
                if form.is_valid():
                    user = study_share(
                        study=study, username=form.cleaned_data["username"], actor=request.user
                    )
                    messages.success(request, f"Shared with {user.get_username()}.")
        except (StudyError, ValueError) as exc:
            messages.error(request, str(exc))
        return redirect("dashboard:sharing", slug=study.slug)
    return study_page(
        request,
        "dashboard/sharing.html",
        study,
        "sharing",
        {
            "form": form,
            "shared": study.shared_with.order_by("username"),
        },
    )


def _zip_folder(folder: Path, slug: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            archive.write(path, f"{slug}-report/{path.relative_to(folder)}")
    return buffer.getvalue()


def _report_service():
    try:
        from studies.services.reports import study_report
    except ImportError:
        return None
    return study_report


@login_required
@require_http_methods(["GET", "POST"])
def report(request: HttpRequest, slug: str) -> HttpResponse:
    """The analysis report (``studies.services.reports``). Before the study closes,
    building it is a peek: it needs the box ticked, and the service audits every build."""
    study = access_study_by_user(request.user, slug)
    service = _report_service()
    if request.method == "POST" and service is not None:
        closed = study.status == Study.Status.CLOSED
        if not closed and not ConfirmForm(request.POST).is_valid():
            messages.error(
                request,
                "Tick the box: the report shows accuracy before the "
                "study is closed, and the look is logged.",
            )
            return redirect("dashboard:report", slug=study.slug)
        if not JudgeItem.objects.filter(
            judge__study=study, judge__test=False, answered_at__isnull=False
        ).exists():
            # Nothing to see, so nothing is logged as a look.
            return _report_page(
                request, study, service, problem="No answers yet: there is nothing to analyse."
            )
        if not closed:
            study = peek_opt_in(study=study, actor=request.user)
        want = request.POST.get("download", "")
        try:
            with tempfile.TemporaryDirectory(prefix="newseval-report-") as tmp:
                path = Path(
                    service(study=study, out_dir=Path(tmp), actor=request.user, peek=not closed)
                )
                html = path.read_text(encoding="utf-8")
                bundle = _zip_folder(Path(tmp), study.slug) if want == "zip" else b""
        except (StudyError, ValueError) as exc:
            return _report_page(
                request, study, service, problem=f"The report could not be built: {exc}"
            )
        if want == "zip":
            return attachment(bundle, f"{study.slug}-report.zip", "application/zip")
        response = HttpResponse(html, content_type="text/html; charset=utf-8")
        if want:
            response["Content-Disposition"] = f'attachment; filename="{study.slug}-report.html"'
        # The report is one self-contained file: inline styles, images as data: URIs.
        response["Content-Security-Policy"] = (
            "default-src 'none'; img-src data:; style-src 'unsafe-inline'; frame-ancestors 'none'"
        )
        response["Cache-Control"] = "no-store"
        return response
    return _report_page(request, study, service)


def _report_page(request: HttpRequest, study: Study, service, problem: str = "") -> HttpResponse:
    """The report tab; with ``problem``, why the build failed and who is in the data."""
    events = audit_log(study)
    context = {
        "available": service is not None,
        "builds": [e for e in events if e.action in ("report", "peek")][:10],
        "failures": [e for e in events if e.action == "report_failed"][:10],
        "problem": problem,
    }
    if problem:
        rows, _ = judge_table(study)
        counts: dict[str, int] = {}
        reasons: dict[str, int] = {}
        for row in rows:
            counts[row.inclusion] = counts.get(row.inclusion, 0) + 1
            for reason in filter(None, row.reason.split("; ")):
                reasons[reason] = reasons.get(reason, 0) + 1
        context["flow"] = {"counts": counts, "reasons": sorted(reasons.items())}
    return study_page(request, "dashboard/report.html", study, "report", context)


@login_required
def audit(request: HttpRequest, slug: str) -> HttpResponse:
    """Every launch, pause, exclusion, peek, export and withdrawal, oldest last."""
    study = access_study_by_user(request.user, slug)
    return study_page(request, "dashboard/audit.html", study, "log", {"events": audit_log(study)})
