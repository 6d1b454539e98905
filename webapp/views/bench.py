"""The load benchmark's baseline: the least an answer must do, served only when
``NEWSEVAL_BENCH_BASELINE`` is on (never in a real deployment)."""

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from studies.models import EntryAttempt


@require_GET
def baseline(request: HttpRequest) -> HttpResponse:
    # Read the judge's session, insert one row, return a short page.
    judges = request.session.get("newseval_judges", {})
    EntryAttempt.objects.create(key=f"bench:{len(judges)}")
    return HttpResponse("ok", content_type="text/plain")
