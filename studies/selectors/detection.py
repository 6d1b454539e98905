"""Reads for the dashboard: the detection job's state and each detector's AUC (researchers
only; nothing judge-facing imports this)."""

from __future__ import annotations

from typing import Any

from studies.models import DetectionJob, Study


def detection_overview(study: Study) -> dict[str, Any] | None:
    """None when the study runs no detectors; else the job's progress and per-detector AUCs."""
    from studies.services.detection import detector_aucs

    configured = (study.spec.get("detection") or {}).get("detectors") or []
    job = DetectionJob.objects.filter(study=study).first()
    if not configured and job is None:
        return None
    return {
        "configured": configured,
        "job": job,
        "aucs": detector_aucs(study) if job is not None else [],
        "skipped": (job.skipped if job else {}) or {},
    }
