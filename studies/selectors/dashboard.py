"""What the researcher's dashboard reads: generation progress, live monitoring, review.

Everything here is read from the database, so a reloaded page or another web process
shows the same numbers. Accuracy is not part of the live numbers: it has its own
function, which the caller must audit (see ``studies.services.dashboard``).
"""

from __future__ import annotations

import datetime as dt
import io
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db.models import Count, Q
from django.utils import timezone

from studies.models import (
    AuditEvent,
    Candidate,
    Corpus,
    GenerationJob,
    Judge,
    JudgeItem,
    Study,
    StudyArticle,
    StudyList,
    Text,
)

# --- generation ----------------------------------------------------------------------


def generation_progress(study: Study) -> dict[str, Any]:
    """Progress of every condition's job, and of all of them together.

    Rates use the summed batch time stored with each batch (``GenerationJob.seconds``), so
    they do not drop while a job waits in a queue. Jobs run one after another on a
    generation worker, so the time left is the remaining units at the overall rate.
    """
    jobs = list(
        GenerationJob.objects.filter(study=study)
        .select_related("condition")
        .order_by("condition__position")
    )
    conditions = list(study.conditions.order_by("position"))
    by_condition = {j.condition_id: j for j in jobs}
    now = timezone.now()
    stale_before = now - timezone.timedelta(seconds=settings.NEWSEVAL_JOB_STALE_SECONDS)
    any_alive = any(
        j.state == "running" and (j.heartbeat_at or j.created_at) >= stale_before for j in jobs
    )
    rows = [
        _job_row(cond, by_condition[cond.pk], now, stale_before, any_alive)
        if cond.pk in by_condition
        else _unstarted_row(cond)
        for cond in conditions
    ]
    # A job not yet planned does not know its total; estimate it from the spec so the
    # bar does not jump backwards when the plan lands.
    kept = StudyArticle.objects.filter(study=study).exclude(drop_kind="excluded").count()
    total = sum(
        row["total"] or kept * int(cond.settings.get("candidates", 1))
        for cond, row in zip(conditions, rows, strict=True)
    )
    done = sum(r["done"] for r in rows)
    per_second, tokens_per_second = _generation_rates(jobs, rows, done)
    running = any(r["state"] in ("queued", "running", "cancelling") for r in rows)
    beats = [j.heartbeat_at for j in jobs if j.heartbeat_at and j.state == "running"]
    return {
        "study": study.slug,
        "status": study.status,
        "done": done,
        "total": total,
        "percent": _percent(done, total),
        "texts_per_minute": round(per_second * 60, 1) if per_second else None,
        "tokens_per_second": round(tokens_per_second, 1) if tokens_per_second else None,
        "seconds_left": _seconds_left(rows, total - done, per_second, tokens_per_second)
        if running
        else None,
        "heartbeat_age_s": round((now - max(beats)).total_seconds()) if beats else None,
        "cancelled": any(r["state"] == "cancelled" for r in rows),
        "running": running,
        "finished": bool(jobs)
        and all(j.state == GenerationJob.State.DONE for j in jobs)
        and len(jobs) == len(conditions),
        "failed": any(r["state"] in ("failed", "stalled") for r in rows),
        "jobs": rows,
        "dropped": [
            {"article": sa.article.key, "kind": sa.drop_kind, "reason": sa.drop_reason}
            for sa in StudyArticle.objects.filter(study=study, dropped=True).select_related(
                "article"
            )
        ],
        "at": now.isoformat(),
    }


def _unstarted_row(cond) -> dict[str, Any]:
    return {
        "condition": cond.name,
        "state": "not started",
        "done": 0,
        "total": 0,
        "done_batches": 0,
        "total_batches": 0,
        "percent": 0,
        "error": "",
        "new_tokens": 0,
        "batch_tokens": 0,
    }


def _job_row(
    cond, job: GenerationJob, now: dt.datetime, stale_before: dt.datetime, any_alive: bool
) -> dict[str, Any]:
    """One condition's job as the progress bar shows it."""
    # A job whose worker died stays "running" until the reconciler re-sends it, and a
    # message lost with a restart leaves it "queued"; show either as stalled so the
    # researcher can resume now. A job queued behind a live one is just waiting.
    seen = job.heartbeat_at or job.created_at
    stalled = seen < stale_before and (
        job.state == "running" or (job.state == "queued" and not any_alive)
    )
    in_batch = job.state == "running" and not stalled
    state = "stalled" if stalled else job.state
    if in_batch and job.cancel_requested:
        state = "cancelling"
    return {
        "condition": cond.name,
        "state": state,
        # Texts finished inside the batch being decoded count as they finish.
        "done": job.done_units + (job.batch_texts_done if in_batch else 0),
        "total": job.total_units,
        "batch_tokens": job.batch_tokens if in_batch else 0,
        "batch_seconds": (now - job.batch_started_at).total_seconds()
        if in_batch and job.batch_started_at
        else 0.0,
        "max_new_tokens": int(cond.settings.get("max_new_tokens") or 0),
        "heartbeat_age_s": round((now - job.heartbeat_at).total_seconds())
        if job.heartbeat_at
        else None,
        "done_batches": job.done_batches,
        "total_batches": job.total_batches,
        "percent": _percent(job.done_units, job.total_units),
        "error": job.error
        or (
            f"no sign of life since {seen:%Y-%m-%d %H:%M:%S} UTC; the worker may have stopped"
            if stalled
            else ""
        ),
        "new_tokens": job.new_tokens,
        "seconds": round(job.seconds, 2),
        "attempts": job.attempts,
        "heartbeat_at": job.heartbeat_at.isoformat() if job.heartbeat_at else None,
    }


def _generation_rates(
    jobs: list[GenerationJob], rows: list[dict[str, Any]], done: int
) -> tuple[float | None, float | None]:
    """Texts and tokens per second over the time spent decoding (stored and in-batch)."""
    seconds = sum(j.seconds for j in jobs) + sum(r.get("batch_seconds", 0.0) for r in rows)
    tokens = sum(j.new_tokens for j in jobs) + sum(r.get("batch_tokens", 0) for r in rows)
    per_second = done / seconds if seconds > 0 and done else None
    tokens_per_second = tokens / seconds if seconds > 0 and tokens else None
    return per_second, tokens_per_second


def _seconds_left(
    rows: list[dict[str, Any]],
    left: int,
    per_second: float | None,
    tokens_per_second: float | None,
) -> int | None:
    if per_second:
        return round(left / per_second)
    if tokens_per_second:
        # No text finished yet: at most max_new_tokens a text, so this is an upper bound.
        budget = max((r.get("max_new_tokens") or 0) for r in rows) if rows else 0
        return round(left * budget / tokens_per_second) if budget else None
    return None


def _percent(done: int, total: int) -> float:
    return round(100.0 * done / total, 1) if total else 0.0


# --- review --------------------------------------------------------------------------


@dataclass
class ReviewPair:
    condition: str
    model: str
    human: Text | None
    machine: Text | None
    candidates: list[Candidate] = field(default_factory=list)


@dataclass
class ReviewArticle:
    study_article: StudyArticle
    pairs: list[ReviewPair]


def review_articles(study: Study, study_articles: list[StudyArticle]) -> list[ReviewArticle]:
    """Each article's generated texts beside its human original, with every candidate."""
    article_ids = [sa.article_id for sa in study_articles]
    conditions = list(study.conditions.order_by("position"))
    texts = {
        (t.condition_id, t.article_id, t.is_machine): t
        for t in Text.objects.filter(study=study, article_id__in=article_ids)
    }
    candidates: dict[tuple[int, int], list[Candidate]] = defaultdict(list)
    for cand in (
        Candidate.objects.filter(job__study=study, article_id__in=article_ids)
        .select_related("job")
        .order_by("candidate_index")
    ):
        candidates[(cand.job.condition_id, cand.article_id)].append(cand)
    out = []
    for sa in study_articles:
        pairs = [
            ReviewPair(
                condition=c.name,
                model=c.model,
                human=texts.get((c.pk, sa.article_id, False)),
                machine=texts.get((c.pk, sa.article_id, True)),
                candidates=candidates.get((c.pk, sa.article_id), []),
            )
            for c in conditions
        ]
        out.append(ReviewArticle(study_article=sa, pairs=pairs))
    return out


def preview_samples(study: Study, limit: int = 4) -> list[dict[str, Any]]:
    """A few items as a judge would get them: human and machine texts, alternating."""
    samples = []
    texts = list(
        Text.objects.filter(
            study=study,
            article__in=StudyArticle.objects.filter(study=study, dropped=False).values("article"),
        )
        .select_related("article", "condition")
        .order_by("article_id", "condition_id", "is_machine")
    )
    seen_articles: set[int] = set()
    want_machine = True
    for text in texts:
        if text.article_id in seen_articles or text.is_machine != want_machine:
            continue
        seen_articles.add(text.article_id)
        samples.append({"text": text, "article": text.article, "condition": text.condition})
        want_machine = not want_machine
        if len(samples) >= limit:
            break
    return samples


# --- live monitoring -------------------------------------------------------------------


def _attention_failed(item: JudgeItem) -> bool:
    expected = item.entry.attention or {}
    if "expected_rating" in expected:
        return item.rating != expected["expected_rating"]
    return item.choice != expected.get("expected_choice")


_SUMMED = (
    "quota",
    "started",
    "active",
    "completed",
    "expired",
    "attention_failed_judges",
    "included",
    "excluded",
)


@dataclass
class _AnswerTimes:
    """Server time per answered item and attention failures, per list."""

    ms_by_list: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    failures_by_list: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))
    failed_items: int = 0
    all_ms: list[int] = field(default_factory=list)


def _answer_times(answered) -> _AnswerTimes:
    times = _AnswerTimes()
    for item in answered.select_related("entry", "judge").only(
        "server_ms",
        "rating",
        "choice",
        "judge__study_list_id",
        "entry__is_attention",
        "entry__attention",
    ):
        list_id = item.judge.study_list_id
        if item.entry.is_attention:
            if _attention_failed(item):
                times.failed_items += 1
                times.failures_by_list[list_id].add(item.judge_id)
        elif item.server_ms is not None:
            times.ms_by_list[list_id].append(item.server_ms)
            times.all_ms.append(item.server_ms)
    return times


def live_numbers(study: Study) -> dict[str, Any]:
    """Judges per condition and list, completion, time per item, attention failures, quotas.

    No accuracy here: it stays hidden until the study is closed (see ``accuracy_summary``).
    """
    statuses = [s.value for s in Judge.Status]
    lists = list(
        StudyList.objects.filter(study=study)
        .select_related("condition")
        .order_by("index")
        .annotate(
            **{s: Count("judges", filter=Q(judges__status=s, judges__test=False)) for s in statuses}
        )
    )
    answered = JudgeItem.objects.filter(
        judge__study=study, judge__test=False, answered_at__isnull=False
    )
    times = _answer_times(answered)
    standing = inclusion_counts(study)
    rows = [_list_numbers(sl, statuses, times, standing[sl.pk]) for sl in lists]
    totals: dict[str, int] = defaultdict(int)
    by_condition: dict[str, dict[str, int]] = {}
    for row in rows:
        agg = by_condition.setdefault(row["condition"], defaultdict(int))
        for key in _SUMMED:
            agg[key] += row[key]
            totals[key] += row[key]
    turned_away = Judge.objects.filter(study=study, status=Judge.Status.FULL, test=False).count()
    return {
        "study": study.slug,
        "status": study.status,
        "lists": rows,
        "conditions": [
            {"condition": name, **_with_rates(agg)} for name, agg in by_condition.items()
        ],
        "totals": {
            **{k: totals[k] for k in _SUMMED},
            "full_turned_away": turned_away,
            "completion_rate": _with_rates(totals)["completion_rate"],
            "median_ms_per_item": int(statistics.median(times.all_ms)) if times.all_ms else None,
            "answers": answered.count(),
            "attention_failed_items": times.failed_items,
            "quota_percent": _percent(totals["completed"], totals["quota"]),
        },
        "accuracy_visible": study.status == Study.Status.CLOSED,
        "at": timezone.now().isoformat(),
    }


def _list_numbers(
    sl: StudyList, statuses: list[str], times: _AnswerTimes, standing: dict[str, int]
) -> dict[str, Any]:
    """One list's row of the live numbers (``sl`` annotated with a count per status)."""
    counts = {s: getattr(sl, s) for s in statuses}
    started = sum(counts[s] for s in ("active", "completed", "expired", "withdrawn"))
    ms = times.ms_by_list.get(sl.pk, [])
    return {
        "list": sl.name,
        "condition": sl.condition.name if sl.condition else "mixed",
        "quota": sl.quota,
        "started": started,
        "active": counts["active"],
        "completed": counts["completed"],
        "expired": counts["expired"],
        "completion_rate": round(counts["completed"] / started, 3) if started else None,
        "median_ms_per_item": int(statistics.median(ms)) if ms else None,
        "attention_failed_judges": len(times.failures_by_list.get(sl.pk, ())),
        "quota_percent": _percent(counts["completed"], sl.quota),
        "included": standing["included"],
        "excluded": standing["excluded"],
    }


def _with_rates(summed: dict[str, int]) -> dict[str, Any]:
    """Summed counts with their completion rate and share of the quota."""
    return {
        **summed,
        "completion_rate": round(summed["completed"] / summed["started"], 3)
        if summed["started"]
        else None,
        "quota_percent": _percent(summed["completed"], summed["quota"]),
    }


def accuracy_summary(study: Study) -> list[dict[str, Any]]:
    """Mean per-judge accuracy per condition, the paper's way: non-neutral answers of
    judges kept by the study's exclusion rules, attention checks left out.

    A quick look only; the report holds the full analysis. Callers audit every look.
    """
    from studies.services.exports import response_rows

    per_judge: dict[tuple[str, str], list[int]] = defaultdict(list)
    neutral: dict[str, int] = defaultdict(int)
    answers: dict[str, int] = defaultdict(int)
    for row in response_rows(study):
        if row["is_attention"] or row["excluded"]:
            continue
        answers[row["condition"]] += 1
        if row["correct"] == "":
            neutral[row["condition"]] += 1
            continue
        per_judge[(row["condition"], row["judge"])].append(int(row["correct"]))
    by_condition: dict[str, list[float]] = defaultdict(list)
    for (condition, _), values in per_judge.items():
        by_condition[condition].append(sum(values) / len(values))
    out = []
    for cond in study.conditions.order_by("position"):
        accs = by_condition.get(cond.name, [])
        out.append(
            {
                "condition": cond.name,
                "is_control": cond.is_control,
                "judges": len(accs),
                "answers": answers.get(cond.name, 0),
                "mean_accuracy": round(statistics.fmean(accs), 3) if accs else None,
                "neutral_rate": round(neutral[cond.name] / answers[cond.name], 3)
                if answers.get(cond.name)
                else None,
            }
        )
    return out


# --- lists ---------------------------------------------------------------------------


def study_summaries(studies) -> list[dict[str, Any]]:
    """One line per study for the list page."""
    studies = list(
        studies.select_related("owner", "corpus").annotate(
            n_articles=Count(
                "study_articles", filter=Q(study_articles__dropped=False), distinct=True
            ),
            n_conditions=Count("conditions", distinct=True),
            n_completed=Count(
                "judges",
                filter=Q(judges__status=Judge.Status.COMPLETED, judges__test=False),
                distinct=True,
            ),
        )
    )
    return [{"study": s} for s in studies]


def corpora_summaries(user) -> list[dict[str, Any]]:
    from studies.access import corpora_for_user

    return list(
        Corpus.objects.filter(pk__in=corpora_for_user(user).values("pk"))
        .annotate(n=Count("articles"))
        .order_by("name", "owner__username")
        .values("name", "n", "created_at", "owner__username")
    )


ACTION_WORDS = {
    "create": "created",
    "edit": "spec edited",
    "generate": "generation started",
    "generation_done": "generation finished",
    "generation_cancelled": "generation cancelled",
    "needs_attention": "needs attention",
    "ready": "ready to launch",
    "drop_failed": "article dropped by generation",
    "drop_excluded": "article excluded",
    "restore_excluded": "exclusion undone",
    "launch": "launched",
    "pause": "paused",
    "resume": "resumed",
    "close": "closed",
    "peek": "peek at accuracy",
    "peek_opt_in": "opted in to peeking",
    "report": "report built",
    "report_failed": "report failed",
    "export": "download",
    "share": "shared",
    "unshare": "unshared",
    "withdraw": "judge withdrawn",
}


def audit_log(study: Study, limit: int | None = None) -> list[AuditEvent]:
    """The study's audit events, newest first, each with ``label``: the action in words
    (the stored action name stays in exports)."""
    qs = AuditEvent.objects.filter(study=study).select_related("actor").order_by("-at", "-id")
    events = list(qs[:limit] if limit else qs)
    for event in events:
        event.label = ACTION_WORDS.get(event.action, event.action.replace("_", " "))
    return events


def params_words(params: int | None) -> str:
    """A model size as people write it: 134,515,008 -> "135M", 1.3e9 -> "1.3B"."""
    if not params:
        return "–"
    for size, unit in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")):
        if params >= size:
            value = params / size
            return f"{value:.1f}{unit}" if value < 10 else f"{value:.0f}{unit}"
    return str(params)


def pilot_frame(study: Study):
    """A closed study's responses as the analysis library reads them (text columns)."""
    import pandas as pd

    from studies.services.exports import (
        OPTIONAL_COLUMNS,
        RESPONSE_COLUMNS,
        csv_text,
        response_rows,
    )

    if study.status != Study.Status.CLOSED:
        raise ValueError("only a closed study can be a pilot: its accuracy is hidden until then")
    text = csv_text(response_rows(study), RESPONSE_COLUMNS + OPTIONAL_COLUMNS)
    return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)


# --- judges: inclusion and live participants --------------------------------------------

STAGE_WORDS = {
    "consent": "consent",
    "instructions": "instructions",
    "practice": "practice",
    "items": "judging",
    "closing": "closing questions",
    "done": "finished",
}


def judge_inclusion(study: Study, judges: list[Judge]) -> dict[int, tuple[str, str]]:
    """Each judge's standing under the study's declared exclusion rules:
    ``("included", "")``, ``("excluded", reasons)`` or, while still taking part,
    ``("in progress", reasons found so far)``."""
    from studies.services.exports import _correct, judge_exclusions

    failures: dict[int, int] = defaultdict(int)
    for item in JudgeItem.objects.filter(
        judge__study=study, answered_at__isnull=False, entry__is_attention=True
    ).select_related("entry"):
        if _correct(item) == 0:
            failures[item.judge_id] += 1
    for judge in judges:
        judge.attention_failures = failures[judge.pk]
    reasons = judge_exclusions(study, judges)
    out = {}
    for judge in judges:
        found = reasons[judge.pk]
        if judge.status == Judge.Status.ACTIVE:
            rest = [r for r in found if not r.startswith("incomplete")]
            out[judge.pk] = ("in progress", "; ".join(rest))
        elif found:
            out[judge.pk] = ("excluded", "; ".join(found))
        else:
            out[judge.pk] = ("included", "")
    return out


@dataclass
class JudgeRow:
    judge: Judge
    answers: int
    stage: str
    inclusion: str
    reason: str


def judge_table(
    study: Study,
    *,
    query: str = "",
    status: str = "",
    inclusion: str = "",
    stage: str = "",
    platform_ids: bool = False,
    limit: int = 500,
) -> tuple[list[JudgeRow], int]:
    """Judges with their stage, items answered, last activity and inclusion, newest first,
    searched by pseudonym (or platform id, for the owner) and filtered; and how many match."""
    judges = Judge.objects.filter(study=study, test=False).select_related("study_list")
    if query.strip():
        match = Q(pseudonym__icontains=query.strip())
        if platform_ids:
            match |= Q(external_id__icontains=query.strip())
        judges = judges.filter(match)
    if status:
        judges = judges.filter(status=status)
    if stage:
        judges = judges.filter(stage=stage)
    judges = list(
        judges.annotate(
            answers=Count("items", filter=Q(items__answered_at__isnull=False))
        ).order_by("-last_seen_at")
    )
    standing = judge_inclusion(study, judges)
    rows = [
        JudgeRow(
            judge=j,
            answers=j.answers,
            stage=STAGE_WORDS.get(j.stage, j.stage),
            inclusion=standing[j.pk][0],
            reason=standing[j.pk][1],
        )
        for j in judges
    ]
    if inclusion:
        rows = [r for r in rows if r.inclusion == inclusion]
    return rows[:limit], len(rows)


def inclusion_counts(study: Study) -> dict[int | None, dict[str, int]]:
    """Finished judges included and excluded, per list id (and in total under None)."""
    judges = list(Judge.objects.filter(study=study, test=False).exclude(status=Judge.Status.ACTIVE))
    standing = judge_inclusion(study, judges)
    out: dict[int | None, dict[str, int]] = defaultdict(lambda: {"included": 0, "excluded": 0})
    for judge in judges:
        if judge.status == Judge.Status.FULL:
            continue  # turned away before any item: never part of the data
        kind = standing[judge.pk][0]
        out[judge.study_list_id][kind] += 1
        out[None][kind] += 1
    return out
