"""The report's sections: one tuple, ``SECTIONS``, that the pipeline and the report loop over.

Each entry is a :class:`Section`: a results.json key, a title, and a ``build(ctx)`` that
computes the section from the analysis :class:`Context` and returns None (nothing to report)
or a small object with ``to_dict()`` (its results.json entry) and ``html()`` (its block of the
report; ``html(figure)`` when the entry names one of the report's figures). Adding a section
is one line in ``SECTIONS``. An optional ``findings(data, res)`` adds sentences to the
report's first screen.

Shared intermediate results (the paper's table, the bootstrap, the mixed models) are computed
once, on first use, as cached properties of the context, so a section may use another's numbers
whatever their order in the tuple.

Modules by part of the report: :mod:`.accuracy` (sections 1-4 and the paired protocol),
:mod:`.measures` (5-9), :mod:`.behaviour` (10-14), :mod:`.record` (15, the detectors, the tell
audit, 16); :mod:`.base` holds the context and :class:`Section`.
"""

from __future__ import annotations

from analysis.sections.accuracy import (
    build_exclusions,
    build_mixed,
    build_paired,
    build_paper_table,
    build_vs_control,
    compact_flow,
)
from analysis.sections.base import FAILURES, Context, Section
from analysis.sections.behaviour import (
    build_agreement,
    build_calibration,
    build_difficulty,
    build_position,
    build_timing,
)
from analysis.sections.measures import (
    build_bootstrap,
    build_equivalence,
    build_fits,
    build_roc,
    build_sdt,
    wide_bootstrap,
)
from analysis.sections.record import (
    build_detection,
    build_power,
    build_study_record,
    build_tell_audit,
    findings_tell_audit,
)

__all__ = ["FAILURES", "SECTIONS", "Context", "Section", "compact_flow", "wide_bootstrap"]

SECTIONS: tuple[Section, ...] = (
    Section("exclusions", "1. Exclusions", build_exclusions, needs_data=False),
    Section("paper_table", "2. The paper's table", build_paper_table, "accuracy_vs_params"),
    Section("vs_control", "3. Against the control", build_vs_control),
    Section("mixed_model", "4. Mixed-effects model", build_mixed),
    Section("sdt", "5. d' and c", build_sdt),
    Section("equivalence", "6. Equivalence", build_equivalence),
    Section("roc", "7. ROC and AUC", build_roc, "roc"),
    Section("bootstrap", "8. Two-way bootstrap", build_bootstrap),
    Section("fits", "9. Accuracy vs model size", build_fits),
    Section("difficulty", "10. Per-article difficulty", build_difficulty, "difficulty"),
    Section("timing", "11. Response time", build_timing, "time_per_item"),
    Section("calibration", "12. Calibration", build_calibration, "calibration"),
    Section("position", "13. Position / fatigue", build_position),
    Section("agreement", "14. Agreement", build_agreement),
    Section("power", "15. Power planning", build_power, "power"),
    Section("paired", "Paired protocol", build_paired),
    Section("detection", "Humans and machine detectors", build_detection, anchor="detection"),
    Section(
        "tell_audit",
        "Tell audit (before launch)",
        build_tell_audit,
        findings=findings_tell_audit,
        needs_data=False,
    ),
    Section("study_record", "16. Study record", build_study_record, needs_data=False),
)
