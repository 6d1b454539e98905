"""Position and fatigue effects (ANALYSIS.md row 13).

Accuracy by position in the judge's sequence: a logistic regression of correct on position
(per 10 items) with condition as a covariate and judge-clustered (sandwich) standard errors,
on non-neutral answers, plus accuracy by position bin. Paired protocol: side bias, the
proportion of trials where the left text was picked as human, per judge, t-tested against 0.5.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats


@dataclass
class PositionResult:
    slope_per_10: float
    slope_se: float
    odds_ratio_per_10: float
    ci_low: float
    ci_high: float
    p: float
    n: int
    bins: pd.DataFrame
    side_bias: dict[str, float] | None
    method: str


def position_analysis(
    frame: pd.DataFrame, *, alpha: float = 0.05, n_bins: int = 5
) -> PositionResult:
    f = frame.dropna(subset=["correct", "position"])
    f = f[~f["neutral"]]
    pos = f["position"].to_numpy(dtype=float)
    y = f["correct"].to_numpy(dtype=float)
    conds = pd.get_dummies(f["condition"], drop_first=True, dtype=float)
    X = np.column_stack([np.ones(len(f)), pos / 10.0, conds.to_numpy()])
    groups = pd.factorize(f["judge"].to_numpy())[0]
    slope = se = lo = hi = p = np.nan
    if len(np.unique(pos)) > 1 and len(np.unique(groups)) > 1:
        fit = sm.GLM(y, X, family=sm.families.Binomial()).fit(
            cov_type="cluster", cov_kwds={"groups": groups}
        )
        slope, se = float(fit.params[1]), float(fit.bse[1])
        z = stats.norm.ppf(1 - alpha / 2)
        lo, hi, p = slope - z * se, slope + z * se, float(fit.pvalues[1])
    edges = np.unique(np.quantile(pos, np.linspace(0, 1, n_bins + 1))) if len(pos) else []
    bins = pd.DataFrame()
    if len(edges) > 1:
        b = pd.cut(pos, edges, include_lowest=True)
        bins = (
            pd.DataFrame({"bin": b.astype(str), "correct": y, "position": pos})
            .groupby("bin", sort=False, observed=True)
            .agg(
                first=("position", "min"),
                last=("position", "max"),
                n=("correct", "size"),
                accuracy=("correct", "mean"),
            )
            .reset_index()
            .sort_values("first")
        )
    side = None
    if frame["paired"].any():
        left = frame.assign(_left=(frame["choice"] == "left").astype(float))
        per = left.groupby("judge")["_left"].mean().to_numpy()
        t, pv = stats.ttest_1samp(per, 0.5) if len(per) > 1 else (np.nan, np.nan)
        side = {"prop_left": float(per.mean()), "t": float(t), "p": float(pv), "judges": len(per)}
    return PositionResult(
        slope_per_10=slope,
        slope_se=se,
        odds_ratio_per_10=float(np.exp(slope)),
        ci_low=float(lo),
        ci_high=float(hi),
        p=float(p),
        n=len(f),
        bins=bins,
        side_bias=side,
        method="logistic GLM correct ~ position/10 + condition, judge-clustered SEs, "
        "non-neutral answers",
    )
