import hashlib
import json

import pytest

from studies.models import AuditEvent, ListEntry, Study, StudyList
from studies.services.studies import StudyError, canonical_hash, study_launch, study_transition
from studies.services.texts import article_drop
from tests.factories import fill_texts


def test_create_samples_articles_and_context_reproducibly(make_study):
    study = make_study()
    keys = [sa.article.key for sa in study.study_articles.select_related("article")]
    assert len(keys) == 8 and len(set(keys)) == 8
    assert len(study.context_keys) == 1 and study.context_keys[0] not in keys
    study.delete()
    again = make_study()
    assert [sa.article.key for sa in again.study_articles.select_related("article")] == keys


def test_launch_freezes_design_with_hash(make_live_study):
    study = make_live_study()
    assert study.status == Study.Status.LIVE
    assert StudyList.objects.filter(study=study).count() == 4
    assert study.design_hash == canonical_hash(study.frozen)
    recomputed = hashlib.sha256(
        json.dumps(study.frozen, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()
    ).hexdigest()
    assert recomputed == study.design_hash
    shown = {t["sha256"] for t in study.frozen["texts"]}
    for entry in ListEntry.objects.filter(study_list__study=study).select_related("text"):
        assert entry.text.sha256 in shown
    assert AuditEvent.objects.filter(study=study, action="launch").exists()


def test_dropped_article_leaves_every_condition(make_study):
    study = make_study()
    dropped = study.study_articles.first().article
    fill_texts(study)
    article_drop(study=study, article=dropped, kind="excluded", reason="garbled output")
    study = study_launch(study=study)
    assert not ListEntry.objects.filter(study_list__study=study, article=dropped).exists()
    assert study.frozen["dropped"] == [
        {"article": dropped.key, "kind": "excluded", "reason": "garbled output"}
    ]
    with pytest.raises(ValueError, match="frozen"):
        article_drop(
            study=study, article=study.study_articles.last().article, kind="excluded", reason="x"
        )


def test_exclusion_needs_reason(make_study):
    study = make_study()
    with pytest.raises(ValueError, match="needs a reason"):
        article_drop(
            study=study, article=study.study_articles.first().article, kind="excluded", reason=" "
        )


def test_lifecycle(make_live_study):
    study = make_live_study()
    with pytest.raises(StudyError):
        study_launch(study=study)
    study = study_transition(study=study, action="pause")
    study = study_transition(study=study, action="resume")
    study = study_transition(study=study, action="close")
    assert study.status == Study.Status.CLOSED and study.closed_at
    with pytest.raises(StudyError, match="cannot resume"):
        study_transition(study=study, action="resume")


def test_paired_within_launch(make_live_study):
    study = make_live_study(protocol="paired", design="within")
    lists = StudyList.objects.filter(study=study)
    assert lists.count() == 4
    for sl in lists:
        sides = [e.human_side for e in sl.entries.all()]
        assert sides.count("left") == sides.count("right")
        assert all(e.machine_text.is_machine and not e.text.is_machine for e in sl.entries.all())
