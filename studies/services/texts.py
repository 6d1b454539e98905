"""Storing the texts judges will see, once generation has chosen and cut them."""

from __future__ import annotations

import hashlib

from django.db import transaction

from studies.models import Article, Condition, Study, StudyArticle, Text
from studies.services.studies import audit


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def text_store(
    *,
    condition: Condition,
    article: Article,
    is_machine: bool,
    body: str,
    provenance: dict | None = None,
) -> Text:
    text, _ = Text.objects.update_or_create(
        condition=condition,
        article=article,
        is_machine=is_machine,
        defaults={
            "study": condition.study,
            "body": body,
            "word_count": len(body.split()),
            "sha256": _sha(body),
            "provenance": provenance or {},
        },
    )
    return text


@transaction.atomic
def article_drop(
    *, study: Study, article: Article, kind: str, reason: str, actor=None
) -> StudyArticle:
    """Drop an article from every condition (failed generation, or excluded at review)."""
    study = Study.objects.select_for_update().get(pk=study.pk)
    if study.is_frozen:
        raise ValueError("the design is frozen; copy the study to change its articles")
    if kind not in ("failed", "excluded"):
        raise ValueError(f"kind must be failed or excluded, got {kind!r}")
    if not reason.strip():
        raise ValueError("an exclusion needs a reason")
    sa = StudyArticle.objects.select_for_update().get(study=study, article=article)
    sa.dropped, sa.drop_kind, sa.drop_reason = True, kind, reason.strip()
    sa.save(update_fields=["dropped", "drop_kind", "drop_reason"])
    audit(study=study, action=f"drop_{kind}", actor=actor, article=article.key, reason=reason)
    return sa
