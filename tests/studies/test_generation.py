"""Generation through the study service, on a tiny random-weight model built in the test."""

import pytest
import redis
from django.conf import settings

from studies.models import Candidate, GenerationJob, Study, Text
from studies.services.generation import generation_run, generation_start, jobs_reconcile
from tests.factories import spec_text


@pytest.fixture
def tiny_study(corpus, tiny_registry, monkeypatch):
    monkeypatch.setenv("NEWSEVAL_MODEL_REGISTRY", str(tiny_registry))
    from studies.services.studies import study_create

    def make(slug="gen", **overrides):
        options = dict(
            slug=slug,
            target_words=20,
            articles={"count": 4},
            generation={"batch_size": 3, "min_words_ratio": 0.0},
            conditions=[
                {
                    "name": "tiny",
                    "model": "tiny",
                    "context_articles": 1,
                    "candidates": 2,
                    "temperature": 0.8,
                    "max_new_tokens": 24,
                },
                {
                    "name": "control",
                    "model": "tiny",
                    "context_articles": 0,
                    "candidates": 2,
                    "temperature": 1.5,
                    "max_new_tokens": 24,
                    "control": True,
                },
            ],
        )
        options.update(overrides)
        study, _ = study_create(spec_text=spec_text(**options))
        return study

    return make


def run_all(study, **kwargs):
    for job in generation_start(study=study, send=False):
        generation_run(job_id=job.pk, **kwargs)
    study.refresh_from_db()
    return study


def test_generation_makes_ready_study_with_provenance(tiny_study):
    study = run_all(tiny_study())
    assert study.status == Study.Status.READY
    for job in GenerationJob.objects.filter(study=study):
        assert job.state == "done" and job.done_units == job.total_units == 8
        assert job.total_batches == 3 and job.done_batches == 3
    kept = study.study_articles.filter(dropped=False).count()
    assert Text.objects.filter(study=study, is_machine=True).count() == 2 * kept
    for cand in Candidate.objects.filter(job__study=study):
        prov = cand.provenance
        for key in (
            "model_sha256",
            "decoding",
            "seed",
            "batch_index",
            "prompt_format",
            "context_article_ids",
            "new_tokens",
            "seconds",
        ):
            assert key in prov or any(key in k for k in prov), key
    chosen = Candidate.objects.filter(job__study=study, chosen=True)
    assert chosen.count() == 2 * kept
    for text in Text.objects.filter(study=study, is_machine=False):
        machine = Text.objects.get(condition=text.condition, article=text.article, is_machine=True)
        assert text.word_count <= max(machine.word_count, 20)


def test_rejections_drop_article_from_every_condition(tiny_study):
    study = tiny_study(slug="strict", generation={"batch_size": 4, "min_words_ratio": 1.0})
    study = run_all(study)
    rejected = Candidate.objects.filter(job__study=study).exclude(rejection_reason="")
    assert rejected.exists()
    for sa in study.study_articles.filter(dropped=True):
        assert sa.drop_kind == "failed" and sa.drop_reason


def test_interrupted_job_resumes_without_duplicates_and_same_texts(tiny_study):
    reference = run_all(tiny_study(slug="ref"))
    study = tiny_study(slug="cut")
    # Sampling seeds come from the study's secret: give the second study the same one.
    study.secret = reference.secret
    study.save(update_fields=["secret"])

    class Killed(Exception):
        pass

    def die_after_first(done, total):
        raise Killed

    jobs = generation_start(study=study, send=False)
    with pytest.raises(Killed):
        generation_run(job_id=jobs[0].pk, progress=die_after_first)
    job = GenerationJob.objects.get(pk=jobs[0].pk)
    assert job.state == "failed" and job.done_batches == 1
    # Make the job look abandoned, then resume everything.
    run_all(study)
    job.refresh_from_db()
    assert job.state == "done"
    assert Candidate.objects.filter(job=job).count() == job.total_units
    ref_texts = sorted(
        Text.objects.filter(study=reference).values_list(
            "condition__name", "article__key", "is_machine", "sha256"
        )
    )
    new_texts = sorted(
        Text.objects.filter(study=study).values_list(
            "condition__name", "article__key", "is_machine", "sha256"
        )
    )
    assert ref_texts == new_texts and any(machine for _, _, machine, _ in ref_texts)


def test_reconciler_resends_stale_jobs_to_redis(tiny_study, django_capture_on_commit_callbacks):
    study = tiny_study()
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    client.delete("generation")
    with django_capture_on_commit_callbacks(execute=True):
        jobs = generation_start(study=study)
    assert client.llen("generation") == 2
    GenerationJob.objects.filter(pk=jobs[0].pk).update(
        created_at="2000-01-01T00:00:00Z", heartbeat_at=None
    )
    with django_capture_on_commit_callbacks(execute=True):
        resent = jobs_reconcile()
    assert resent == [jobs[0].pk]
    assert client.llen("generation") == 3
    with django_capture_on_commit_callbacks(execute=True):
        assert jobs_reconcile() == []  # heartbeat refreshed: not re-sent every minute
    client.delete("generation")
