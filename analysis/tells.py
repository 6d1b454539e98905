"""The report's tell-audit section: the pre-launch audit frozen into the study record.

The audit (``detectors.audit``, run by the study before launch) asked whether shallow
features of the texts as shown tell human from machine texts. Form features (length,
paragraphs, characters) should sit at chance; if they did not, the detection accuracy in
this report may measure form rather than writing, and the researcher acknowledged it at
launch. This module only reads the plain dict from ``study.json``.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class TellAuditSection:
    """Per condition and feature group: AUC, interval and the features that carry it."""

    rows: list[dict[str, Any]]
    gated: bool
    audited: bool = True
    findings: list[str] = field(default_factory=list)
    acknowledged: bool = False
    method: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "gated": self.gated,
            "audited": self.audited,
            "findings": self.findings,
            "acknowledged": self.acknowledged,
            "method": self.method,
        }

    def html(self) -> str:
        def cell(x: Any) -> str:
            return (
                "" if x is None else (f"{x:.2f}" if isinstance(x, float) else html.escape(str(x)))
            )

        body = "".join(
            "<tr>"
            + "".join(
                f"<td>{cell(v)}</td>"
                for v in (
                    r["condition"],
                    r["group"] + (" (gated)" if r["gated"] else ""),
                    r["auc"],
                    f"{cell(r['low'])} to {cell(r['high'])}"
                    if r["low"] is not None
                    else (r["note"] or "not computed"),
                    ", ".join(r["carriers"]),
                )
            )
            + "</tr>"
            for r in self.rows
        )
        if self.gated:
            verdict = (
                '<p class="warn"><strong>Form features told human from machine texts before '
                "launch"
                + (" (acknowledged by the researcher at launch)" if self.acknowledged else "")
                + ":</strong> "
                + " ".join(html.escape(f) for f in self.findings)
                + "</p>"
            )
        elif not self.audited:
            verdict = (
                "<p>Form features could not be audited in every condition (too few articles "
                "or no interval): the audit neither flags nor vouches for them.</p>"
            )
        else:
            verdict = (
                "<p>Form features (length, paragraphs, characters, typography) did not tell "
                "human from machine texts in any condition: every interval covers chance.</p>"
            )
        return (
            '<section id="tell-audit"><h2>Tell audit (before launch)</h2>'
            + verdict
            + "<p>Cross-validated logistic regression on shallow features of the texts as "
            "shown, whole articles held out; AUC 0.5 is chance. Style is what judges are "
            "meant to see and is reported, not gated.</p>"
            + "<table><thead><tr><th>condition</th><th>group</th><th>AUC</th>"
            "<th>95% interval</th><th>carried by</th></tr></thead><tbody>"
            + body
            + "</tbody></table></section>"
        )


def tell_audit_section(study: dict[str, Any] | None) -> TellAuditSection | None:
    """The section for ``study.json`` (its ``tell_audit``), or None when it has none."""
    audit = (study or {}).get("tell_audit")
    if not audit:
        return None
    try:
        return _section(audit, (study or {}).get("audit_log") or [])
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"study.json: tell_audit is malformed ({exc!r})") from None


def _section(audit: dict[str, Any], log: list) -> TellAuditSection:
    rows = [
        {
            "condition": c["condition"],
            "group": name,
            "auc": g["auc"],
            "low": g["low"],
            "high": g["high"],
            "above_chance": g["above_chance"],
            "gated": g["gated"],
            "carriers": g["carriers"],
            "note": c.get("note", ""),
        }
        for c in audit.get("conditions", [])
        for name, g in c["groups"].items()
    ]
    return TellAuditSection(
        rows=rows,
        gated=bool(audit.get("gated")),
        audited=bool(audit.get("audited", True)),
        findings=list(audit.get("findings", [])),
        acknowledged=any(e.get("action") == "acknowledge_tells" for e in log),
        method=audit.get("method", {}),
    )
