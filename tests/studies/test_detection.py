"""Detection jobs through the study service, on tiny random-weight models built in the test."""

import csv
import io
import json

import pytest
from django.core.management import call_command

from studies.models import DetectionJob, DetectorScore, Study, Text
from studies.services.detection import detection_run, detection_start, detector_aucs
from studies.services.exports import export_files
from studies.services.generation import generation_run, generation_start
from studies.services.jobs import jobs_reconcile
from studies.services.studies import StudyError, design_record, study_launch, study_transition
from tests.factories import fill_texts, spec_text

DETECTORS = [
    "loglik",
    "logrank",
    "entropy",
    "fast_detectgpt",
    "binoculars",
    "lr_features",
    "lr_ngrams",
]


@pytest.fixture
def detected_study(corpus, tiny_registry, monkeypatch):
    monkeypatch.setenv("NEWSEVAL_MODEL_REGISTRY", str(tiny_registry))
    from studies.services.studies import study_create

    cond = {"model": "tiny", "context_articles": 1, "candidates": 2, "max_new_tokens": 24}
    study, _ = study_create(
        spec_text=spec_text(
            slug="det",
            target_words=20,
            articles={"count": 4},
            generation={"batch_size": 4, "min_words_ratio": 0.0},
            detection={"detectors": DETECTORS, "training_articles": 4, "batch_size": 3},
            conditions=[{"name": "tiny", **cond}, {"name": "control", **cond, "control": True}],
        )
    )
    for job in generation_start(study=study, send=False):
        generation_run(job_id=job.pk)
    study.refresh_from_db()
    assert study.status == Study.Status.READY
    return study


def _scores(study):
    return {
        (s.text_id, s.detector): s.score for s in DetectorScore.objects.filter(text__study=study)
    }


def test_detection_scores_every_shown_text_and_resumes(detected_study):
    study = detected_study
    job = DetectionJob.objects.get(study=study)  # queued when generation finished
    assert job.state == "queued" and job.detectors == DETECTORS
    with pytest.raises(StudyError, match="detectors must score"):
        study_launch(study=study, acknowledge_tells=True)  # the tiny model writes digits
    out = io.StringIO()
    call_command("detect", study.slug, stdout=out)
    assert "fast_detectgpt [tiny]: AUC" in out.getvalue()
    assert "binoculars: skipped" in out.getvalue()
    job.refresh_from_db()
    texts = Text.objects.filter(study=study).count()
    assert job.state == "done" and job.done_units == job.total_units == texts * len(DETECTORS)
    assert "no second local model" in job.skipped["binoculars"]
    first = _scores(study)
    assert len(first) == texts * len(DETECTORS)
    assert all(v is not None for (t, d), v in first.items() if d != "binoculars")
    assert set(job.training) == {"tiny", "control"}
    train_keys = set(job.training["tiny"]["articles"])
    study_keys = set(study.study_articles.values_list("article__key", flat=True))
    assert train_keys and not train_keys & study_keys
    # Resume: lose some scores; a second run restores exactly them, with the same values.
    lost = DetectorScore.objects.filter(text__study=study, detector="fast_detectgpt")[:3]
    DetectorScore.objects.filter(pk__in=[s.pk for s in lost]).delete()
    DetectionJob.objects.filter(pk=job.pk).update(state="queued")
    detection_run(job_id=job.pk)
    assert _scores(study) == first
    rows = detector_aucs(study)
    assert {r["detector"] for r in rows} == set(DETECTORS) - {"binoculars"}
    assert all(0 <= r["auc"] <= 1 for r in rows)

    files = export_files(study)
    exported = list(csv.DictReader(io.StringIO(files["detector_scores.csv"])))
    assert len(exported) == len(first)
    assert {"item", "detector", "score", "provenance"} <= set(exported[0])

    study = study_launch(study=study, acknowledge_tells=True)
    assert len(study.frozen["detection"]["scores"]) == len(first)
    public = json.dumps(design_record(study=study))
    assert "fast_detectgpt" in public  # the spec says which detectors run ...
    assert '"scores"' not in public and "detection" not in design_record(study=study)["public"]
    study_transition(study=study, action="close")
    study.refresh_from_db()
    assert design_record(study=study)["design"]["detection"]["scores"]


def test_detection_start_checks_and_reconciler(make_study):
    study = make_study(slug="det-start", detection={"detectors": ["loglik"]})
    with pytest.raises(StudyError, match="generate the texts first"):
        detection_start(study=study)
    fill_texts(study)
    with pytest.raises(StudyError, match="unknown detectors"):
        detection_start(study=study, detectors=["nope"])
    job = detection_start(study=study, send=False)
    assert job.state == "queued" and job.detectors == ["loglik"]
    DetectionJob.objects.filter(pk=job.pk).update(heartbeat_at=job.created_at.replace(year=2000))
    assert jobs_reconcile()["detection"] == [job.pk]
    assert jobs_reconcile()["detection"] == []  # re-sent once per stale period
