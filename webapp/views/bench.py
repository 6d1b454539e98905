"""The load benchmark's baseline: the least an answer must do, served only when
``NEWSEVAL_BENCH_BASELINE`` is on (never in a real deployment)."""

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from studies.models import EntryAttempt
from webapp.sessions import judge_cookie


@require_GET
def baseline(request: HttpRequest) -> HttpResponse:
    # Read the judge's session, insert one row, return a short page.
    judges = judge_cookie(request).keys
    EntryAttempt.objects.create(key=f"bench:{len(judges)}")
    return HttpResponse("ok", content_type="text/plain")
