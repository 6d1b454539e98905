"""Helpers shared by the dashboard's views."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from studies.access import can_administer
from studies.models import Study

# How often the pages poll their JSON endpoints; tests make it short.
POLL_MS_DEFAULT = 2000

TABS = [
    ("overview", "Overview", "dashboard:study"),
    ("review", "Texts", "dashboard:review"),
    ("preview", "Preview", "dashboard:preview"),
    ("monitor", "Monitor", "dashboard:monitor"),
    ("data", "Data", "dashboard:exports"),
    ("judges", "Judges", "dashboard:judges"),
    ("sharing", "Sharing", "dashboard:sharing"),
    ("report", "Report", "dashboard:report"),
    ("log", "Audit log", "dashboard:audit"),
]


def poll_ms() -> int:
    return int(getattr(settings, "NEWSEVAL_DASHBOARD_POLL_MS", POLL_MS_DEFAULT))


def study_page(
    request: HttpRequest,
    template: str,
    study: Study,
    tab: str,
    context: dict[str, Any] | None = None,
    status: int = 200,
) -> HttpResponse:
    ctx = {
        "study": study,
        "tab": tab,
        "tabs": TABS,
        "tab_label": next((label for key, label, _ in TABS if key == tab), "Study"),
        "poll_ms": poll_ms(),
        "is_admin": can_administer(request.user, study),
        **(context or {}),
    }
    return render(request, template, ctx, status=status)


def attachment(content: str | bytes, filename: str, content_type: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response
