"""Section 15, the detectors, the tell audit and section 16: planning, context and record."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pandas as pd

from analysis.exclusions import AnalysisSettings
from analysis.htmlparts import esc, img, p, section, table
from analysis.power import PowerPlan, plan_power
from analysis.results import dataclass_dict, jsonable
from analysis.sections.base import Context, extend
from analysis.tells import TellAuditSection, tell_audit_section

# ---------------------------------------------------------------- 15 power


@dataclass
class PowerSection(PowerPlan):
    """The power plan for a next study, from this study's mixed-model estimates."""

    def html(self, figure: bytes | None) -> str:
        return section(
            "15. Power planning for a next study",
            p(
                f"Test: accuracy ≠ 50%, alpha {self.alpha}; assumptions from {self.source}: "
                f"accuracy {self.accuracy:.3f}, judge SD {self.sd_judge:.2f}, article SD "
                f"{self.sd_article:.2f} (logit); {self.n_sims} simulations per cell, "
                f"seed {self.seed}. For the study's own tests (difference from the control, "
                "equivalence to chance) use the planner: python -m analysis.power --spec."
            ),
            table(self.grid.merge(self.analytic, on=["judges", "articles"]), label="power grid"),
            table(self.smallest, label="smallest numbers of judges"),
            img(figure, "power"),
            p(self.note, "note"),
            anchor="power",
        )


def build_power(ctx: Context) -> PowerSection | None:
    mixed = ctx.mixed
    if "primary" not in mixed:
        return None
    fit = mixed["primary"]
    target_cond = ctx.order[-1]
    crow = fit.conditions.set_index("condition").loc[target_cond]
    sd = fit.variance.set_index("group")["sd"]
    acc_t = float(crow["accuracy"])
    # Power to detect a difference from chance is undefined at chance itself.
    assumed = abs(acc_t - 0.5) < 0.01
    if assumed:
        acc_t = 0.55
    plan = plan_power(
        accuracy=acc_t,
        sd_judge=float(sd["judge"]),
        sd_article=float(sd["article"]),
        judges=(20, 40, 80, 160),
        articles=(12, 25, 50),
        n_sims=ctx.power_sims,
        alpha=ctx.alpha,
        seed=ctx.seed,
    )
    source = f"this study's mixed-model estimates for {target_cond!r}"
    if assumed:
        source += " (accuracy 0.55 assumed if the estimate is within 0.01 of chance)"
    return extend(PowerSection, plan, source=source)


# ---------------------------------------------------------------- detectors, tell audit


def build_detection(ctx: Context):
    """Judges beside machine detectors (``analysis.detection``), when scores were exported."""
    if ctx.detector_scores is None:
        return None
    from analysis.detection import detection_analysis

    return detection_analysis(
        ctx.kept,
        ctx.detector_scores,
        alpha=ctx.alpha,
        n_boot=ctx.n_boot,
        seed=ctx.seed,
        order=ctx.order,
    )


def build_tell_audit(ctx: Context) -> TellAuditSection | None:
    """The pre-launch tell audit frozen into the study record (``analysis.tells``)."""
    return tell_audit_section(ctx.study)


def findings_tell_audit(data: TellAuditSection, res: Any) -> list[str]:
    return list(data.findings) if data.gated else []


# ---------------------------------------------------------------- 16 study record


@dataclass
class StudyRecord:
    """The study as exported (``study.json``) and this analysis's own settings and inputs."""

    design_hash: str | None
    study: str | None
    spec: dict[str, Any] | None
    scale: Any
    platform: Any
    pay: Any
    counts: Any
    study_seeds: Any
    study_software: Any
    audit_log: list[Any]
    exclusions_recorded: Any
    analysis_settings: AnalysisSettings
    analysis_seed: int
    n_boot: int
    analysis_software: dict[str, str]
    input_rows: int
    input_hash: str
    population: str
    protocol: str
    judgments_analysed: int
    judges_analysed: int
    articles: int

    def to_dict(self) -> dict[str, Any]:
        return dataclass_dict(self)

    def html(self) -> str:
        shown = {k: v for k, v in self.to_dict().items() if k not in ("audit_log", "spec")}
        audit = self.audit_log or []
        audit_html = (
            table(pd.DataFrame(audit), label="audit log")
            if audit and isinstance(audit[0], dict)
            else "".join(f"<div>{esc(a)}</div>" for a in audit)
            or p("(no audit log supplied)", "note")
        )
        return section(
            "16. Study record",
            f"<pre>{esc(json.dumps(jsonable(shown), indent=2))}</pre>",
            "<h3>Audit log</h3>",
            audit_html,
            "<details><summary>Design spec</summary><pre>"
            + esc(json.dumps(jsonable(self.spec), indent=2))
            + "</pre></details>",
            anchor="record",
        )


def build_study_record(ctx: Context) -> StudyRecord:
    from analysis.pipeline import software_versions

    kept, study = ctx.kept, ctx.study or {}
    spec = study.get("spec") or {}
    return StudyRecord(
        design_hash=study.get("design_hash") or study.get("hash"),
        study=study.get("slug")
        or study.get("name")
        or study.get("study")
        or (kept["study"].iloc[0] if len(kept) else None),
        spec=study.get("spec"),
        scale=study.get("scale") or spec.get("scale"),
        platform=study.get("platform") or spec.get("platform"),
        pay=study.get("pay") or spec.get("pay"),
        counts=study.get("counts"),
        study_seeds=study.get("seeds"),
        study_software=study.get("software") or study.get("versions"),
        audit_log=study.get("audit_log") or study.get("audit") or [],
        exclusions_recorded=study.get("exclusions"),
        analysis_settings=ctx.settings,
        analysis_seed=ctx.seed,
        n_boot=ctx.n_boot,
        analysis_software=software_versions(),
        input_rows=ctx.input_rows,
        input_hash=ctx.data_hash,
        population=ctx.population,
        protocol="paired" if ctx.paired else "rating",
        judgments_analysed=len(kept),
        judges_analysed=int(kept["judge"].nunique()),
        articles=int(kept["article"].nunique()),
    )
