"""The researcher API, authenticated by API tokens (``Authorization: Bearer nse_...``).

Judges never reach it: every endpoint needs a researcher token with access to the study.
"""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from studies.access import studies_for_user
from studies.models import JudgeItem, Study
from studies.services.tokens import bearer_key, token_user


def _study_for_token(request: HttpRequest, slug: str) -> Study | None:
    user = token_user(bearer_key(request))
    if user is None:
        return None
    return studies_for_user(user).filter(slug=slug).first()


def _denied() -> JsonResponse:
    return JsonResponse(
        {"error": "a researcher token with access to this study is required"}, status=403
    )


@require_GET
def item_truth(request: HttpRequest, slug: str, token: str) -> JsonResponse:
    """The truth for one judge-facing item token, for simulated judges and audits."""
    study = _study_for_token(request, slug)
    if study is None:
        return _denied()
    item = (
        JudgeItem.objects.filter(token=token, judge__study=study)
        .select_related("entry", "entry__text", "entry__condition", "entry__article")
        .first()
    )
    if item is None:
        return JsonResponse({"error": "no such item in this study"}, status=404)
    entry = item.entry
    data: dict = {"item": token, "is_attention": entry.is_attention}
    if entry.is_attention:
        data.update({k: v for k, v in (entry.attention or {}).items() if k.startswith("expected")})
    else:
        data["condition"] = entry.condition.name
        data["article"] = entry.article.key
        if entry.machine_text_id:
            data["human_side"] = entry.human_side
        else:
            data["is_machine"] = entry.text.is_machine
    return JsonResponse(data)
