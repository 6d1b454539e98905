"""Machine detectors on a study's shown texts: one resumable job per study.

The job scores every :class:`~studies.models.Text` (the bodies exactly as judges see them)
with the detectors of the spec's ``[detection]`` section. Zero-shot scores are stored chunk by
chunk, each chunk in one transaction; the supervised detectors first generate their training
texts (each condition's own settings on corpus articles outside the study), store them on the
job, then train and score per condition. A resumed run redoes only what is not stored, and a
score whose text changed since (its ``text_sha256``) counts as missing.

Scores are for researchers: nothing judge-facing reads them, and the public design record
withholds them while the study runs (they are in the frozen record, revealed at closing).
"""

from __future__ import annotations

import json
import logging
import math
import time
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from studies.models import Article, DetectionJob, DetectorScore, Study, Text
from studies.queueing import enqueue
from studies.randomness import derived_int, derived_rng
from studies.services.jobs import DETECTION, job_claim, job_is_stale
from studies.services.studies import StudyError, audit

log = logging.getLogger(__name__)
CHUNK = 32  # texts per stored zero-shot chunk


@transaction.atomic
def detection_start(
    *, study: Study, actor=None, detectors: list[str] | None = None, send: bool = True
) -> DetectionJob | None:
    """Queue (or resume) the study's detection job. Returns None when it is already running.

    ``detectors`` defaults to the spec's ``[detection].detectors``; naming others adds them.
    """
    from detectors import ALL_DETECTORS

    study = Study.objects.select_for_update().get(pk=study.pk)
    names = list(detectors or study.spec.get("detection", {}).get("detectors") or [])
    if not names:
        raise StudyError("no detectors: name them in the spec's [detection] section")
    unknown = [n for n in names if n not in ALL_DETECTORS]
    if unknown:
        raise StudyError(f"unknown detectors {', '.join(unknown)}")
    if not Text.objects.filter(study=study).exists():
        raise StudyError("nothing to score: generate the texts first")
    job, created = DetectionJob.objects.select_for_update().get_or_create(study=study)
    if not created and job.state == DetectionJob.State.RUNNING and not job_is_stale(job):
        return None
    job.detectors = list(dict.fromkeys([*job.detectors, *names])) if detectors else names
    job.state = DetectionJob.State.QUEUED
    job.error = ""
    job.heartbeat_at = timezone.now()
    job.save(update_fields=["detectors", "state", "error", "heartbeat_at"])
    audit(study=study, action="detect", actor=actor, detectors=job.detectors)
    if send:
        enqueue(DETECTION.task, job.pk)
    return job


def _valid_scores(job: DetectionJob) -> set[tuple[int, str]]:
    rows = DetectorScore.objects.filter(job=job).values_list(
        "text_id", "detector", "provenance__text_sha256", "text__sha256"
    )
    return {(t, d) for t, d, have, want in rows if have == want}


def _store(job: DetectionJob, texts: list[Text], result, units: int) -> None:
    with transaction.atomic():
        locked = DetectionJob.objects.select_for_update().get(pk=job.pk)
        DetectorScore.objects.filter(text__in=texts, detector=result.detector).delete()
        DetectorScore.objects.bulk_create(
            DetectorScore(
                job=locked,
                text=text,
                detector=result.detector,
                score=None if math.isnan(score) else score,
                provenance={**result.provenance, "text_sha256": text.sha256},
            )
            for text, score in zip(texts, result.scores, strict=True)
        )
        if result.skipped:
            locked.skipped = {**locked.skipped, result.detector: result.skipped}
        locked.done_units += units
        locked.seconds += float(result.provenance.get("seconds") or 0.0)
        locked.heartbeat_at = timezone.now()
        locked.save(update_fields=["skipped", "done_units", "seconds", "heartbeat_at"])


def _training_articles(study: Study, n: int) -> list[Article]:
    """``n`` corpus articles outside the study and its context, drawn with the secret."""
    spec = study.spec
    used = set(study.study_articles.values_list("article_id", flat=True))
    pool = [
        a
        for a in Article.objects.filter(corpus=study.corpus)
        .exclude(pk__in=used)
        .exclude(key__in=study.context_keys)
        .order_by("key")
        if a.word_count >= max(spec["articles"]["min_words"], spec["target_words"] // 2)
    ]
    rng = derived_rng(study.secret, "detection-training")
    return rng.sample(pool, min(n, len(pool)))


def _training_texts(study: Study, condition, articles: list[Article]) -> dict[str, Any]:
    """Human and machine texts for ``articles`` made exactly as the condition makes its own."""
    import generator
    from studies.services.generation import generation_inputs

    seed = derived_int(study.secret, "detection-training", condition.name)
    inputs = generation_inputs(study, condition, articles, seed)
    threads = settings.NEWSEVAL_GENERATION_THREADS or None
    backend = generator.open_backend(inputs.entry, threads=threads)
    by_key = {t.key: t for t in inputs.targets}
    candidates: dict[str, list] = {}
    for batch in inputs.plan:
        for c in generator.run_batch(
            backend,
            batch,
            targets_by_key=by_key,
            context=inputs.context,
            prompt_format=inputs.prompt_format,
            decoding=inputs.decoding,
        ):
            candidates.setdefault(c.target_key, []).append(c)
    texts, labels, keys = [], [], []
    for target in inputs.targets:
        cands = sorted(candidates.get(target.key, []), key=lambda c: c.candidate_index)
        result = generator.select_candidate(
            cands, human_body=target.human_body, selection=inputs.selection
        )
        if result.chosen is None:
            continue
        texts += [result.human_text, result.machine_text]
        labels += [0, 1]
        keys += [target.key, target.key]
    return {"texts": texts, "labels": labels, "articles": keys, "model": condition.model}


def detection_run(*, job_id: int) -> None:
    """Run (or resume) the job to the end; safe to call twice."""
    import detectors as det

    job = job_claim(DETECTION, job_id)
    if job is None:
        return
    try:
        study = job.study
        cfg = study.spec.get("detection") or {}
        names = list(job.detectors)
        texts = list(Text.objects.filter(study=study).select_related("condition").order_by("pk"))
        zero = [d for d in names if d in det.ZERO_SHOT + det.PAIRED]
        sup = [d for d in names if d in det.SUPERVISED]
        DetectionJob.objects.filter(pk=job.pk).update(
            total_units=len(texts) * (len(zero) + len(sup)), done_units=0
        )
        valid = _valid_scores(job)
        done = sum(1 for t in texts for d in names if (t.pk, d) in valid)
        DetectionJob.objects.filter(pk=job.pk).update(done_units=done)
        settings_ = det.ScoringSettings(
            batch_size=int(cfg.get("batch_size", 8)), max_tokens=int(cfg.get("max_tokens", 512))
        )
        threads = settings.NEWSEVAL_GENERATION_THREADS or None
        # Chunks are fixed over all texts, so a resumed chunk is batched as before and its
        # scores come out bit for bit the same.
        chunks = [texts[i : i + CHUNK] for i in range(0, len(texts), CHUNK)]
        for chunk in chunks:
            if all((t.pk, d) in valid for t in chunk for d in zero):
                continue
            results = det.score_texts(
                [t.body for t in chunk],
                zero,
                model=cfg.get("model") or None,
                observer=cfg.get("observer") or None,
                settings=settings_,
                threads=threads,
            )
            for result in results:
                missing = sum((t.pk, result.detector) not in valid for t in chunk)
                _store(job, chunk, result, missing)
        if sup:
            _supervised(job, study, texts, sup, valid, int(cfg.get("training_articles", 20)))
        DetectionJob.objects.filter(pk=job.pk).update(
            state=DetectionJob.State.DONE, finished_at=timezone.now(), heartbeat_at=timezone.now()
        )
        audit(study=study, action="detection_done", detectors=names)
    except Exception as exc:
        log.exception("detection job %s failed", job_id)
        DetectionJob.objects.filter(pk=job_id).update(
            state=DetectionJob.State.FAILED,
            error=f"{type(exc).__name__}: {exc}",
            finished_at=timezone.now(),
        )
        raise


def _supervised(job, study, texts, names, valid, n_articles: int) -> None:
    import detectors as det

    for condition in study.conditions.order_by("position"):
        own = [t for t in texts if t.condition_id == condition.pk]
        if all((t.pk, d) in valid for t in own for d in names):
            continue
        job.refresh_from_db(fields=["training"])
        training = job.training.get(condition.name)
        if training is None:
            articles = _training_articles(study, n_articles)
            training = _training_texts(study, condition, articles)
            with transaction.atomic():
                locked = DetectionJob.objects.select_for_update().get(pk=job.pk)
                locked.training = {**locked.training, condition.name: training}
                locked.heartbeat_at = timezone.now()
                locked.save(update_fields=["training", "heartbeat_at"])
        prov = {
            "condition": condition.name,
            "train_articles": sorted(set(training["articles"])),
            "generated_with": training["model"],
        }
        for name in names:
            start = time.perf_counter()
            result = det.supervised.train_and_score(
                name,
                training["texts"],
                training["labels"],
                [t.body for t in own],
                train_provenance=prov,
            )
            result.provenance.setdefault("seconds", time.perf_counter() - start)
            _store(job, own, result, len(own))


def detection_complete(study: Study) -> tuple[bool, str]:
    """Whether every shown text has a current score from every detector of the job."""
    job = DetectionJob.objects.filter(study=study).first()
    if job is None:
        return False, "detection has not been run"
    if job.state != DetectionJob.State.DONE:
        return False, f"detection is {job.state}"
    valid = _valid_scores(job)
    missing = [
        t for t in Text.objects.filter(study=study) for d in job.detectors if (t.pk, d) not in valid
    ]
    if missing:
        return False, f"{len(missing)} scores are missing or stale; run detection again"
    return True, ""


def score_rows(study: Study) -> list[dict[str, Any]]:
    """One row per shown text and detector: the export ``detector_scores.csv``."""
    rows = []
    for s in DetectorScore.objects.filter(text__study=study).select_related(
        "text", "text__condition", "text__article"
    ):
        t = s.text
        prov = s.provenance or {}
        model = prov.get("scoring_model") or {}
        rows.append(
            {
                "item": f"T{t.pk}",
                "condition": t.condition.name,
                "article": t.article.key,
                "is_machine": int(t.is_machine),
                "detector": s.detector,
                "score": "" if s.score is None else repr(float(s.score)),
                "current": int(prov.get("text_sha256") == t.sha256),
                "scoring_model": model.get("model", "") if isinstance(model, dict) else "",
                "version": prov.get("version", ""),
                "seconds": prov.get("seconds", ""),
                "provenance": json.dumps(prov, sort_keys=True, default=str),
            }
        )
    return sorted(
        rows, key=lambda r: (r["detector"], r["condition"], r["article"], r["is_machine"])
    )


def detector_aucs(study: Study) -> list[dict[str, Any]]:
    """Per detector and condition, the AUC on the study's current scores (for review)."""
    from analysis.detection import auc

    groups: dict[tuple[str, str], tuple[list[float], list[int]]] = {}
    for r in score_rows(study):
        if r["score"] == "" or not r["current"]:
            continue
        scores, labels = groups.setdefault((r["detector"], r["condition"]), ([], []))
        scores.append(float(r["score"]))
        labels.append(r["is_machine"])
    out = []
    for (detector, condition), (scores, labels) in sorted(groups.items()):
        out.append(
            {
                "detector": detector,
                "condition": condition,
                "texts": len(scores),
                "auc": auc(scores, labels) if 0 < sum(labels) < len(labels) else None,
            }
        )
    return out


def detection_record(study: Study) -> dict[str, Any]:
    """What the frozen launch record holds about detection (withheld from the public view)."""
    job = DetectionJob.objects.filter(study=study).first()
    if job is None:
        return {}
    provenance: dict[str, Any] = {}
    scores = []
    for r in score_rows(study):
        prov = json.loads(r.pop("provenance"))
        prov.pop("text_sha256", None)
        provenance.setdefault(
            f"{r['detector']}/{r['condition']}",
            {k: v for k, v in prov.items() if k != "seconds"},
        )
        scores.append(
            {k: r[k] for k in ("condition", "article", "is_machine", "detector", "score")}
        )
    return {
        "detectors": job.detectors,
        "skipped": job.skipped,
        "provenance": provenance,
        "scores": scores,
    }
