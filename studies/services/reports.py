"""The study report: the export, analysed by the ``analysis`` library.

The dashboard's report and ``python -m analysis`` on an export folder give the same
numbers because both run ``analysis.analyze_path`` on the same files.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from studies.models import Study
from studies.services.exports import export_files
from studies.services.studies import StudyError, audit


def study_report(
    *,
    study: Study,
    out_dir: Path | str,
    actor=None,
    seed: int | None = None,
    n_boot: int = 2000,
    peek: bool = False,
) -> Path:
    """Write report.html, results.json, tables and figures to ``out_dir``; return report.html.

    Accuracy of a study that is not closed is shown only on an explicit, audited peek:
    looking at interim results without a sequential design inflates false positives.
    """
    import analysis

    if study.status != Study.Status.CLOSED and not peek:
        raise StudyError(
            "the study is not closed: accuracy stays hidden unless you explicitly peek "
            "(each look is recorded in the audit log and the report)"
        )
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    try:
        with tempfile.TemporaryDirectory(prefix="newseval-export-") as tmp:
            for name, content in export_files(study).items():
                (Path(tmp) / name).write_text(content, encoding="utf-8")
            for name in ("responses.csv", "judges.csv", "study.json"):
                (out / name).write_text(
                    (Path(tmp) / name).read_text(encoding="utf-8"), encoding="utf-8"
                )
            analysis.analyze_path(
                tmp, out, seed=study.seed if seed is None else seed, n_boot=n_boot
            )
    except Exception as exc:
        # A failed build is logged as such, never as a report (or a peek: nothing was seen).
        audit(study=study, action="report_failed", actor=actor, error=f"{exc}"[:500])
        raise
    audit(
        study=study, action="peek" if study.status != Study.Status.CLOSED else "report", actor=actor
    )
    return out / "report.html"
