"""Sections 5-9: d' and c, equivalence to chance, ROC, the two-way bootstrap, size curves."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from analysis.equivalence import equivalence_table
from analysis.fits import CurveFit, fit_size_curves
from analysis.htmlparts import ci, img, p, section, table
from analysis.results import dataclass_dict, jsonable
from analysis.roc import RocResult, roc_analysis
from analysis.sdt import sdt_analysis
from analysis.sections.base import Context

# ---------------------------------------------------------------- 5 SDT


@dataclass
class SdtSection:
    table: pd.DataFrame  # per condition: mean d' and c with t intervals, pooled d' and c
    method: str

    def to_dict(self) -> dict[str, Any]:
        return dataclass_dict(self)

    def html(self) -> str:
        return section(
            "5. Sensitivity d' and criterion c",
            p(
                "d' (signal detection) separates skill from bias: it is the distance, in "
                "standard deviations, between how machine-like judges found machine texts and "
                "how machine-like they found human texts; 0 means no skill whatever the bias. "
                "The criterion c is the bias: positive values mean a lean towards answering "
                "'human'."
            ),
            table(self.table, label="d' and criterion"),
            p(self.method, "note"),
            anchor="sdt",
        )


def build_sdt(ctx: Context) -> SdtSection:
    sdt = sdt_analysis(ctx.kept, alpha=ctx.alpha, order=ctx.order)
    return SdtSection(table=sdt.table, method=sdt.method)


# ---------------------------------------------------------------- 6 equivalence


@dataclass
class EquivalenceSection:
    table: pd.DataFrame  # per condition: TOST on per-judge accuracy, bootstrap interval
    margin: float
    alpha: float
    method: str = (
        "TOST on per-judge accuracy against 0.5 +/- margin; also whether the two-way "
        "bootstrap (1 - 2 alpha) interval lies inside the margin"
    )

    def to_dict(self) -> dict[str, Any]:
        return dataclass_dict(self)

    def html(self) -> str:
        m = self.margin
        return section(
            "6. Indistinguishable from chance? (TOST equivalence)",
            p(
                f"TOST (two one-sided tests) asks whether accuracy lies inside 50% ± "
                f"{100 * m:g} points: one test that it is above {50 - 100 * m:g}%, one that it "
                f"is below {50 + 100 * m:g}%; both must reject at alpha. Equivalently, the "
                "(1 - 2 alpha) interval lies inside the margin."
            ),
            table(self.table, label="equivalence tests"),
            p(
                self.method + ". A non-significant difference is not evidence of equivalence.",
                "note",
            ),
            anchor="equivalence",
        )


def build_equivalence(ctx: Context) -> EquivalenceSection:
    settings, alpha, boot = ctx.settings, ctx.alpha, ctx.boot
    m = settings.equivalence_margin
    eq = equivalence_table(ctx.per_judge, margin=m, alpha=alpha, order=ctx.order)
    if not eq.empty:
        level = 1 - 2 * alpha
        lows, highs = zip(
            *[boot.interval("accuracy", c, level) for c in eq["condition"]], strict=True
        )
        eq["boot_ci_low"] = lows
        eq["boot_ci_high"] = highs
        eq["equivalent_boot"] = (eq["boot_ci_low"] > 0.5 - m) & (eq["boot_ci_high"] < 0.5 + m)
    return EquivalenceSection(table=eq, margin=m, alpha=alpha)


# ---------------------------------------------------------------- 7 ROC


@dataclass
class RocSection(RocResult):
    """The ROC analysis with the two-way bootstrap's AUC interval in its table (rating)."""

    def to_dict(self) -> dict[str, Any]:
        return dataclass_dict(self)

    def html(self, figure: bytes | None) -> str:
        return section(
            "7. ROC and AUC (all five levels)",
            table(self.table, label="ROC and AUC"),
            p(
                "Score: " + self.score + ". AUC = U / (n1 n2); CI from the two-way bootstrap.",
                "note",
            ),
            img(figure, "ROC curves"),
            anchor="roc",
        )


def build_roc(ctx: Context) -> RocSection:
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
    return RocSection(table=roc_table, curves=roc.curves, score=roc.score)


# ---------------------------------------------------------------- 8 bootstrap


@dataclass
class BootstrapSection:
    table: pd.DataFrame  # condition, statistic, estimate, se, ci_low, ci_high
    diff_vs_control: pd.DataFrame
    n_boot: int
    seed: int
    alpha: float
    method: str = (
        "percentile two-way bootstrap: articles resampled once per replicate (shared "
        "across conditions), judges resampled within condition, independently"
    )
    conditions: list[str] = field(default_factory=list)  # row order of the report's table

    def to_dict(self) -> dict[str, Any]:
        return {
            name: jsonable(getattr(self, name))
            for name in ("table", "diff_vs_control", "n_boot", "seed", "alpha", "method")
        }

    def html(self) -> str:
        return section(
            "8. Two-way bootstrap",
            table(wide_bootstrap(self.table, self.conditions), label="bootstrap intervals"),
            table(self.diff_vs_control, label="bootstrap differences from the control"),
            p(self.method + f"; B = {self.n_boot}, seed {self.seed}.", "note"),
            anchor="bootstrap",
        )


def build_bootstrap(ctx: Context) -> BootstrapSection:
    boot = ctx.boot
    return BootstrapSection(
        table=boot.table,
        diff_vs_control=boot.diff_vs_control,
        n_boot=boot.n_boot,
        seed=boot.seed,
        alpha=ctx.alpha,
        conditions=boot.conditions,
    )


def wide_bootstrap(frame: pd.DataFrame, conditions: list[str]) -> pd.DataFrame:
    """Conditions as rows, statistics as columns, "estimate [interval]" in each cell."""
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


# ---------------------------------------------------------------- 9 fits


@dataclass
class FitsSection:
    fits: dict[str, CurveFit]
    points: pd.DataFrame  # condition, params, accuracy
    skipped: str | None
    unit: str = "N in billions of parameters for a; grid in parameters"

    def to_dict(self) -> dict[str, Any]:
        return dataclass_dict(self)

    def html(self) -> str:
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
                for f in self.fits.values()
            ]
        )
        return section(
            "9. Accuracy vs model size",
            table(rows, label="size curve fits"),
            p(
                self.skipped
                or "N in billions of parameters; parameter CIs and "
                "bands from refitting every bootstrap replicate.",
                "note",
            ),
            anchor="fits",
        )


def build_fits(ctx: Context) -> FitsSection:
    boot, control = ctx.boot, ctx.control
    t = ctx.table.table.set_index("condition").reindex(boot.conditions)
    params = t["params"].to_numpy()
    # The control is a deliberately bad model, not a point on the scaling curve.
    params = np.where(np.asarray(boot.conditions) == control, np.nan, params.astype(float))
    acc = t["mean_accuracy"].to_numpy()
    fits = fit_size_curves(
        boot.conditions, params, acc, boot.replicates["accuracy"], alpha=ctx.alpha
    )
    return FitsSection(fits=fits.fits, points=fits.points, skipped=fits.skipped)
