"""``manage.py demo`` on a spec with a ``[detection]`` section: it waits for the scores, so
the demo still reaches live (launch needs every shown text scored)."""

import io

import pytest
from django.core.management import call_command
from django.db import connections

from studies import queueing
from studies.models import DetectionJob, Study, Text
from tests.factories import spec_text


@pytest.mark.django_db(transaction=True)  # the background threads see only committed rows
def test_demo_with_detectors_waits_for_the_scores_and_launches(
    shared_corpus_path, tiny_registry, tmp_path, monkeypatch, settings
):
    monkeypatch.setenv("NEWSEVAL_MODEL_REGISTRY", str(tiny_registry))
    settings.CELERY_BROKER_URL = ""  # in-process threads, as bin/demo without Redis
    cond = {"model": "tiny", "context_articles": 1, "candidates": 2, "max_new_tokens": 24}
    spec = tmp_path / "demo.toml"
    spec.write_text(
        spec_text(
            slug="demo",
            target_words=20,
            articles={"count": 4},
            generation={"batch_size": 4, "min_words_ratio": 0.0},
            detection={"detectors": ["loglik", "entropy"]},
            conditions=[{"name": "tiny", **cond}, {"name": "control", **cond, "control": True}],
        )
    )
    out = io.StringIO()
    try:
        call_command(
            "demo", corpus=str(shared_corpus_path), spec=str(spec), stdout=out, stderr=io.StringIO()
        )
    finally:  # the background thread keeps a connection: close it, so the database can go
        if queueing._pool is not None:
            queueing._pool.submit(connections.close_all).result(timeout=10)
    study = Study.objects.get(slug="demo")
    assert study.status == Study.Status.LIVE, out.getvalue()
    assert "scoring the demo texts" in out.getvalue()
    job = DetectionJob.objects.get(study=study)
    assert job.state == "done" and job.done_units == 2 * Text.objects.filter(study=study).count()
    assert len(study.frozen["detection"]["scores"]) == job.done_units
