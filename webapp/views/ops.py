"""Operations endpoints."""

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from studies.selectors.health import health_report


@require_GET
def health(request: HttpRequest) -> JsonResponse:
    """ok or failing for anyone (a load balancer's probe); the parts, their errors and the
    workers' host names only for staff, since raw errors tell an attacker what runs here."""
    report = health_report()
    status = 200 if report["ok"] else 503
    user = request.user
    if not (user.is_authenticated and user.is_active and user.is_staff):
        report = {
            "ok": report["ok"],
            "status": "ok" if report["ok"] else "failing",
            "judging": report["judging"],
            "background_work": report["background_work"],
        }
    response = JsonResponse(report, status=status)
    response["Cache-Control"] = "no-store"
    return response
