import csv
import io
import json

from django.core.management import call_command
from django.utils import timezone

from studies.models import AuditEvent, Judge, JudgeItem
from studies.services.assignment import judge_enter
from studies.services.exports import (
    OPTIONAL_COLUMNS,
    RESPONSE_COLUMNS,
    export_files,
)
from studies.services.judge_data import judge_data_delete


def answer_all(judge, rating_for):
    for item in judge.items.select_related("entry", "entry__text"):
        item.rating = rating_for(item)
        item.served_at = item.answered_at = timezone.now()
        item.server_ms = 4000
        item.save()
    judge.status = Judge.Status.COMPLETED
    judge.completed_at = timezone.now()
    judge.closing = {"looked_up": "no", "seen_before": "no", "comments": "fine"}
    judge.save()


def rows(files, name):
    return list(csv.DictReader(io.StringIO(files[name])))


def test_responses_csv_columns_and_scoring(make_live_study):
    study = make_live_study(attention_checks={"count": 1, "positions": [3]})
    judge = judge_enter(study_id=study.pk, platform="prolific", external_id="PID-SECRET").judge

    def perfect(item):
        if item.entry.is_attention:
            return item.entry.attention["expected_rating"]
        return 5 if item.entry.text.is_machine else 1

    answer_all(judge, perfect)
    files = export_files(study)
    header = files["responses.csv"].splitlines()[0].split(",")
    assert header == RESPONSE_COLUMNS + OPTIONAL_COLUMNS
    data = rows(files, "responses.csv")
    assert len(data) == 9
    scored = [r for r in data if r["is_attention"] == "0"]
    assert all(r["correct"] == "1" for r in scored)
    assert all(r["excluded"] == "0" for r in data)
    assert {r["judge"] for r in data} == {judge.pseudonym}
    everything = "".join(files.values())
    assert "PID-SECRET" not in everything, "platform ids must stay out of the exports"
    tokens = set(JudgeItem.objects.values_list("token", flat=True))
    assert not any(r["item"] in tokens for r in data), "item must be the internal id"
    control = [r for r in scored if r["condition"] == "control"]
    assert all(r["is_control"] == "1" for r in control)


def test_neutral_and_wrong_and_exclusions(make_live_study):
    study = make_live_study(attention_checks={"count": 1, "positions": [1]})
    judge = judge_enter(study_id=study.pk, platform="link", external_id=None).judge
    answer_all(
        judge,
        lambda item: (
            3
            if not item.entry.is_attention
            else 5
            if item.entry.attention["expected_rating"] == 1
            else 1
        ),
    )
    data = rows(export_files(study), "responses.csv")
    assert all(r["correct"] == "" for r in data if r["is_attention"] == "0")
    assert all(
        r["excluded"] == "1" and "failed attention check" in r["exclusion_reason"] for r in data
    )
    judges = rows(export_files(study), "judges.csv")
    assert judges[0]["attention_failures"] == "1" and judges[0]["excluded"] == "1"


def test_payments_only_on_request_and_withdrawal(make_live_study, tmp_path):
    study = make_live_study()
    judge = judge_enter(study_id=study.pk, platform="prolific", external_id="PID-9").judge
    answer_all(judge, lambda item: 1)
    assert "payments.csv" not in export_files(study)
    assert "PID-9" in export_files(study, payments=True)["payments.csv"]
    judge_data_delete(judge=judge)
    files = export_files(study)
    assert rows(files, "responses.csv") == [] and rows(files, "judges.csv") == []
    call_command("export", study.slug, "--out", str(tmp_path))
    record = json.loads((tmp_path / "study.json").read_text())
    assert record["design_hash"] == study.design_hash
    assert [e["action"] for e in record["audit_log"]][-2:] == ["withdraw", "export"]
    assert AuditEvent.objects.filter(study=study, action="export").count() == 1


def test_items_csv_has_provenance_and_licence(make_live_study):
    study = make_live_study()
    items = rows(export_files(study), "items.csv")
    assert len(items) == 2 * 2 * 8
    assert all(r["license"] and r["sha256"] and r["provenance"] for r in items)


def test_export_columns_are_the_ones_the_analysis_reads():
    # studies/ keeps its own copy so the web processes need not import pandas;
    # this keeps the two sides of the responses.csv contract from drifting apart.
    from analysis.data import OPTIONAL_COLUMNS as ANALYSIS_OPTIONAL
    from analysis.data import REQUIRED_COLUMNS

    assert tuple(RESPONSE_COLUMNS) == REQUIRED_COLUMNS
    assert tuple(OPTIONAL_COLUMNS) == ANALYSIS_OPTIONAL
