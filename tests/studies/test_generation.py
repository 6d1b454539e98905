"""Generation through the study service, on a tiny random-weight model built in the test."""

import pytest
import redis
from django.conf import settings

from studies.models import Candidate, GenerationJob, Study, Text
from studies.services.generation import generation_run, generation_start
from studies.services.jobs import jobs_reconcile
from tests.factories import generation_spec, tiny_condition


@pytest.fixture
def tiny_study(corpus, tiny_registry, monkeypatch):
    monkeypatch.setenv("NEWSEVAL_MODEL_REGISTRY", str(tiny_registry))
    from studies.services.studies import study_create

    def make(slug="gen", **overrides):
        options = dict(
            slug=slug,
            articles=4,
            batch_size=3,
            conditions=[
                tiny_condition(),
                tiny_condition("control", context_articles=0, temperature=1.5, control=True),
            ],
        )
        options.update(overrides)
        study, _ = study_create(spec_text=generation_spec(**options))
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
    assert resent["generation"] == [jobs[0].pk]
    assert client.llen("generation") == 3
    with django_capture_on_commit_callbacks(execute=True):
        assert jobs_reconcile()["generation"] == []  # heartbeat refreshed: not every minute
    client.delete("generation")


def test_progress_counts_texts_inside_a_batch_and_heartbeats(tiny_study, monkeypatch):
    from studies.selectors.dashboard import generation_progress
    from studies.services import generation

    study = _lean(tiny_study, "live", batch_size=4)
    seen = []
    real = generation._BatchProgress.__call__

    def spy(self, tokens, finished):
        real(self, tokens, finished)
        job = GenerationJob.objects.get(pk=self.job_id)
        if job.batch_tokens:
            seen.append((job.batch_tokens, job.batch_texts_done, generation_progress(study)))

    monkeypatch.setattr(generation._BatchProgress, "__call__", spy)
    monkeypatch.setattr(generation._BatchProgress, "__init__", _every_step(generation))
    run_all(study)
    assert seen, "no progress was written inside a batch"
    tokens = [t for t, _, _ in seen]
    assert tokens[0] < max(tokens)  # written step by step, not once per batch
    _, finished, progress = seen[-1]
    assert finished == 4  # the whole batch, before it is stored
    assert progress["tokens_per_second"] and progress["heartbeat_age_s"] is not None
    assert progress["done"] >= 4 and progress["seconds_left"] is not None
    for job in GenerationJob.objects.filter(study=study):
        assert job.batch_tokens == job.batch_texts_done == 0 and job.batch_started_at is None


def _lean(tiny_study, slug, batch_size):
    """One candidate per article and few tokens: the generation path at its cheapest."""
    conditions = [
        {"name": "tiny", "model": "tiny", "candidates": 1, "max_new_tokens": 12},
        tiny_condition(
            "control",
            context_articles=0,
            candidates=1,
            temperature=1.5,
            max_new_tokens=12,
            control=True,
        ),
    ]
    return tiny_study(slug=slug, batch_size=batch_size, conditions=conditions)


def _every_step(generation):
    real = generation._BatchProgress.__init__

    def init(self, job_id, every=0.5):
        real(self, job_id, every=0.0)

    return init


def test_cancel_keeps_stored_batches_and_resumes(tiny_study, monkeypatch):
    from studies.services import generation
    from studies.services.generation import generation_cancel

    study = _lean(tiny_study, "stop", batch_size=2)
    monkeypatch.setattr(generation._BatchProgress, "__init__", _every_step(generation))
    jobs = generation_start(study=study, send=False)
    real = generation._BatchProgress.__call__
    calls = {"n": 0}

    def cancel_in_second_batch(self, tokens, finished):
        calls["n"] += 1
        job = GenerationJob.objects.get(pk=self.job_id)
        if job.done_batches == 1 and not job.cancel_requested:
            generation_cancel(study=study)
        real(self, tokens, finished)

    monkeypatch.setattr(generation._BatchProgress, "__call__", cancel_in_second_batch)
    generation_run(job_id=jobs[0].pk)
    job = GenerationJob.objects.get(pk=jobs[0].pk)
    assert job.state == "cancelled" and job.done_batches == 1 and not job.cancel_requested
    assert Candidate.objects.filter(job=job).count() == 2  # the first batch's
    other = GenerationJob.objects.get(pk=jobs[1].pk)
    assert other.state == "cancelled"  # queued: stopped at once
    generation_run(job_id=other.pk)  # a message already in the queue does nothing
    assert GenerationJob.objects.get(pk=other.pk).done_batches == 0
    study.refresh_from_db()
    assert study.status == "draft"
    monkeypatch.setattr(generation._BatchProgress, "__call__", real)
    study = run_all(study)
    job.refresh_from_db()
    assert job.state == "done" and job.done_batches == job.total_batches
    assert Candidate.objects.filter(job=job).count() == job.total_units
    assert study.status == Study.Status.READY
