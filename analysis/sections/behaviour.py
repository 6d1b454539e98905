"""Sections 10-14: articles, response time, calibration, position and agreement."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import pandas as pd

from analysis.agreement import agreement_analysis
from analysis.calibration import CalibrationResult, calibration_analysis
from analysis.difficulty import DifficultyResult, article_difficulty
from analysis.htmlparts import fmt, img, p, section, table
from analysis.position import PositionResult, position_analysis
from analysis.results import dataclass_dict, jsonable
from analysis.sections.base import Context, extend
from analysis.timing import TimingResult, timing_analysis

# ---------------------------------------------------------------- 10 difficulty


@dataclass
class DifficultySection(DifficultyResult):
    def to_dict(self) -> dict[str, Any]:
        return dataclass_dict(self)

    def html(self, figure: bytes | None) -> str:
        return section(
            "10. Per-article difficulty",
            img(figure, "per-article difficulty"),
            p(self.method, "note"),
            "<h3>Flagged</h3>",
            table(self.flagged, label="flagged articles"),
            "<details><summary>All versions</summary>"
            + table(self.table, label="all article versions")
            + "</details>",
            anchor="difficulty",
        )


def build_difficulty(ctx: Context) -> DifficultySection:
    return extend(DifficultySection, article_difficulty(ctx.kept, alpha=ctx.alpha))


# ---------------------------------------------------------------- 11 timing


@dataclass
class TimingSection(TimingResult):
    def to_dict(self) -> dict[str, Any]:
        """Every field but the per-judge table."""
        return {
            f.name: jsonable(getattr(self, f.name))
            for f in dataclasses.fields(self)
            if f.name != "per_judge"
        }

    def html(self, figure: bytes | None) -> str:
        return section(
            "11. Response time",
            img(figure, "time per item"),
            table(self.table, label="response time"),
            p(
                f"log-log slope {fmt(self.slope)} (95% CI {fmt(self.slope_ci[0])} to "
                f"{fmt(self.slope_ci[1])}, p = {fmt(self.slope_p)}), over "
                f"{self.n_judges_fit} judges: time per item ×{fmt(self.factor_per_10x)} per "
                "tenfold parameters."
            ),
            anchor="timing",
        )


def build_timing(ctx: Context) -> TimingSection:
    timing = timing_analysis(ctx.kept, alpha=ctx.alpha, order=ctx.order, control=ctx.control)
    return extend(TimingSection, timing)


# ---------------------------------------------------------------- 12 calibration


@dataclass
class CalibrationSection(CalibrationResult):
    def to_dict(self) -> dict[str, Any]:
        return dataclass_dict(self)

    def html(self, figure: bytes | None) -> str:
        return section(
            "12. Calibration",
            img(figure, "calibration"),
            table(self.table, label="calibration"),
            p(
                f"Trend (highest minus lowest confidence, per judge): "
                f"{fmt(self.trend_mean_diff)}, t = {fmt(self.trend_t)}, "
                f"p = {fmt(self.trend_p)}, {self.trend_judges} judges."
            ),
            p(self.method, "note"),
            anchor="calibration",
        )


def build_calibration(ctx: Context) -> CalibrationSection:
    return extend(
        CalibrationSection, calibration_analysis(ctx.kept, alpha=ctx.alpha, order=ctx.order)
    )


# ---------------------------------------------------------------- 13 position


@dataclass
class PositionSection(PositionResult):
    def to_dict(self) -> dict[str, Any]:
        return dataclass_dict(self)

    def html(self) -> str:
        side = ""
        if self.side_bias:
            sb = self.side_bias
            side = p(
                f"Side bias: left chosen as human in {sb['prop_left']:.1%} of trials "
                f"(t = {fmt(sb['t'])}, p = {fmt(sb['p'])}, {sb['judges']} judges)."
            )
        return section(
            "13. Position / fatigue",
            p(
                f"Odds ratio per 10 positions: {fmt(self.odds_ratio_per_10)} (log-odds "
                f"{fmt(self.slope_per_10)}, 95% CI {fmt(self.ci_low)} to {fmt(self.ci_high)}, "
                f"p = {fmt(self.p)})."
            ),
            table(self.bins, label="accuracy by position"),
            side,
            p(self.method, "note"),
            anchor="position",
        )


def build_position(ctx: Context) -> PositionSection:
    return extend(PositionSection, position_analysis(ctx.kept, alpha=ctx.alpha))


# ---------------------------------------------------------------- 14 agreement


@dataclass
class AgreementSection:
    table: pd.DataFrame  # condition, level, alpha, ci_low, ci_high, n_boot, judges, units
    method: str

    def to_dict(self) -> dict[str, Any]:
        return dataclass_dict(self)

    def html(self) -> str:
        return section(
            "14. Agreement (Krippendorff's alpha)",
            table(self.table, label="agreement"),
            p(self.method, "note"),
            anchor="agreement",
        )


def build_agreement(ctx: Context) -> AgreementSection:
    n_boot = min(ctx.n_boot, 200)
    return AgreementSection(
        table=agreement_analysis(ctx.kept, order=ctx.order, n_boot=n_boot, seed=ctx.seed).table,
        method="krippendorff.alpha per condition, judges x shown texts; ordinal and nominal; "
        f"percentile interval from {n_boot} bootstrap resamples of the texts",
    )
