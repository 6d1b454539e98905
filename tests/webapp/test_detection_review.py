"""The review page shows each detector's AUC before launch; judges never see scores."""

import pytest
from django.urls import reverse

from studies.models import DetectionJob, DetectorScore, Text
from tests.factories import fill_texts


@pytest.fixture
def researcher_client(client, django_user_model):
    user = django_user_model.objects.create_user("rita", password="pw-rita-123")
    client.force_login(user)
    return client, user


def test_review_shows_detector_auc(researcher_client, make_study):
    client, user = researcher_client
    study = make_study(slug="det-review", detection={"detectors": ["loglik"]})
    study.owner = user
    study.save(update_fields=["owner"])
    fill_texts(study)
    job = DetectionJob.objects.create(study=study, detectors=["loglik", "entropy"], state="done")
    texts = list(Text.objects.filter(study=study))
    DetectorScore.objects.bulk_create(
        DetectorScore(
            job=job,
            text=t,
            detector=name,
            score=sign * (-1.0 + t.is_machine + 0.001 * t.pk),
            provenance={"detector": name, "text_sha256": t.sha256},
        )
        for t in texts
        for name, sign in (("loglik", 1), ("entropy", -1))
    )
    page = client.get(reverse("dashboard:review", args=[study.slug]))
    assert page.status_code == 200
    body = page.content.decode()
    assert "Machine detectors" in body and "1.000" in body and "loglik" in body
    # entropy ranks every machine text as more human: said in words beside its AUC
    assert "0.000 <span" in body and body.count("below chance") == len(
        {t.condition_id for t in texts}
    )


def test_judge_pages_carry_no_detector_scores(make_live_study, client):
    study = make_live_study(slug="det-judge")
    job = DetectionJob.objects.create(study=study, detectors=["loglik"], state="done")
    DetectorScore.objects.bulk_create(
        DetectorScore(job=job, text=t, detector="loglik", score=1234.5678, provenance={})
        for t in Text.objects.filter(study=study)
    )
    page = client.get(f"/take/{study.slug}/", follow=True)
    assert page.status_code == 200
    assert b"1234.5678" not in page.content and b"loglik" not in page.content
