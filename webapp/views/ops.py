"""Operations endpoints."""

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from studies.selectors.health import health_report


@require_GET
def health(request: HttpRequest) -> JsonResponse:
    report = health_report()
    return JsonResponse(report, status=200 if report["ok"] else 503)
