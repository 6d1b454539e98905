"""The report's sections: one tuple, ``SECTIONS``, that the pipeline and the report loop over.

Each entry is a :class:`Section`: a results.json key, a ``build(ctx)`` that computes the
section's data from the analysis :class:`Context`, and an ``html(data, res, figures)`` that renders
it. Adding a section is one line in ``SECTIONS``. A builder may instead return an object with
``to_dict()`` and ``html()`` (then leave ``html`` unset): the report calls its ``html()`` and
results.json its ``to_dict()``. An optional ``findings(data, res)`` adds sentences to the
report's first screen.

Shared intermediate results (the paper's table, the bootstrap, the mixed models) are computed
once, on first use, as cached properties of the context, so a section may use another's numbers
whatever their order in the tuple.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from analysis.agreement import agreement_analysis
from analysis.bootstrap import two_way_bootstrap
from analysis.calibration import calibration_analysis
from analysis.difficulty import article_difficulty
from analysis.equivalence import equivalence_table
from analysis.exclusions import AnalysisSettings, ExclusionFlow
from analysis.fits import fit_size_curves
from analysis.htmlparts import esc, fmt, img, p, section, table
from analysis.mixed import fit_mixed
from analysis.paired import paired_summary
from analysis.position import position_analysis
from analysis.power import plan_power
from analysis.results import jsonable
from analysis.roc import roc_analysis
from analysis.sdt import sdt_analysis
from analysis.table import holm, paper_table, per_judge_accuracy
from analysis.timing import timing_analysis

FAILURES = (ValueError, np.linalg.LinAlgError, RuntimeError, KeyError, IndexError)


@dataclass
class Context:
    """Everything a section builder may read; ``sections`` holds the data built so far."""

    prepared: pd.DataFrame
    judges: pd.DataFrame | None
    population: str
    settings: AnalysisSettings
    flow: ExclusionFlow
    order: list[str]
    control: str | None
    paired: bool
    seed: int
    n_boot: int
    power_sims: int
    study: dict[str, Any] | None
    data_hash: str
    input_rows: int
    errors: dict[str, str]
    warnings: list[str]
    sections: dict[str, Any]
    detector_scores: pd.DataFrame | None = None  # detector_scores.csv, when exported

    @property
    def kept(self) -> pd.DataFrame:
        return self.flow.kept

    @property
    def alpha(self) -> float:
        return self.settings.alpha

    @cached_property
    def table(self):
        return paper_table(self.kept, control=self.control, alpha=self.alpha, order=self.order)

    @cached_property
    def per_judge(self) -> pd.DataFrame:
        return per_judge_accuracy(self.kept)

    @cached_property
    def boot(self):
        return two_way_bootstrap(
            self.kept,
            n_boot=self.n_boot,
            seed=self.seed,
            alpha=self.alpha,
            order=self.order,
            control=self.control,
        )

    @cached_property
    def mixed(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        outcomes = ("primary",) if self.paired else ("primary", "all_answers", "half_credit")
        for outcome in outcomes:
            try:
                fit = fit_mixed(
                    self.kept,
                    outcome=outcome,
                    order=self.order,
                    reference=self.control,
                    alpha=self.alpha,
                )
            except FAILURES as exc:
                self.errors[f"mixed_model.{outcome}"] = f"{type(exc).__name__}: {exc}"
                continue
            out[outcome] = fit
            self.warnings.extend(f"Mixed model ({outcome}): {w}" for w in fit.warnings)
        return out


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    build: Callable[[Context], Any]
    html: Callable[[Any, Any, dict], str] | None = None
    findings: Callable[[Any, Any], list[str]] | None = None
    needs_data: bool = True  # False: built even when no scored judgment remains
    anchor: str = ""

    def render(self, data: Any, res: Any, figures: dict) -> str:
        if data is None:
            why = res.errors.get(self.key, "")
            if not why:
                return ""
            return section(self.title, p(f"Not estimable: {why}", "note"), anchor=self.anchor)
        if self.html is None:
            return data.html()
        return self.html(data, res, figures)


# ---------------------------------------------------------------- 1 exclusions


def build_exclusions(ctx: Context) -> dict[str, Any]:
    prepared, flow = ctx.prepared, ctx.flow
    return {
        "flow": flow.flow,
        "excluded_judges": flow.excluded_judges,
        "rules": ctx.settings,
        "not_applied": flow.not_applied,
        "unscored_rows": int((prepared["is_attention"] | prepared["is_practice"]).sum()),
    }


def compact_flow(flow: pd.DataFrame) -> pd.DataFrame:
    """Rules as rows, conditions as columns, "judges / judgments" remaining in each cell."""
    if flow.empty:
        return flow
    cell = flow.assign(v=flow["judges"].astype(str) + " / " + flow["judgments"].astype(str))
    wide = cell.pivot(index=["step", "rule"], columns="condition", values="v")
    wide = wide[list(pd.unique(flow["condition"]))]
    return wide.reset_index().drop(columns="step")


def html_exclusions(ex, res, figures) -> str:
    return section(
        "1. Exclusions",
        p(
            "Pre-declared rules applied in order; counts are judges and scored "
            "judgments remaining after each rule, per condition."
        ),
        table(compact_flow(ex["flow"]), label="exclusion flow"),
        p("Rules not applied: " + "; ".join(ex["not_applied"]), "note")
        if ex["not_applied"]
        else "",
        p(f"Attention/practice rows (never scored): {ex['unscored_rows']}.", "note"),
        "<details><summary>Excluded judges</summary>"
        + table(ex["excluded_judges"], label="excluded judges")
        + "</details>",
        anchor="exclusions",
    )


# ---------------------------------------------------------------- 2 the paper's table


def build_paper_table(ctx: Context) -> dict[str, Any]:
    t = ctx.table
    no_answer = int(ctx.per_judge["accuracy"].isna().sum())
    if no_answer:
        ctx.warnings.append(
            f"{no_answer} judges answered only 'I don't know' and have no accuracy."
        )
    if ctx.control is None:
        ctx.warnings.append(
            "No control condition (is_control = 1 or named 'control'): "
            "comparisons against the control are skipped."
        )
    return {
        "table": t.table,
        "formatted": t.formatted(),
        "alpha": ctx.alpha,
        "method": "per-judge accuracy = correct / non-neutral answers; mean with t-based CI; "
        "t = (control - condition), Student (the paper's) and Welch; Holm across "
        "conditions; 'I don't know' rate pooled over judgments",
    }


def html_paper_table(pt, res, figures) -> str:
    return section(
        "2. The paper's table (Table 3.11 layout)",
        table(pt["formatted"], label="the paper's table"),
        p(pt["method"], "note"),
        "<details><summary>All columns</summary>"
        + table(pt["table"], label="the paper's table, all columns")
        + "</details>",
        img(figures.get("accuracy_vs_params"), "accuracy vs parameters"),
        anchor="table",
    )


# ---------------------------------------------------------------- 3 vs control


def build_vs_control(ctx: Context) -> dict[str, Any]:
    table_ = ctx.table
    boot = ctx.boot
    mixed = ctx.mixed
    control = ctx.control
    vs = table_.table[
        [
            "condition",
            "t_student",
            "p_student",
            "p_student_holm",
            "t_welch",
            "df_welch",
            "p_welch",
            "p_welch_holm",
        ]
    ].copy()
    if control is not None:
        vs = vs[vs["condition"] != control]
        if not boot.diff_vs_control.empty:
            bd = boot.diff_vs_control.rename(
                columns={
                    "difference": "boot_difference",
                    "ci_low": "boot_ci_low",
                    "ci_high": "boot_ci_high",
                }
            )
            vs = vs.merge(bd, on="condition", how="left")
        if "primary" in mixed:
            fx = mixed["primary"].fixed.iloc[1:].copy()
            fx["condition"] = fx["term"].str.slice(len("condition["), -1)
            fx = fx.rename(
                columns={
                    "estimate": "mixed_log_odds_diff",
                    "se": "mixed_se",
                    "z": "mixed_z",
                    "p": "mixed_p",
                }
            )
            vs = vs.merge(
                fx[["condition", "mixed_log_odds_diff", "mixed_se", "mixed_z", "mixed_p"]],
                on="condition",
                how="left",
            )
            vs["mixed_p_holm"] = holm(vs["mixed_p"].to_numpy())
    return {
        "control": control,
        "table": vs,
        "note": "t > 0: condition detected less often than the control",
    }


def html_vs_control(vs, res, figures) -> str:
    return section(
        "3. Each condition against the control",
        p(
            "Student t (the paper's test) and Welch t on per-judge accuracy; the two-way "
            "bootstrap difference; the mixed model's log-odds difference (z test). Holm: "
            "p-values adjusted for testing several conditions against one control (Holm's "
            "step-down method keeps the chance of any false 'differs' at alpha)."
        ),
        table(vs["table"], label="conditions against the control"),
        p(vs["note"], "note"),
        anchor="vs-control",
    )


# ---------------------------------------------------------------- 4 mixed model


def build_mixed(ctx: Context) -> dict[str, Any]:
    return ctx.mixed


_OUTCOME_LABEL = {
    "primary": "Primary: non-neutral answers (the paper's rule)",
    "all_answers": "Sensitivity: all answers, 'I don't know' = wrong",
    "half_credit": "Sensitivity: 'I don't know' = half credit (alternating 1/0)",
}


def html_mixed(mm, res, figures) -> str:
    parts = []
    for outcome, fit in mm.items():
        parts.append(f"<h3>{esc(_OUTCOME_LABEL.get(outcome, outcome))}</h3>")
        parts.append(
            p(
                f"{fit.n_obs} judgments, {fit.n_judges} judges, {fit.n_articles} "
                f"articles; reference: {fit.reference}; converged: {fit.converged}."
            )
        )
        for w in fit.warnings:
            parts.append(f"<div class='warn'>{esc(w)}</div>")
        parts.append(table(fit.conditions, label=f"mixed model {outcome}: conditions"))
        parts.append(table(fit.fixed, label=f"mixed model {outcome}: fixed effects"))
        parts.append(table(fit.variance, label=f"mixed model {outcome}: random effects"))
    if mm:
        parts.append(p(next(iter(mm.values())).method, "note"))
        parts.append(
            p(
                "'accuracy' is for a typical judge on a typical article (random "
                "effects at zero); 'marginal_accuracy' averages over judges and "
                "articles. Article SD is the spread of article difficulty on the logit "
                "scale: more judges cannot make up for too few articles.",
                "note",
            )
        )
    return section(
        "4. Mixed-effects model: correct ~ condition + (1|judge) + (1|article)",
        *parts,
        anchor="mixed",
    )


# ---------------------------------------------------------------- 5 SDT


def build_sdt(ctx: Context) -> dict[str, Any]:
    sdt = sdt_analysis(ctx.kept, alpha=ctx.alpha, order=ctx.order)
    return {"table": sdt.table, "method": sdt.method}


def html_sdt(sdt, res, figures) -> str:
    return section(
        "5. Sensitivity d' and criterion c",
        p(
            "d' (signal detection) separates skill from bias: it is the distance, in standard "
            "deviations, between how machine-like judges found machine texts and how "
            "machine-like they found human texts; 0 means no skill whatever the bias. The "
            "criterion c is the bias: positive values mean a lean towards answering 'human'."
        ),
        table(sdt["table"], label="d' and criterion"),
        p(sdt["method"], "note"),
        anchor="sdt",
    )


# ---------------------------------------------------------------- 6 equivalence


def build_equivalence(ctx: Context) -> dict[str, Any]:
    settings, alpha, boot = ctx.settings, ctx.alpha, ctx.boot
    eq = equivalence_table(
        ctx.per_judge, margin=settings.equivalence_margin, alpha=alpha, order=ctx.order
    )
    if not eq.empty:
        level = 1 - 2 * alpha
        lows, highs = zip(
            *[boot.interval("accuracy", c, level) for c in eq["condition"]], strict=True
        )
        eq["boot_ci_low"] = lows
        eq["boot_ci_high"] = highs
        m = settings.equivalence_margin
        eq["equivalent_boot"] = (eq["boot_ci_low"] > 0.5 - m) & (eq["boot_ci_high"] < 0.5 + m)
    return {
        "table": eq,
        "margin": settings.equivalence_margin,
        "alpha": alpha,
        "method": "TOST on per-judge accuracy against 0.5 +/- margin; also whether the two-way "
        "bootstrap (1 - 2 alpha) interval lies inside the margin",
    }


def html_equivalence(eq, res, figures) -> str:
    m = eq["margin"]
    return section(
        "6. Indistinguishable from chance? (TOST equivalence)",
        p(
            f"TOST (two one-sided tests) asks whether accuracy lies inside 50% ± "
            f"{100 * m:g} points: one test that it is above {50 - 100 * m:g}%, one that it is "
            f"below {50 + 100 * m:g}%; both must reject at alpha. Equivalently, the "
            "(1 - 2 alpha) interval lies inside the margin."
        ),
        table(eq["table"], label="equivalence tests"),
        p(
            eq["method"] + ". A non-significant difference is not evidence of equivalence.",
            "note",
        ),
        anchor="equivalence",
    )


# ---------------------------------------------------------------- 7 ROC


def build_roc(ctx: Context) -> dict[str, Any]:
    roc = roc_analysis(ctx.kept, order=ctx.order)
    bt = ctx.boot.table
    auc_boot = bt[bt["statistic"] == "auc"][["condition", "ci_low", "ci_high"]]
    roc_table = (
        roc.table.merge(
            auc_boot.rename(columns={"ci_low": "auc_ci_low", "ci_high": "auc_ci_high"}),
            on="condition",
            how="left",
        )
        if not ctx.paired
        else roc.table
    )
    return {"table": roc_table, "curves": roc.curves, "score": roc.score}


def html_roc(roc, res, figures) -> str:
    return section(
        "7. ROC and AUC (all five levels)",
        table(roc["table"], label="ROC and AUC"),
        p(
            "Score: " + roc["score"] + ". AUC = U / (n1 n2); CI from the two-way bootstrap.",
            "note",
        ),
        img(figures.get("roc"), "ROC curves"),
        anchor="roc",
    )


# ---------------------------------------------------------------- 8 bootstrap


def build_bootstrap(ctx: Context) -> dict[str, Any]:
    boot = ctx.boot
    return {
        "table": boot.table,
        "diff_vs_control": boot.diff_vs_control,
        "n_boot": boot.n_boot,
        "seed": boot.seed,
        "alpha": ctx.alpha,
        "method": "percentile two-way bootstrap: articles resampled once per replicate (shared "
        "across conditions), judges resampled within condition, independently",
    }


def wide_bootstrap(frame: pd.DataFrame, conditions: list[str]) -> pd.DataFrame:
    from analysis.htmlparts import ci

    if frame.empty:
        return frame
    t = frame.assign(
        v=[
            ci(e, lo, hi, pct=(s != "auc"))
            for e, lo, hi, s in zip(
                frame["estimate"],
                frame["ci_low"],
                frame["ci_high"],
                frame["statistic"],
                strict=True,
            )
        ]
    )
    wide = t.pivot(index="condition", columns="statistic", values="v")
    return wide.reindex([c for c in conditions if c in wide.index]).reset_index()


def html_bootstrap(bt, res, figures) -> str:
    return section(
        "8. Two-way bootstrap",
        table(wide_bootstrap(bt["table"], res.conditions), label="bootstrap intervals"),
        table(bt["diff_vs_control"], label="bootstrap differences from the control"),
        p(bt["method"] + f"; B = {bt['n_boot']}, seed {bt['seed']}.", "note"),
        anchor="bootstrap",
    )


# ---------------------------------------------------------------- 9 fits


def build_fits(ctx: Context) -> dict[str, Any]:
    boot, control = ctx.boot, ctx.control
    t = ctx.table.table.set_index("condition").reindex(boot.conditions)
    params = t["params"].to_numpy()
    # The control is a deliberately bad model, not a point on the scaling curve.
    params = np.where(np.asarray(boot.conditions) == control, np.nan, params.astype(float))
    acc = t["mean_accuracy"].to_numpy()
    fits = fit_size_curves(
        boot.conditions, params, acc, boot.replicates["accuracy"], alpha=ctx.alpha
    )
    return {
        "fits": fits.fits,
        "points": fits.points,
        "skipped": fits.skipped,
        "unit": "N in billions of parameters for a; grid in parameters",
    }


def html_fits(fits, res, figures) -> str:
    rows = pd.DataFrame(
        [
            {
                "model": f.formula,
                "a": f.a,
                "a_ci_low": f.a_ci[0],
                "a_ci_high": f.a_ci[1],
                "b": f.b,
                "b_ci_low": f.b_ci[0],
                "b_ci_high": f.b_ci[1],
                "rss": f.rss,
                "points": f.n_points,
            }
            for f in fits["fits"].values()
        ]
    )
    return section(
        "9. Accuracy vs model size",
        table(rows, label="size curve fits"),
        p(
            fits["skipped"]
            or "N in billions of parameters; parameter CIs and "
            "bands from refitting every bootstrap replicate.",
            "note",
        ),
        anchor="fits",
    )


# ---------------------------------------------------------------- 10-14


def build_difficulty(ctx: Context) -> dict[str, Any]:
    diff = article_difficulty(ctx.kept, alpha=ctx.alpha)
    return {"table": diff.table, "flagged": diff.flagged, "method": diff.method}


def html_difficulty(d, res, figures) -> str:
    return section(
        "10. Per-article difficulty",
        img(figures.get("difficulty"), "per-article difficulty"),
        p(d["method"], "note"),
        "<h3>Flagged</h3>",
        table(d["flagged"], label="flagged articles"),
        "<details><summary>All versions</summary>"
        + table(d["table"], label="all article versions")
        + "</details>",
        anchor="difficulty",
    )


def build_timing(ctx: Context) -> dict[str, Any]:
    timing = timing_analysis(ctx.kept, alpha=ctx.alpha, order=ctx.order, control=ctx.control)
    return {k: v for k, v in timing.__dict__.items() if k != "per_judge"}


def html_timing(tm, res, figures) -> str:
    return section(
        "11. Response time",
        img(figures.get("time_per_item"), "time per item"),
        table(tm["table"], label="response time"),
        p(
            f"log-log slope {fmt(tm['slope'])} (95% CI {fmt(tm['slope_ci'][0])} to "
            f"{fmt(tm['slope_ci'][1])}, p = {fmt(tm['slope_p'])}), over "
            f"{tm['n_judges_fit']} judges: time per item ×{fmt(tm['factor_per_10x'])} per "
            "tenfold parameters."
        ),
        anchor="timing",
    )


def build_calibration(ctx: Context):
    return calibration_analysis(ctx.kept, alpha=ctx.alpha, order=ctx.order)


def html_calibration(cal, res, figures) -> str:
    return section(
        "12. Calibration",
        img(figures.get("calibration"), "calibration"),
        table(cal.table, label="calibration"),
        p(
            f"Trend (highest minus lowest confidence, per judge): {fmt(cal.trend_mean_diff)}, "
            f"t = {fmt(cal.trend_t)}, p = {fmt(cal.trend_p)}, {cal.trend_judges} judges."
        ),
        p(cal.method, "note"),
        anchor="calibration",
    )


def build_position(ctx: Context):
    return position_analysis(ctx.kept, alpha=ctx.alpha)


def html_position(pos, res, figures) -> str:
    side = ""
    if pos.side_bias:
        sb = pos.side_bias
        side = p(
            f"Side bias: left chosen as human in {sb['prop_left']:.1%} of trials "
            f"(t = {fmt(sb['t'])}, p = {fmt(sb['p'])}, {sb['judges']} judges)."
        )
    return section(
        "13. Position / fatigue",
        p(
            f"Odds ratio per 10 positions: {fmt(pos.odds_ratio_per_10)} (log-odds "
            f"{fmt(pos.slope_per_10)}, 95% CI {fmt(pos.ci_low)} to {fmt(pos.ci_high)}, "
            f"p = {fmt(pos.p)})."
        ),
        table(pos.bins, label="accuracy by position"),
        side,
        p(pos.method, "note"),
        anchor="position",
    )


def build_agreement(ctx: Context) -> dict[str, Any]:
    return {
        "table": agreement_analysis(
            ctx.kept, order=ctx.order, n_boot=min(ctx.n_boot, 200), seed=ctx.seed
        ).table,
        "method": "krippendorff.alpha per condition, judges x shown texts; ordinal and nominal; "
        f"percentile interval from {min(ctx.n_boot, 200)} bootstrap resamples of the texts",
    }


def html_agreement(ag, res, figures) -> str:
    return section(
        "14. Agreement (Krippendorff's alpha)",
        table(ag["table"], label="agreement"),
        p(ag["method"], "note"),
        anchor="agreement",
    )


# ---------------------------------------------------------------- 15 power


def build_power(ctx: Context):
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
    power = plan_power(
        accuracy=acc_t,
        sd_judge=float(sd["judge"]),
        sd_article=float(sd["article"]),
        judges=(20, 40, 80, 160),
        articles=(12, 25, 50),
        n_sims=ctx.power_sims,
        alpha=ctx.alpha,
        seed=ctx.seed,
    )
    power.source = (
        f"this study's mixed-model estimates for {target_cond!r} "
        "(accuracy 0.55 assumed if the estimate is within 0.01 of chance)"
        if assumed
        else f"this study's mixed-model estimates for {target_cond!r}"
    )
    return power


def html_power(pw, res, figures) -> str:
    return section(
        "15. Power planning for a next study",
        p(
            f"Test: accuracy ≠ 50%, alpha {pw.alpha}; assumptions from {pw.source}: "
            f"accuracy {pw.accuracy:.3f}, judge SD {pw.sd_judge:.2f}, article SD "
            f"{pw.sd_article:.2f} (logit); {pw.n_sims} simulations per cell, "
            f"seed {pw.seed}. For the study's own tests (difference from the control, "
            "equivalence to chance) use the planner: python -m analysis.power --spec."
        ),
        table(pw.grid.merge(pw.analytic, on=["judges", "articles"]), label="power grid"),
        table(pw.smallest, label="smallest numbers of judges"),
        img(figures.get("power"), "power"),
        p(pw.note, "note"),
        anchor="power",
    )


# ---------------------------------------------------------------- paired, 16 record


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


def build_paired(ctx: Context):
    if not ctx.paired:
        return None
    return {
        "table": paired_summary(ctx.kept, alpha=ctx.alpha, order=ctx.order),
        "measure": "proportion of trials choosing the human text",
    }


def html_paired(pr, res, figures) -> str:
    return section(
        "Paired protocol: proportion choosing the human text",
        table(pr["table"], label="paired protocol"),
        anchor="paired",
    )


def build_study_record(ctx: Context) -> dict[str, Any]:
    from analysis.pipeline import software_versions

    kept, settings = ctx.kept, ctx.settings
    study = ctx.study or {}
    spec = study.get("spec") or {}
    return {
        "design_hash": study.get("design_hash") or study.get("hash"),
        "study": study.get("slug")
        or study.get("name")
        or study.get("study")
        or (kept["study"].iloc[0] if len(kept) else None),
        "spec": study.get("spec"),
        "scale": study.get("scale") or spec.get("scale"),
        "platform": study.get("platform") or spec.get("platform"),
        "pay": study.get("pay") or spec.get("pay"),
        "counts": study.get("counts"),
        "study_seeds": study.get("seeds"),
        "study_software": study.get("software") or study.get("versions"),
        "audit_log": study.get("audit_log") or study.get("audit") or [],
        "exclusions_recorded": study.get("exclusions"),
        "analysis_settings": settings,
        "analysis_seed": ctx.seed,
        "n_boot": ctx.n_boot,
        "analysis_software": software_versions(),
        "input_rows": ctx.input_rows,
        "input_hash": ctx.data_hash,
        "population": ctx.population,
        "protocol": "paired" if ctx.paired else "rating",
        "judgments_analysed": len(kept),
        "judges_analysed": int(kept["judge"].nunique()),
        "articles": int(kept["article"].nunique()),
    }


def html_study_record(rec, res, figures) -> str:
    sr = {k: v for k, v in rec.items() if k not in ("audit_log", "spec")}
    audit = rec.get("audit_log") or []
    audit_html = (
        table(pd.DataFrame(audit), label="audit log")
        if audit and isinstance(audit[0], dict)
        else "".join(f"<div>{esc(a)}</div>" for a in audit) or p("(no audit log supplied)", "note")
    )
    return section(
        "16. Study record",
        f"<pre>{esc(json.dumps(jsonable(sr), indent=2))}</pre>",
        "<h3>Audit log</h3>",
        audit_html,
        "<details><summary>Design spec</summary><pre>"
        + esc(json.dumps(jsonable(rec.get("spec")), indent=2))
        + "</pre></details>",
        anchor="record",
    )


# ---------------------------------------------------------------- the tuple

SECTIONS: tuple[Section, ...] = (
    Section("exclusions", "1. Exclusions", build_exclusions, html_exclusions, needs_data=False),
    Section("paper_table", "2. The paper's table", build_paper_table, html_paper_table),
    Section("vs_control", "3. Against the control", build_vs_control, html_vs_control),
    Section("mixed_model", "4. Mixed-effects model", build_mixed, html_mixed),
    Section("sdt", "5. d' and c", build_sdt, html_sdt),
    Section("equivalence", "6. Equivalence", build_equivalence, html_equivalence),
    Section("roc", "7. ROC and AUC", build_roc, html_roc),
    Section("bootstrap", "8. Two-way bootstrap", build_bootstrap, html_bootstrap),
    Section("fits", "9. Accuracy vs model size", build_fits, html_fits),
    Section("difficulty", "10. Per-article difficulty", build_difficulty, html_difficulty),
    Section("timing", "11. Response time", build_timing, html_timing),
    Section("calibration", "12. Calibration", build_calibration, html_calibration),
    Section("position", "13. Position / fatigue", build_position, html_position),
    Section("agreement", "14. Agreement", build_agreement, html_agreement),
    Section("power", "15. Power planning", build_power, html_power),
    Section("paired", "Paired protocol", build_paired, html_paired),
    Section("detection", "Humans and machine detectors", build_detection, anchor="detection"),
    Section(
        "study_record", "16. Study record", build_study_record, html_study_record, needs_data=False
    ),
)
