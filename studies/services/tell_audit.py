"""The pre-launch tell audit of a study's texts, as its judges will see them.

The audit itself is ``detectors.audit``; this module feeds it the study's included texts
rendered the one way judge pages render them (``studies.selectors.judging.shown_content``),
stores the result on ``Study.tell_audit`` with a fingerprint of the texts it saw, and
recomputes it only when that fingerprint changes (new texts, an exclusion).
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.conf import settings

from studies.models import Study, Text
from studies.selectors.judging import shown_content


def _shown(body: str) -> str:
    """A stored text exactly as an item page lays it out: its paragraphs, blank-line apart."""
    return "\n\n".join(shown_content(title="", subtitle="", texts=[body]).bodies[0])


def _audited_texts(study: Study) -> list[Text]:
    dropped = study.study_articles.filter(dropped=True).values("article")
    return list(
        Text.objects.filter(study=study)
        .exclude(article__in=dropped)
        .select_related("condition", "article")
        .order_by("condition__position", "article__key", "is_machine")
    )


def _fingerprint(texts: list[Text]) -> str:
    rows = "\n".join(
        f"{t.condition.name}\t{t.article.key}\t{int(t.is_machine)}\t{t.sha256}" for t in texts
    )
    return hashlib.sha256(rows.encode("utf-8")).hexdigest()


def tell_audit_run(*, study: Study) -> dict[str, Any]:
    """Audit the study's included texts now, store the result and return it."""
    from detectors.audit import AuditText, run_tell_audit

    texts = _audited_texts(study)
    result = run_tell_audit(
        [AuditText(t.condition.name, t.article.key, t.is_machine, _shown(t.body)) for t in texts],
        n_boot=settings.NEWSEVAL_TELL_AUDIT_REPLICATES,
    ).to_dict()
    result["texts_sha256"] = _fingerprint(texts)
    Study.objects.filter(pk=study.pk).update(tell_audit=result)
    study.tell_audit = result
    return result


def tell_audit_current(*, study: Study) -> dict[str, Any] | None:
    """The audit of the texts as they are now: the stored one if it saw these texts,
    else a fresh one. A launched study's audit is the one frozen into its record."""
    if study.is_frozen:
        return (study.frozen or {}).get("tell_audit") or study.tell_audit
    texts = _audited_texts(study)
    if not texts:
        return None
    stored = study.tell_audit or {}
    if stored.get("texts_sha256") == _fingerprint(texts):
        return stored
    return tell_audit_run(study=study)


def tell_audit_lines(result: dict[str, Any] | None) -> list[str]:
    """The audit as plain lines for a terminal: one per condition and feature group."""
    if not result:
        return ["tell audit: no texts"]
    lines = []
    for c in result["conditions"]:
        for name, g in c["groups"].items():
            if g["auc"] is None:
                lines.append(f"tell audit {c['condition']} {name}: {c['note']}")
                continue
            interval = (
                f" [{g['low']:.2f}, {g['high']:.2f}]"
                if g["low"] is not None
                else " (no interval: no bootstrap replicates)"
            )
            lines.append(
                f"tell audit {c['condition']} {name}: AUC {g['auc']:.2f}{interval}"
                + (" ABOVE CHANCE" if g["above_chance"] else "")
                + f"; carried by {', '.join(g['carriers']) or 'nothing'}"
            )
    return lines + list(result["findings"])
