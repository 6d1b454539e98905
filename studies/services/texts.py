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
    study_status_settle(study=study)
    return sa


@transaction.atomic
def article_restore(*, study: Study, article: Article, reason: str, actor=None) -> StudyArticle:
    """Undo a researcher's exclusion (not generation's): the article is back in every
    condition. The undo is logged with its own reason, beside the exclusion it undoes."""
    study = Study.objects.select_for_update().get(pk=study.pk)
    if study.is_frozen:
        raise ValueError("the design is frozen; copy the study to change its articles")
    if not reason.strip():
        raise ValueError("undoing an exclusion needs a reason")
    sa = StudyArticle.objects.select_for_update().get(study=study, article=article)
    if not sa.dropped or sa.drop_kind != "excluded":
        raise ValueError(f"article {article.key} is not excluded")
    excluded_for = sa.drop_reason
    sa.dropped, sa.drop_kind, sa.drop_reason = False, "", ""
    sa.save(update_fields=["dropped", "drop_kind", "drop_reason"])
    audit(
        study=study,
        action="restore_excluded",
        actor=actor,
        article=article.key,
        reason=reason.strip(),
        excluded_for=excluded_for,
    )
    study_status_settle(study=study)
    return sa


def study_status_settle(*, study: Study) -> Study:
    """A generated study is ``ready`` only when its design can launch, else it ``needs
    attention``; re-checked whenever its articles change. Other states are left alone."""
    from studies.selectors.readiness import study_readiness

    if study.status not in (Study.Status.READY, Study.Status.ATTENTION):
        return study
    readiness = study_readiness(study)
    status = Study.Status.READY if readiness.can_launch else Study.Status.ATTENTION
    if status != study.status:
        study.status = status
        study.save(update_fields=["status"])
        audit(
            study=study,
            action="needs_attention" if status == Study.Status.ATTENTION else "ready",
            problems=readiness.problems,
        )
    return study
