"""Exports of a study: responses, items, judges, the study record, and payments apart.

``responses.csv`` starts with exactly the columns the analysis expects
(``RESPONSE_COLUMNS``); ``item`` is the stable internal text id, never the
judge-facing token, and ``judge`` is a salted pseudonym, never a platform id.
Platform ids go only to ``payments.csv``, written on request for paying people.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import platform as platform_mod
import re
from collections import defaultdict
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path
from typing import Any

from django.db import transaction

from studies.models import AuditEvent, Judge, JudgeItem, Study, StudyArticle, Text
from studies.protocol import Protocol, is_correct
from studies.services.studies import audit

RESPONSE_COLUMNS = [
    "study",
    "condition",
    "params",
    "judge",
    "list",
    "article",
    "item",
    "is_machine",
    "rating",
    "choice",
    "confidence",
    "correct",
    "position",
    "server_ms",
    "visible_ms",
    "excluded",
    "exclusion_reason",
]
OPTIONAL_COLUMNS = [
    "is_control",
    "protocol",
    "human_side",
    "words_shown",
    "is_attention",
    "is_practice",
    "simulated",
    "paste_count",
    "copy_count",
    "tabaway_count",
]
YES = {"yes", "true", "1", "y", "on"}
SOFTWARE = (
    "Django",
    "celery",
    "torch",
    "transformers",
    "numpy",
    "scipy",
    "statsmodels",
    "pandas",
    "newseval",
)


def _yes(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() in YES)


def _correct(item: JudgeItem) -> int | None:
    entry = item.entry
    if entry.is_attention:
        expected = entry.attention or {}
        if "expected_rating" in expected:
            return int(item.rating == expected["expected_rating"])
        return int(item.choice == expected.get("expected_choice"))
    if entry.machine_text_id:
        correct = is_correct(Protocol.PAIRED, item.rating, item.choice, entry.human_side)
    else:
        correct = is_correct(Protocol.SINGLE, item.rating, item.choice, entry.text.is_machine)
    return None if correct is None else int(correct)


def judge_exclusions(study: Study, judges: Iterable[Judge]) -> dict[int, list[str]]:
    """Judge-level exclusions by the study's pre-declared rules."""
    rules = study.spec["analysis"]
    out: dict[int, list[str]] = {}
    for judge in judges:
        reasons = []
        if judge.status != Judge.Status.COMPLETED:
            reasons.append(f"incomplete ({judge.status})")
        if rules["exclude_failed_attention"] and getattr(judge, "attention_failures", 0):
            reasons.append("failed attention check")
        if rules["exclude_looked_up"] and _yes(judge.closing.get("looked_up")):
            reasons.append("looked things up")
        if rules["exclude_seen_before"] and _yes(judge.closing.get("seen_before")):
            reasons.append("had seen articles before")
        out[judge.pk] = reasons
    return out


def _answered_items(study: Study):
    return (
        JudgeItem.objects.filter(judge__study=study, judge__test=False, answered_at__isnull=False)
        .select_related(
            "judge",
            "judge__study_list",
            "entry",
            "entry__text",
            "entry__machine_text",
            "entry__condition",
            "entry__article",
        )
        .order_by("judge__pk", "position")
    )


def response_rows(study: Study) -> list[dict[str, Any]]:
    items = list(_answered_items(study))
    judges: dict[int, Judge] = {}
    for item in items:
        judge = judges.setdefault(item.judge_id, item.judge)
        if item.entry.is_attention and _correct(item) == 0:
            judge.attention_failures = getattr(judge, "attention_failures", 0) + 1
    excluded = judge_exclusions(study, judges.values())
    min_ms_per_word = study.spec["analysis"]["min_ms_per_word"]
    attention_index: dict[int, int] = defaultdict(int)
    rows = []
    for item in items:
        entry, judge = item.entry, item.judge
        reasons = list(excluded[judge.pk])
        if entry.is_attention:
            attention_index[judge.pk] += 1
            words = len((entry.attention or {}).get("body", "").split())
            condition = judge.study_list.condition if judge.study_list else None
            item_key = f"attention-{attention_index[judge.pk]}"
            article, is_machine = "", ""
        else:
            condition = entry.condition
            words = entry.text.word_count + (
                entry.machine_text.word_count if entry.machine_text_id else 0
            )
            item_key = (
                f"P{entry.text_id}-{entry.machine_text_id}"
                if entry.machine_text_id
                else f"T{entry.text_id}"
            )
            article = entry.article.key
            is_machine = "" if entry.machine_text_id else int(entry.text.is_machine)
        if (
            min_ms_per_word
            and item.server_ms is not None
            and not entry.is_attention
            and item.server_ms < min_ms_per_word * words
        ):
            reasons.append("too fast for the word count")
        correct = _correct(item)
        rows.append(
            {
                "study": study.slug,
                "condition": condition.name if condition else "",
                "params": condition.params if condition and condition.params else "",
                "judge": judge.pseudonym,
                "list": judge.study_list.name if judge.study_list else "",
                "article": article,
                "item": item_key,
                "is_machine": is_machine,
                "rating": item.rating if item.rating is not None else "",
                "choice": item.choice,
                "confidence": item.confidence if item.confidence is not None else "",
                "correct": "" if correct is None else correct,
                "position": item.position + 1,
                "server_ms": item.server_ms if item.server_ms is not None else "",
                "visible_ms": item.visible_ms,
                "excluded": int(bool(reasons)),
                "exclusion_reason": "; ".join(reasons),
                "is_control": int(bool(condition and condition.is_control)),
                "protocol": study.protocol,
                "human_side": entry.human_side,
                "words_shown": words,
                "is_attention": int(entry.is_attention),
                "is_practice": 0,
                "simulated": int(judge.simulated),
                "paste_count": item.paste_count,
                "copy_count": item.copy_count,
                "tabaway_count": item.tabaway_count,
            }
        )
    return rows


def item_rows(study: Study) -> list[dict[str, Any]]:
    dropped = set(
        StudyArticle.objects.filter(study=study, dropped=True).values_list("article_id", flat=True)
    )
    rows = []
    for text in Text.objects.filter(study=study).select_related("condition", "article"):
        a = text.article
        rows.append(
            {
                "item": f"T{text.pk}",
                "condition": text.condition.name,
                "article": a.key,
                "is_machine": int(text.is_machine),
                "words": text.word_count,
                "sha256": text.sha256,
                "dropped": int(a.pk in dropped),
                "title": a.title,
                "subtitle": a.subtitle,
                "body": text.body,
                "source": a.source,
                "url": a.url,
                "date": a.date.isoformat() if a.date else "",
                "author": a.author,
                "license": a.license,
                "license_url": a.license_url,
                "attribution": a.attribution,
                "provenance": json.dumps(text.provenance, sort_keys=True, ensure_ascii=False),
            }
        )
    return sorted(rows, key=lambda r: (r["condition"], r["article"], r["is_machine"]))


def judge_rows(study: Study) -> list[dict[str, Any]]:
    judges = list(
        Judge.objects.filter(study=study, test=False).select_related(
            "study_list", "study_list__condition"
        )
    )
    failures: dict[int, int] = defaultdict(int)
    answers: dict[int, int] = defaultdict(int)
    for item in JudgeItem.objects.filter(
        judge__study=study, judge__test=False, answered_at__isnull=False
    ).select_related("entry"):
        answers[item.judge_id] += 1
        if item.entry.is_attention and _correct(item) == 0:
            failures[item.judge_id] += 1
    for judge in judges:
        judge.attention_failures = failures[judge.pk]
    excluded = judge_exclusions(study, judges)
    closing_keys = sorted({k for j in judges for k in j.closing})
    rows = []
    for judge in judges:
        sl = judge.study_list
        rows.append(
            {
                "judge": judge.pseudonym,
                "list": sl.name if sl else "",
                "condition": sl.condition.name if sl and sl.condition else "",
                "status": judge.status,
                "simulated": int(judge.simulated),
                "platform": judge.platform,
                "consent_version": judge.consent_version,
                "started_at": _to_minute(judge.started_at),
                "completed_at": _to_minute(judge.completed_at),
                "answers": answers[judge.pk],
                "attention_failures": failures[judge.pk],
                "flags": ";".join(judge.flags),
                **{f"closing_{k}": _flat(judge.closing.get(k, "")) for k in closing_keys},
                "excluded": int(bool(excluded[judge.pk])),
                "exclusion_reason": "; ".join(excluded[judge.pk]),
            }
        )
    return rows


def _to_minute(at: dt.datetime | None) -> str:
    """A time in a shared export, to the minute: exact times could be matched against a
    recruitment platform's own export to recover platform ids (payments.csv, which is
    restricted, keeps them exact)."""
    if at is None:
        return ""
    return at.astimezone(dt.UTC).replace(second=0, microsecond=0).isoformat()


def _flat(value: Any) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return "" if value is None else str(value)


def payment_rows(study: Study) -> list[dict[str, Any]]:
    return [
        {
            "pseudonym": j.pseudonym,
            "platform": j.platform,
            "external_id": j.external_id or "",
            "status": j.status,
            "completion_code": j.completion_code,
            "completed_at": j.completed_at.isoformat() if j.completed_at else "",
            "platform_meta": json.dumps(j.platform_meta, sort_keys=True),
        }
        for j in Judge.objects.filter(study=study, test=False).order_by("started_at")
    ]


def software_versions() -> dict[str, str]:
    out = {"python": platform_mod.python_version()}
    for name in SOFTWARE:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out


def study_record(study: Study) -> dict[str, Any]:
    judges = Judge.objects.filter(study=study, test=False)
    counts = defaultdict(int)
    for status in judges.values_list("status", flat=True):
        counts[status] += 1
    return {
        "study": study.slug,
        "title": study.title,
        "status": study.status,
        "protocol": study.protocol,
        "design": study.design,
        "design_hash": study.design_hash,
        "spec": study.spec,
        "seeds": {"study": study.seed},
        "conditions": [
            {
                "name": c.name,
                "model": c.model,
                "params": c.params,
                "is_control": c.is_control,
                "settings": c.settings,
            }
            for c in study.conditions.all()
        ],
        "context_articles": study.context_keys,
        "tell_audit": (study.frozen or {}).get("tell_audit")
        if study.is_frozen
        else study.tell_audit,
        "launched_at": study.launched_at.isoformat() if study.launched_at else None,
        "closed_at": study.closed_at.isoformat() if study.closed_at else None,
        "counts": {
            "judges": dict(counts),
            "simulated_judges": judges.filter(simulated=True).count(),
            "responses": JudgeItem.objects.filter(
                judge__study=study, judge__test=False, answered_at__isnull=False
            ).count(),
        },
        "exclusions": {
            "articles": [
                {"article": sa.article.key, "kind": sa.drop_kind, "reason": sa.drop_reason}
                for sa in study.study_articles.filter(dropped=True).select_related("article")
            ],
            "rules": study.spec["analysis"],
        },
        "audit_log": [
            {
                "at": e.at.isoformat(),
                "action": e.action,
                "actor": e.actor.get_username() if e.actor else None,
                "detail": e.detail,
            }
            for e in AuditEvent.objects.filter(study=study).select_related("actor")
        ],
        "software": software_versions(),
        "exported_at": dt.datetime.now(dt.UTC).isoformat(),
    }


# A spreadsheet runs a cell that begins with one of these as a formula (OWASP's "CSV
# injection"): a judge's closing comment "=HYPERLINK(...)" must stay text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def csv_cell(value: Any) -> Any:
    """The value as a CSV cell; text that a spreadsheet would run gets a leading quote.

    Numbers are left alone, also when they come as text (a negative score written as
    ``"-3.39"`` is data, not a formula, and readers must get it back as a number)."""
    if (
        isinstance(value, str)
        and value.startswith(FORMULA_STARTS)
        and not PLAIN_NUMBER.fullmatch(value)
    ):
        return "'" + value
    return value


def csv_text(rows: list[dict[str, Any]], columns: list[str] | None = None) -> str:
    buffer = io.StringIO()
    fields = columns or (list(rows[0]) if rows else [])
    writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n")
    writer.writerow({f: csv_cell(f) for f in fields})
    writer.writerows({k: csv_cell(v) for k, v in row.items()} for row in rows)
    return buffer.getvalue()


def export_files(study: Study, *, payments: bool = False) -> dict[str, str]:
    """Every export file's name and content, read in one consistent snapshot."""
    with transaction.atomic():
        files = {
            "responses.csv": csv_text(response_rows(study), RESPONSE_COLUMNS + OPTIONAL_COLUMNS),
            "items.csv": csv_text(item_rows(study)),
            "judges.csv": csv_text(judge_rows(study)),
            "study.json": json.dumps(
                study_record(study), indent=2, ensure_ascii=False, default=str
            ),
        }
        from studies.services.detection import score_rows

        scores = score_rows(study)
        if scores:
            files["detector_scores.csv"] = csv_text(scores)
        if payments:
            files["payments.csv"] = csv_text(payment_rows(study))
    return files


def study_export(
    *, study: Study, out_dir: Path | str, actor=None, payments: bool = False, via: str = "command"
) -> list[Path]:
    """Write the export files to ``out_dir`` and record the export in the audit log."""
    audit(study=study, action="export", actor=actor, payments=payments, via=via)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, content in export_files(study, payments=payments).items():
        path = out / name
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(content, encoding="utf-8")
        tmp.replace(path)
        written.append(path)
    return written
