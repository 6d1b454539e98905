"""Generation of a study's texts: one job per condition, resumable batch by batch.

A job's plan is deterministic, every batch's candidates are stored in one transaction,
and a resumed run regenerates only the batches not stored, so a worker killed in the
middle loses at most one batch and never duplicates a text.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from studies.models import Article, Candidate, Condition, GenerationJob, Study, StudyArticle
from studies.queueing import enqueue
from studies.randomness import derived_int
from studies.services.jobs import GENERATION, job_claim, job_is_stale
from studies.services.studies import StudyError, audit
from studies.services.texts import text_store

log = logging.getLogger(__name__)


def condition_seed(study: Study, condition: Condition) -> int:
    """The condition's sampling seed. It comes from the study's secret: with a public seed and
    a public model a judge could regenerate the machine texts and recognise them."""
    return derived_int(study.secret, "generation", condition.name)


@transaction.atomic
def generation_start(
    *,
    study: Study,
    actor=None,
    condition_names: list[str] | None = None,
    send: bool = True,
) -> list[GenerationJob]:
    """Queue generation for the study's conditions (all, or the named ones); resumes failed jobs.

    With ``send=False`` the jobs are only prepared, for a caller that runs them itself.
    """
    study = Study.objects.select_for_update().get(pk=study.pk)
    if study.is_frozen:
        raise StudyError("the study is launched; its texts are frozen")
    conditions = list(study.conditions.all())
    if condition_names:
        unknown = set(condition_names) - {c.name for c in conditions}
        if unknown:
            raise StudyError(f"no condition called {', '.join(sorted(unknown))}")
        conditions = [c for c in conditions if c.name in condition_names]
    jobs = []
    for condition in conditions:
        job, created = GenerationJob.objects.select_for_update().get_or_create(
            condition=condition, defaults={"study": study}
        )
        if not created and job.state == GenerationJob.State.DONE:
            continue
        if not created and job.state == GenerationJob.State.RUNNING and not job_is_stale(job):
            if job.cancel_requested:  # changed one's mind before the worker stopped
                job.cancel_requested = False
                job.save(update_fields=["cancel_requested"])
                jobs.append(job)
            continue
        job.state = GenerationJob.State.QUEUED
        job.error = ""
        job.cancel_requested = False
        job.save(update_fields=["state", "error", "cancel_requested"])
        jobs.append(job)
        if send:
            enqueue(GENERATION.task, job.pk)
    if not jobs:
        running = GenerationJob.objects.filter(
            study=study, state__in=[GenerationJob.State.QUEUED, GenerationJob.State.RUNNING]
        ).exists()
        if not running and len(conditions) == len(study.conditions.all()):
            raise StudyError("nothing to generate: every condition's texts are done")
        return jobs
    study.status = Study.Status.GENERATING
    study.save(update_fields=["status"])
    audit(study=study, action="generate", actor=actor, conditions=[j.condition.name for j in jobs])
    return jobs


@dataclass
class _Inputs:
    entry: object
    targets: list
    context: list
    decoding: object
    selection: object
    prompt_format: str
    plan: list


def _inputs(job: GenerationJob) -> _Inputs:
    study, condition = job.study, job.condition
    articles = [
        sa.article
        for sa in StudyArticle.objects.filter(study=study)
        .filter(~Q(drop_kind="excluded"))
        .select_related("article")
        .order_by("position")
    ]
    return generation_inputs(study, condition, articles, condition_seed(study, condition))


def generation_inputs(study: Study, condition: Condition, articles: list, seed: int) -> _Inputs:
    """The condition's generation settings applied to ``articles`` (the study's, or, for the
    supervised detectors' training texts, others), planned with ``seed``."""
    import generator

    spec = study.spec
    cfg = condition.settings
    entry = generator.load_registry()[condition.model]
    targets = [
        generator.Target(key=a.key, title=a.title, subtitle=a.subtitle, human_body=a.shown_body)
        for a in articles
    ]
    k = cfg["context_articles"]
    by_key = {
        a.key: a
        for a in Article.objects.filter(corpus=study.corpus, key__in=study.context_keys[:k])
    }
    context = [
        generator.ContextArticle(
            key=key, title=by_key[key].title, subtitle=by_key[key].subtitle, body=by_key[key].body
        )
        for key in study.context_keys[:k]
    ]
    decoding = generator.DecodingSettings(
        temperature=cfg["temperature"],
        top_p=cfg["top_p"],
        top_k=cfg["top_k"],
        repetition_penalty=cfg["repetition_penalty"],
        max_new_tokens=cfg["max_new_tokens"],
    )
    selection = generator.SelectionSettings(
        candidates=cfg["candidates"],
        target_words=spec["target_words"],
        min_words_ratio=spec["generation"]["min_words_ratio"],
        min_distinct_4gram=spec["generation"]["min_distinct_4gram"],
        paragraphs=spec.get("paragraphs", "match"),
        min_length_ratio=spec.get("min_length_ratio", 0.85),
    )
    plan = generator.plan_batches(
        targets,
        candidates=cfg["candidates"],
        batch_size=spec["generation"]["batch_size"],
        seed=seed,
    )
    return _Inputs(entry, targets, context, decoding, selection, cfg["prompt_format"], plan)


def generation_run(*, job_id: int, progress=None) -> None:
    """Run (or resume) one job to the end. Safe to call twice: stored batches are skipped.

    ``progress(done_units, total_units)`` is called after every stored batch.
    """
    import generator

    job = job_claim(GENERATION, job_id)
    if job is None:
        return
    try:
        inputs = _inputs(job)
        with transaction.atomic():
            GenerationJob.objects.filter(pk=job.pk).update(
                plan=[
                    [[u.target_key, u.candidate_index, u.seed] for u in b.units]
                    for b in inputs.plan
                ],
                total_batches=len(inputs.plan),
                total_units=sum(b.size for b in inputs.plan),
            )
        done = set(Candidate.objects.filter(job=job).values_list("batch_index", flat=True))
        todo = [b for b in inputs.plan if b.index not in done]
        if todo:
            threads = settings.NEWSEVAL_GENERATION_THREADS or None
            backend = generator.open_backend(inputs.entry, threads=threads)
            targets_by_key = {t.key: t for t in inputs.targets}
            articles = dict(
                Article.objects.filter(
                    corpus=job.study.corpus, key__in=list(targets_by_key)
                ).values_list("key", "pk")
            )
            for batch in todo:
                started = time.monotonic()
                candidates = generator.run_batch(
                    backend,
                    batch,
                    targets_by_key=targets_by_key,
                    context=inputs.context,
                    prompt_format=inputs.prompt_format,
                    decoding=inputs.decoding,
                    progress=_BatchProgress(job.pk),
                )
                _store_batch(job, batch.index, candidates, articles, time.monotonic() - started)
                if progress is not None:
                    job.refresh_from_db(fields=["done_units", "total_units"])
                    progress(job.done_units, job.total_units)
                if GenerationJob.objects.filter(pk=job.pk, cancel_requested=True).exists():
                    raise GenerationCancelled
        _finish(job, inputs)
    except GenerationCancelled:
        # Stored batches stay; the batch being decoded is dropped, and resuming redoes it.
        GenerationJob.objects.filter(pk=job_id).update(
            state=GenerationJob.State.CANCELLED,
            cancel_requested=False,
            batch_texts_done=0,
            batch_tokens=0,
            batch_started_at=None,
            finished_at=timezone.now(),
        )
        log.info("generation job %s cancelled", job_id)
    except Exception as exc:
        log.exception("generation job %s failed", job_id)
        GenerationJob.objects.filter(pk=job_id).update(
            state=GenerationJob.State.FAILED,
            error=f"{type(exc).__name__}: {exc}",
            finished_at=timezone.now(),
        )
        raise


class GenerationCancelled(Exception):
    """The researcher pressed Cancel; raised from the decoding loop's progress callback."""


class _BatchProgress:
    """The decoding loop's progress callback: records texts finished and tokens drawn in the
    batch (and the worker's heartbeat) at most every ``every`` seconds or when a text
    finishes, and stops the batch when the researcher has cancelled."""

    def __init__(self, job_id: int, every: float = 0.5) -> None:
        self.job_id = job_id
        self.every = every
        self.last = 0.0
        self.finished = -1
        self.started = timezone.now()

    def __call__(self, tokens: int, finished: int) -> None:
        now = time.monotonic()
        if finished == self.finished and now - self.last < self.every:
            return
        self.last, self.finished = now, finished
        GenerationJob.objects.filter(pk=self.job_id).update(
            batch_texts_done=finished,
            batch_tokens=tokens,
            batch_started_at=self.started,
            heartbeat_at=timezone.now(),
        )
        if GenerationJob.objects.filter(pk=self.job_id, cancel_requested=True).exists():
            raise GenerationCancelled


@transaction.atomic
def generation_cancel(*, study: Study, actor=None) -> int:
    """Stop the study's generation. Queued jobs stop now, running ones after the step being
    decoded; stored batches are kept, so generating again resumes where it stopped.
    Returns how many jobs were stopped."""
    study = Study.objects.select_for_update().get(pk=study.pk)
    if study.status != Study.Status.GENERATING:
        raise StudyError(f"nothing to cancel: the study is {study.get_status_display()}")
    stopped = 0
    for job in GenerationJob.objects.select_for_update().filter(
        study=study, state__in=[GenerationJob.State.QUEUED, GenerationJob.State.RUNNING]
    ):
        stopped += 1
        if job.state == GenerationJob.State.RUNNING and not job_is_stale(job):
            job.cancel_requested = True  # the worker stops at its next step
            job.save(update_fields=["cancel_requested"])
        else:
            job.state = GenerationJob.State.CANCELLED
            job.finished_at = timezone.now()
            job.save(update_fields=["state", "finished_at"])
    study.status = Study.Status.DRAFT
    study.save(update_fields=["status"])
    audit(study=study, action="generation_cancelled", actor=actor, jobs=stopped)
    return stopped


_CONTROL = dict.fromkeys(c for c in range(32) if c not in (9, 10, 13))


def storable(value):
    """Drop C0 control characters (NUL above all, which PostgreSQL cannot store) from
    generated strings, keeping tabs and line breaks; a small model's output can hold them."""
    if isinstance(value, str):
        return value.translate(_CONTROL)
    if isinstance(value, dict):
        return {k: storable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [storable(v) for v in value]
    return value


def _store_batch(job, batch_index: int, candidates, article_pks, seconds: float) -> None:
    with transaction.atomic():
        locked = GenerationJob.objects.select_for_update().get(pk=job.pk)
        if Candidate.objects.filter(job=locked, batch_index=batch_index).exists():
            return  # another worker stored this batch first
        Candidate.objects.bulk_create(
            Candidate(
                job=locked,
                article_id=article_pks[c.target_key],
                candidate_index=c.candidate_index,
                batch_index=batch_index,
                text=storable(c.text),
                provenance={
                    **storable(c.provenance),
                    "control_chars_removed": len(c.text) - len(storable(c.text)),
                },
            )
            for c in candidates
        )
        locked.done_batches += 1
        locked.done_units += len(candidates)
        locked.new_tokens += sum(int(c.provenance.get("new_tokens") or 0) for c in candidates)
        locked.seconds += seconds
        locked.heartbeat_at = timezone.now()
        locked.batch_texts_done, locked.batch_tokens, locked.batch_started_at = 0, 0, None
        locked.save(
            update_fields=[
                "done_batches",
                "done_units",
                "new_tokens",
                "seconds",
                "heartbeat_at",
                "batch_texts_done",
                "batch_tokens",
                "batch_started_at",
            ]
        )


def _finish(job: GenerationJob, inputs: _Inputs) -> None:
    """Choose and cut one text per article; drop articles whose candidates all failed."""
    import generator

    rows = {
        (c.article.key, c.candidate_index): c
        for c in Candidate.objects.filter(job=job).select_related("article")
    }
    by_article: dict[str, list] = {}
    for (key, _), row in rows.items():
        by_article.setdefault(key, []).append(
            generator.Candidate(key, row.candidate_index, row.text, row.provenance)
        )
    failed = []
    with transaction.atomic():
        for target in inputs.targets:
            cands = sorted(by_article.get(target.key, []), key=lambda c: c.candidate_index)
            reason = _choose_text(job.condition, target, cands, rows, inputs.selection)
            if reason is not None:
                failed.append((target.key, reason))
        study = Study.objects.select_for_update().get(pk=job.study_id)
        _drop_failed(study, job.condition, failed)
        GenerationJob.objects.filter(pk=job.pk).update(
            state=GenerationJob.State.DONE, finished_at=timezone.now(), heartbeat_at=timezone.now()
        )
        _study_ready_when_all_done(study, dropped=[k for k, _ in failed])
    if study.status == Study.Status.READY:
        # The researcher sees the tell audit on review; computing it now saves the wait.
        from studies.services.tell_audit import tell_audit_current

        tell_audit_current(study=study)


def _choose_text(condition: Condition, target, cands: list, rows: dict, selection) -> str | None:
    """Mark the target's candidates ``cands``, store its chosen machine text and the human
    text cut alike; returns why it failed when no candidate was usable. ``rows``: the job's
    stored candidates by (article key, candidate index)."""
    import generator

    result = generator.select_candidate(cands, human_body=target.human_body, selection=selection)
    for marked in result.candidates:
        row = rows[(target.key, marked.candidate_index)]
        row.rejection_reason = result.rejections.get(marked.candidate_index) or ""
        row.chosen = bool(marked.provenance.get("chosen"))
        row.provenance = marked.provenance
        row.save(update_fields=["rejection_reason", "chosen", "provenance"])
    if result.chosen is None:
        return result.failed_reason or "no candidate"
    article = rows[(target.key, cands[0].candidate_index)].article
    text_store(
        condition=condition,
        article=article,
        is_machine=True,
        body=result.machine_text,
        provenance={
            **result.chosen.provenance,
            "model": condition.model,
            "condition": condition.name,
            "max_words": result.max_words,
            "cut_mode": result.cut_mode,
            "candidate_count": len(cands),
        },
    )
    text_store(
        condition=condition,
        article=article,
        is_machine=False,
        body=result.human_text,
        provenance={
            "kind": "human",
            "max_words": result.max_words,
            "cut_mode": result.cut_mode,
            "source": article.source,
            "url": article.url,
            "license": article.license,
        },
    )
    return None


def _drop_failed(study: Study, condition: Condition, failed: list[tuple[str, str]]) -> None:
    """Drop the articles (by key) none of whose candidates could be used, with the reason."""
    from studies.services.texts import article_drop

    for key, reason in failed:
        article = Article.objects.get(corpus=study.corpus, key=key)
        sa = StudyArticle.objects.get(study=study, article=article)
        if not sa.dropped:
            article_drop(
                study=study, article=article, kind="failed", reason=f"{condition.name}: {reason}"
            )


def _study_ready_when_all_done(study: Study, *, dropped: list[str]) -> None:
    """Once every condition's job is done: ready (or needing attention), and the machine
    detectors started when the spec asks for them."""
    pending = GenerationJob.objects.filter(study=study).exclude(state=GenerationJob.State.DONE)
    all_have_jobs = not study.conditions.filter(generation_job__isnull=True).exists()
    if pending.exists() or not all_have_jobs or study.status != Study.Status.GENERATING:
        return
    from studies.selectors.readiness import study_readiness

    readiness = study_readiness(study)
    study.status = Study.Status.READY if readiness.can_launch else Study.Status.ATTENTION
    study.save(update_fields=["status"])
    audit(study=study, action="generation_done", dropped=dropped, problems=readiness.problems)
    if study.spec.get("detection", {}).get("detectors"):
        from studies.services.detection import detection_start

        try:
            detection_start(study=study)
        except StudyError as exc:  # e.g. every article failed: nothing to score
            log.warning("detection not started for %s: %s", study.slug, exc)
