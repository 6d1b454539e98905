"""Sections 1-4 and the paired protocol: who is scored, how accurate, against the control."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from analysis.exclusions import AnalysisSettings
from analysis.htmlparts import esc, img, p, section, table
from analysis.mixed import MixedResult
from analysis.paired import paired_summary
from analysis.results import dataclass_dict, jsonable
from analysis.sections.base import Context
from analysis.table import holm

# ---------------------------------------------------------------- 1 exclusions


@dataclass
class ExclusionsSection:
    flow: pd.DataFrame  # condition, step, rule, judges, judgments remaining, removed
    excluded_judges: pd.DataFrame  # judge, condition, rule
    rules: AnalysisSettings
    not_applied: list[str]
    unscored_rows: int  # attention and practice rows

    def to_dict(self) -> dict[str, Any]:
        return dataclass_dict(self)

    def html(self) -> str:
        return section(
            "1. Exclusions",
            p(
                "Pre-declared rules applied in order; counts are judges and scored "
                "judgments remaining after each rule, per condition."
            ),
            table(compact_flow(self.flow), label="exclusion flow"),
            p("Rules not applied: " + "; ".join(self.not_applied), "note")
            if self.not_applied
            else "",
            p(f"Attention/practice rows (never scored): {self.unscored_rows}.", "note"),
            "<details><summary>Excluded judges</summary>"
            + table(self.excluded_judges, label="excluded judges")
            + "</details>",
            anchor="exclusions",
        )


def build_exclusions(ctx: Context) -> ExclusionsSection:
    prepared, flow = ctx.prepared, ctx.flow
    return ExclusionsSection(
        flow=flow.flow,
        excluded_judges=flow.excluded_judges,
        rules=ctx.settings,
        not_applied=flow.not_applied,
        unscored_rows=int((prepared["is_attention"] | prepared["is_practice"]).sum()),
    )


def compact_flow(flow: pd.DataFrame) -> pd.DataFrame:
    """Rules as rows, conditions as columns, "judges / judgments" remaining in each cell."""
    if flow.empty:
        return flow
    cell = flow.assign(v=flow["judges"].astype(str) + " / " + flow["judgments"].astype(str))
    wide = cell.pivot(index=["step", "rule"], columns="condition", values="v")
    wide = wide[list(pd.unique(flow["condition"]))]
    return wide.reset_index().drop(columns="step")


# ---------------------------------------------------------------- 2 the paper's table


@dataclass
class PaperTableSection:
    table: pd.DataFrame  # analysis.table.paper_table, all columns
    formatted: pd.DataFrame  # the paper's layout
    alpha: float
    method: str = (
        "per-judge accuracy = correct / non-neutral answers; mean with t-based CI; "
        "t = (control - condition), Student (the paper's) and Welch; Holm across "
        "conditions; 'I don't know' rate pooled over judgments"
    )

    def to_dict(self) -> dict[str, Any]:
        return dataclass_dict(self)

    def html(self, figure: bytes | None) -> str:
        return section(
            "2. The paper's table (Table 3.11 layout)",
            table(self.formatted, label="the paper's table"),
            p(self.method, "note"),
            "<details><summary>All columns</summary>"
            + table(self.table, label="the paper's table, all columns")
            + "</details>",
            img(figure, "accuracy vs parameters"),
            anchor="table",
        )


def build_paper_table(ctx: Context) -> PaperTableSection:
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
    return PaperTableSection(table=t.table, formatted=t.formatted(), alpha=ctx.alpha)


# ---------------------------------------------------------------- 3 vs control


@dataclass
class VsControlSection:
    control: str | None
    table: pd.DataFrame  # per condition: Student and Welch t, bootstrap and mixed-model columns
    note: str = "t > 0: condition detected less often than the control"

    def to_dict(self) -> dict[str, Any]:
        return dataclass_dict(self)

    def html(self) -> str:
        return section(
            "3. Each condition against the control",
            p(
                "Student t (the paper's test) and Welch t on per-judge accuracy; the two-way "
                "bootstrap difference; the mixed model's log-odds difference (z test). Holm: "
                "p-values adjusted for testing several conditions against one control (Holm's "
                "step-down method keeps the chance of any false 'differs' at alpha)."
            ),
            table(self.table, label="conditions against the control"),
            p(self.note, "note"),
            anchor="vs-control",
        )


_T_COLUMNS = [
    "condition",
    "t_student",
    "p_student",
    "p_student_holm",
    "t_welch",
    "df_welch",
    "p_welch",
    "p_welch_holm",
]


def build_vs_control(ctx: Context) -> VsControlSection:
    # The shared results are computed here in this order, control or not, so that their
    # warnings and errors keep their place in the report.
    paper, boot, mixed = ctx.table, ctx.boot, ctx.mixed
    vs = paper.table[_T_COLUMNS].copy()
    if ctx.control is not None:
        vs = vs[vs["condition"] != ctx.control]
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
            vs = _with_mixed_model(vs, mixed["primary"])
    return VsControlSection(control=ctx.control, table=vs)


def _with_mixed_model(vs: pd.DataFrame, fit: MixedResult) -> pd.DataFrame:
    """The mixed model's log-odds difference from the control per condition, Holm-adjusted."""
    fx = fit.fixed.iloc[1:].copy()
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
    return vs


# ---------------------------------------------------------------- 4 mixed model


_OUTCOME_LABEL = {
    "primary": "Primary: non-neutral answers (the paper's rule)",
    "all_answers": "Sensitivity: all answers, 'I don't know' = wrong",
    "half_credit": "Sensitivity: 'I don't know' = half credit (alternating 1/0)",
}


@dataclass
class MixedSection:
    fits: dict[str, MixedResult]  # outcome -> fit, for the outcomes that could be fitted

    def to_dict(self) -> dict[str, Any]:
        return jsonable(self.fits)

    def html(self) -> str:
        parts = []
        for outcome, fit in self.fits.items():
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
        if self.fits:
            parts.append(p(next(iter(self.fits.values())).method, "note"))
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


def build_mixed(ctx: Context) -> MixedSection:
    return MixedSection(ctx.mixed)


# ---------------------------------------------------------------- paired protocol


@dataclass
class PairedSection:
    table: pd.DataFrame
    measure: str = "proportion of trials choosing the human text"

    def to_dict(self) -> dict[str, Any]:
        return dataclass_dict(self)

    def html(self) -> str:
        return section(
            "Paired protocol: proportion choosing the human text",
            table(self.table, label="paired protocol"),
            anchor="paired",
        )


def build_paired(ctx: Context) -> PairedSection | None:
    if not ctx.paired:
        return None
    return PairedSection(paired_summary(ctx.kept, alpha=ctx.alpha, order=ctx.order))
