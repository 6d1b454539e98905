"""A real inference engine: vLLM's CPU build serving SmolLM2 on 127.0.0.1, a study's texts
generated through the ``openai`` backend by a Celery worker, the server killed in the middle of
the job and restarted, the job resumed without duplicates.

One server for the module, a tiny study (3 articles x 2 candidates, no context article, 40 new
tokens). Measured on the 2-core machine under a load average of 12-15 (other jobs): 464 s, of
which the two server starts took 122 s and 75 s and each first request after a start about
1.5 minutes; vLLM's own figure for a start on an idle machine of this kind is 26-28 s.
``bin/setup-engine`` is called first; it returns at once when ~/.cache holds the engine.
"""

from __future__ import annotations

import pytest
from django.db import connection

from generator.engines import SERVED_NAME, VLLMServer, engine_version, registry_entry
from studies.models import Candidate, GenerationJob, Study, Text
from studies.services.generation import generation_start
from tests.factories import generation_spec
from tests.faults.helpers import Worker, first_batch_stored, wait_for_job

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ARTICLES, CANDIDATES, MAX_NEW_TOKENS = 3, 2, 40


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    from generator.engines import setup_engine

    setup_engine(quiet=True)
    server = VLLMServer(scratch=tmp_path_factory.mktemp("vllm"))
    server.start(timeout=600)
    yield server
    server.stop()


@pytest.fixture
def engine_registry(engine, tmp_path):
    path = tmp_path / "models.toml"
    path.write_text(
        'default = "engine"\n' + registry_entry("engine", engine.url, concurrency=4, logprobs=1)
    )
    return path


def test_study_through_a_real_server_killed_and_restarted_mid_job(
    engine, engine_registry, corpus, redis_server, monkeypatch, settings, tmp_path
):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL")
    monkeypatch.setenv("NEWSEVAL_MODEL_REGISTRY", str(engine_registry))
    settings.CELERY_BROKER_URL = redis_server.url
    from studies.services.studies import study_create

    study = study_create(
        spec_text=generation_spec(
            slug="engine",
            articles=ARTICLES,
            batch_size=CANDIDATES,
            conditions=[
                {
                    "name": "served",
                    "model": "engine",
                    "context_articles": 0,  # short prompts: prefill is most of a request here
                    "candidates": CANDIDATES,
                    "temperature": 0.8,
                    "max_new_tokens": MAX_NEW_TOKENS,
                    "control": True,
                }
            ],
        )
    )[0]
    with Worker(
        redis_server.url,
        tmp_path / "worker.log",
        NEWSEVAL_MODEL_REGISTRY=str(engine_registry),
        # Never stale here: the job resumes because it is started again after failing, and
        # a reconciler re-sending a job queued before the worker booted would add an attempt.
        NEWSEVAL_JOB_STALE_SECONDS="3600",
    ):
        job = first_batch_stored(study, timeout=600, what="the first batch from the server")
        engine.kill()
        job.refresh_from_db()
        assert 1 <= job.done_batches < job.total_batches, "the server should die mid-job"
        stored_before = Candidate.objects.filter(job=job).count()
        # The worker retries with backoff (about 15 s), then marks the job failed.
        wait_for_job(job, "failed", timeout=120, what="the job to fail while the server is down")
        assert "no answer after" in GenerationJob.objects.get(pk=job.pk).error
        engine.start(timeout=600)
        generation_start(study=study)  # resumes the failed job: only the missing batches
        wait_for_job(job, "done", timeout=600, what="the resumed job")

    job.refresh_from_db()
    assert job.attempts == 2 and job.total_units == ARTICLES * CANDIDATES
    rows = list(Candidate.objects.filter(job=job).select_related("article"))
    assert len(rows) == job.total_units > stored_before
    pairs = [(r.article.key, r.candidate_index) for r in rows]
    assert len(set(pairs)) == len(pairs), "a candidate was stored twice"
    assert sorted({r.batch_index for r in rows}) == list(range(job.total_batches))

    version = engine_version()
    for row in rows:
        p = row.provenance
        assert p["backend"] == "openai" and p["server_model"] == SERVED_NAME
        assert version in (p["system_fingerprint"] or ""), p["system_fingerprint"]
        assert p["request_n"] == CANDIDATES and p["choice_index"] == row.candidate_index
        assert p["concurrency"] == 4
        assert 0 < p["new_tokens"] <= MAX_NEW_TOKENS
        assert len(p["logprobs"]["tokens"]) == p["new_tokens"]
        assert all(v is None or v <= 0 for v in p["logprobs"]["token_logprobs"])
    by_article: dict[str, list] = {}
    for row in rows:
        by_article.setdefault(row.article.key, []).append(row)
    assert all(a.text != b.text for a, b in by_article.values()), "n = 2 gave one text twice"

    # Selection: one chosen candidate and one machine text per kept article.
    study.refresh_from_db()
    assert study.status == Study.Status.READY
    kept = study.study_articles.filter(dropped=False)
    machine = Text.objects.filter(study=study, is_machine=True)
    assert machine.count() == kept.count() >= 1
    for sa in kept:
        chosen = [r for r in by_article[sa.article.key] if r.chosen]
        assert len(chosen) == 1
        text = machine.get(article=sa.article)
        assert text.provenance["seed"] == chosen[0].provenance["seed"]
        assert text.provenance["system_fingerprint"] == chosen[0].provenance["system_fingerprint"]

    # A batch lost to the kill is regenerated as it was: batch 0, stored before the kill, asked
    # of the restarted server again through the backend, gives the same texts.
    import generator
    from studies.services.generation import _inputs, storable

    inputs = _inputs(job)
    backend = generator.open_backend(inputs.entry)
    again = generator.run_batch(
        backend,
        inputs.plan[0],
        targets_by_key={t.key: t for t in inputs.targets},
        context=inputs.context,
        prompt_format=inputs.prompt_format,
        decoding=inputs.decoding,
    )
    stored = {(r.article.key, r.candidate_index): r.text for r in rows if r.batch_index == 0}
    assert {(c.target_key, c.candidate_index): storable(c.text) for c in again} == stored
    assert len(engine.ready_seconds) == 2
    print(f"vLLM {version} ready in {', '.join(f'{s:.0f} s' for s in engine.ready_seconds)}")
