"""The whole study, end to end: real texts from SmolLM2, shown alike (paragraphs, length,
characters, a form audit at chance) and scored by machine detectors, simulated judges over
HTTP, the analysis recovering each condition's true accuracy and setting the judges beside
the detectors."""

import csv
import io
import json
import time

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from generator.text import length_ratio
from studies.models import DetectionJob, Judge, JudgeItem, ListEntry, Study
from studies.selectors.judging import launched_entry_content, practice_item, text_paragraphs
from studies.services.detection import detection_run
from studies.services.exports import export_files
from studies.services.generation import generation_run, generation_start
from studies.services.reports import study_report
from studies.services.studies import study_create, study_launch, study_transition
from studies.services.tell_audit import tell_audit_current
from studies.services.tokens import token_create
from studies.simulation import Simulator
from studies.simulation_model import JudgeModel
from tests.factories import spec_text

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

DETECTORS = ["loglik", "logrank", "entropy", "fast_detectgpt"]
MODELS = {
    "smollm2": JudgeModel(sensitivity=0.6, bias=0.3, idk=0.05),
    "control": JudgeModel(sensitivity=2.0, bias=0.0, idk=0.02, attention_fail=0.1),
}


def test_real_texts_simulated_judges_recovered_accuracy(
    corpus, smollm2, live_server, tmp_path, settings
):
    settings.NEWSEVAL_ENTRY_RATE = "100000/m"  # every simulated judge comes from 127.0.0.1
    settings.NEWSEVAL_TELL_AUDIT_REPLICATES = 100  # the production default
    owner = get_user_model().objects.create_user("researcher", password="x")
    token = token_create(user=owner, name="simulation")
    study, warnings = study_create(
        owner=owner,
        spec_text=spec_text(
            slug="e2e",
            target_words=80,
            articles={"count": 10, "exclude_containing": ["Wikinews"]},
            judges_per_list=40,
            attention_checks={"count": 1},
            detection={"detectors": DETECTORS},
            conditions=[
                {
                    "name": "smollm2",
                    "model": "smollm2-135m",
                    "context_articles": 1,
                    "candidates": 4,
                    "temperature": 0.8,
                    "top_p": 0.95,
                    "max_new_tokens": 150,
                },
                {
                    "name": "control",
                    "model": "smollm2-135m",
                    "context_articles": 0,
                    "candidates": 6,
                    "temperature": 1.3,
                    "max_new_tokens": 150,
                    "control": True,
                },
            ],
        ),
    )
    for job in generation_start(study=study, send=False):
        generation_run(job_id=job.pk)
    study.refresh_from_db()
    assert study.status == Study.Status.READY
    kept = study.study_articles.filter(dropped=False).count()
    assert kept >= 4, (
        "too many articles failed generation: "
        f"{list(study.study_articles.filter(dropped=True).values_list('drop_reason', flat=True))}"
    )
    for text in study.texts.filter(is_machine=True):
        assert text.provenance["model"] == "smollm2-135m"
        max_words = text.provenance["max_words"]
        assert 0 < text.word_count <= max_words <= 80
        human = study.texts.get(condition=text.condition, article=text.article, is_machine=False)
        assert 0 < human.word_count <= max_words
        assert text.provenance["context_article_ids"] == (
            study.context_keys[:1] if text.condition.name == "smollm2" else []
        )
    _detect(study)
    assert_shown_alike(study)
    client = Client()
    client.force_login(owner)
    overview = client.get(f"/dashboard/{study.slug}/").content.decode()
    assert 'id="tell-audit"' in overview and 'id="form-parity"' in overview, "form tells"
    study = study_launch(study=study, actor=owner)
    assert len(study.frozen["detection"]["scores"]) == study.texts.count() * len(DETECTORS)
    for entry in ListEntry.objects.filter(study_list__study=study, is_attention=False):
        content = launched_entry_content(
            design_hash=study.design_hash, entry_id=entry.pk, protocol=study.protocol
        )
        assert "\ufffd" not in content.title + "".join(content.bodies_html)
    for position in range(len(study.practice)):
        item = practice_item(study=study, position=position)
        assert "\ufffd" not in "".join(item.view.bodies_html)

    simulator = Simulator(
        base_url=live_server.url,
        slug=study.slug,
        token=token,
        models=MODELS,
        default=JudgeModel(),
        seed=11,
    )
    report = simulator.run(judges=48, concurrency=1)
    summary = report.summary()
    assert summary["outcomes"] == {"completed": 48}, summary
    sent = {(a["item"]) for run in report.runs for a in run.answers}
    stored = set(
        JudgeItem.objects.filter(judge__study=study, answered_at__isnull=False).values_list(
            "token", flat=True
        )
    )
    assert sent == stored and len(sent) == summary["answers_sent"]
    assert Judge.objects.filter(study=study, simulated=True).count() == 48

    study = study_transition(study=study, action="close", actor=owner)
    study_report(study=study, out_dir=tmp_path, actor=owner, n_boot=500)
    results = json.loads((tmp_path / "results.json").read_text())
    html = (tmp_path / "report.html").read_text()
    assert "simulated" in html.lower()
    assert 'id="tell-audit"' in html
    assert {(r["condition"], r["group"]) for r in results["tell_audit"]["rows"]} == {
        (c, g) for c in MODELS for g in ("form", "style")
    }
    table = _paper_table(results)
    for name, model in MODELS.items():
        row = table[name]
        truth = model.true_accuracy()
        # A 95 % interval misses the truth in 1 run of 20 per condition; widened by a quarter
        # of its width on each side (about 2.9 standard errors) so the test fails on a wrong
        # estimate, not on chance.
        slack = 0.25 * (row["ci_high"] - row["ci_low"])
        assert row["ci_low"] - slack <= truth <= row["ci_high"] + slack, (name, truth, row)
    _check_detection_section(study, results, html, tmp_path)


def _detect(study):
    """Finish the detection job that generation queued (here, or in a worker if one has it)."""
    job = DetectionJob.objects.get(study=study)
    detection_run(job_id=job.pk)
    deadline = time.monotonic() + 120
    while job.state != DetectionJob.State.DONE and time.monotonic() < deadline:
        time.sleep(0.5)
        job.refresh_from_db()
    assert job.state == DetectionJob.State.DONE, job.error


def _check_detection_section(study, results, html, out):
    """The report's section is there with every figure, and its AUCs are scikit-learn's on the
    exported scores of the judged items."""
    from sklearn.metrics import roc_auc_score

    section = results["detection"]
    files = export_files(study)
    for name in ("responses.csv", "detector_scores.csv"):  # kept beside the report to inspect
        (out / name).write_text(files[name])
    (out / "report.html").write_text(html)
    assert "Humans and machine detectors on the same items" in html
    for alt in ("ROC: detectors and judges", "items: judges' accuracy vs detector score"):
        assert f"<img alt='{alt.replace(chr(39), '&#x27;')}' src='data:image/png" in html, alt
    judged = {
        r["item"]
        for r in csv.DictReader(io.StringIO(files["responses.csv"]))
        if r["excluded"] == "0" and r["is_attention"] == "0"
    }
    scores = list(csv.DictReader(io.StringIO(files["detector_scores.csv"])))
    rows = {(r["condition"], r["detector"]): r for r in section["table"]}
    assert {d for _, d in rows} == set(DETECTORS)
    for (condition, detector), row in rows.items():
        mine = [
            r
            for r in scores
            if r["condition"] == condition and r["detector"] == detector and r["item"] in judged
        ]
        labels = [int(r["is_machine"]) for r in mine]
        values = [float(r["score"]) for r in mine]
        assert row["texts"] == len(mine)
        assert abs(row["auc"] - roc_auc_score(labels, values)) < 1e-9, (condition, detector)
        assert row["auc_lo"] <= row["auc"] <= row["auc_hi"]
        assert row["human_auc"] is not None and row["diff_auc_lo"] <= row["diff_auc_hi"]


def assert_shown_alike(study) -> None:
    """Each article's human and machine texts as judges see them: the same number of
    paragraphs, lengths within the spec's ratio, nothing unshowable; and the form features
    cannot tell them apart (their AUC interval covers chance) in any condition."""
    ratio = study.spec["min_length_ratio"]
    assert study.spec["paragraphs"] == "match"
    dropped = study.study_articles.filter(dropped=True).values("article")
    for machine in study.texts.filter(is_machine=True).exclude(article__in=dropped):
        human = study.texts.get(
            condition=machine.condition, article=machine.article, is_machine=False
        )
        shown_h, shown_m = text_paragraphs(human.body), text_paragraphs(machine.body)
        assert len(shown_h) == len(shown_m), (machine.article.key, shown_h, shown_m)
        assert length_ratio(" ".join(shown_h), " ".join(shown_m)) >= ratio
        assert "\ufffd" not in "".join(shown_h + shown_m)
    audit = tell_audit_current(study=study)
    assert audit["method"]["interval"].endswith("replicates")
    for condition in audit["conditions"]:
        form = condition["groups"]["form"]
        assert form["low"] <= 0.5 <= form["high"], (condition["condition"], form)
        assert condition["groups"]["style"]["auc"] is not None


def _paper_table(results: dict) -> dict:
    """The paper's table rows by condition; every judge here is simulated."""
    assert results["population"] == "simulated" and results["all_judges_simulated"]
    rows = results["paper_table"]["table"]
    return {row["condition"]: row for row in rows}
