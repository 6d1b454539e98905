"""The dashboard's report and `python -m analysis` on the exported files agree."""

import json
import subprocess
import sys

import pytest

from studies.models import Judge
from studies.services.assignment import judge_enter
from studies.services.exports import export_files
from studies.services.reports import study_report
from studies.services.studies import StudyError, study_transition
from tests.studies.test_exports import answer_all


def make_answers(study, judges=8):
    import random

    rng = random.Random(4)
    for _ in range(judges):
        judge = judge_enter(study_id=study.pk, platform="link", external_id=None).judge
        answer_all(judge, lambda item: rng.randint(1, 5))
    assert Judge.objects.filter(study=study, status="completed").count() == judges


def numbers(results: dict) -> dict:
    """Everything but run times and file metadata."""

    def strip(value):
        if isinstance(value, dict):
            return {
                k: strip(v)
                for k, v in value.items()
                if k not in ("seconds", "generated_at", "exported_at", "audit_log")
            }
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return strip(results)


def test_report_equals_cli_on_export(make_live_study, tmp_path):
    study = make_live_study()
    make_answers(study)
    with pytest.raises(StudyError, match="not closed"):
        study_report(study=study, out_dir=tmp_path / "early")
    study = study_transition(study=study, action="close")
    study_report(study=study, out_dir=tmp_path / "dashboard", n_boot=300)

    export = tmp_path / "export"
    export.mkdir()
    for name, content in export_files(study).items():
        (export / name).write_text(content, encoding="utf-8")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "analysis",
            str(export),
            "--out",
            str(tmp_path / "cli"),
            "--seed",
            str(study.seed),
            "--n-boot",
            "300",
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    dashboard = json.loads((tmp_path / "dashboard" / "results.json").read_text())
    cli = json.loads((tmp_path / "cli" / "results.json").read_text())
    table = dashboard["paper_table"]["table"]
    assert [row["condition"] for row in table] == ["control", "small"]
    assert sum(row["judgments"] for row in table) == 8 * 8
    assert numbers(dashboard) == numbers(cli)
    assert (tmp_path / "dashboard" / "report.html").stat().st_size > 10_000
