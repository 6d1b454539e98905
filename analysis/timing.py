"""Response time against model size (ANALYSIS.md row 11).

Time per item is ``visible_ms`` (time the text was on screen), else ``server_ms``. Per condition:
median seconds per item with a distribution-free CI for the median (order statistics of the
per-judge medians, so the unit is the judge). The size trend is an OLS fit of each judge's mean
log time on log10 parameters (one point per judge, so judgments are not treated as independent);
exp(slope) is the factor by which time per item grows for a tenfold larger model.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats


@dataclass
class TimingResult:
    table: pd.DataFrame
    slope: float = float("nan")
    slope_ci: tuple[float, float] = (float("nan"), float("nan"))
    slope_p: float = float("nan")
    factor_per_10x: float = float("nan")
    n_judges_fit: int = 0
    grid: list[float] = field(default_factory=list)
    fit_seconds: list[float] = field(default_factory=list)
    band_low: list[float] = field(default_factory=list)
    band_high: list[float] = field(default_factory=list)
    per_judge: pd.DataFrame = field(default_factory=pd.DataFrame)


def median_ci(values: np.ndarray, alpha: float = 0.05) -> tuple[float, float]:
    """Order-statistic CI for a median (binomial(n, 1/2) ranks)."""
    x = np.sort(np.asarray(values, dtype=float))
    n = len(x)
    if n < 2:
        return (np.nan, np.nan)
    lo = int(stats.binom.ppf(alpha / 2, n, 0.5))
    hi = int(n - lo + 1)
    lo = max(lo, 1)
    hi = min(hi, n)
    return float(x[lo - 1]), float(x[hi - 1])


def timing_analysis(
    frame: pd.DataFrame,
    *,
    alpha: float = 0.05,
    order: list[str] | None = None,
    control: str | None = None,
) -> TimingResult:
    """Per-condition times and the size trend (the control, if sized, stays out of the fit)."""
    f = frame[np.isfinite(frame["time_ms"]) & (frame["time_ms"] > 0)]
    if f.empty:
        return TimingResult(table=pd.DataFrame())
    seconds = f["time_ms"].to_numpy(dtype=float) / 1000
    per_judge = (
        f.assign(_s=seconds, _log=np.log(seconds))
        .groupby(["condition", "judge"], sort=False)
        .agg(params=("params", "first"), median_s=("_s", "median"), mean_log_s=("_log", "mean"))
        .reset_index()
    )
    rows = []
    for name in order or list(pd.unique(f["condition"])):
        sub = per_judge[per_judge["condition"] == name]
        if sub.empty:
            continue
        s = seconds[f["condition"].to_numpy() == name]
        lo, hi = median_ci(sub["median_s"].to_numpy(), alpha)
        rows.append(
            {
                "condition": name,
                "params": sub["params"].iloc[0],
                "judges": len(sub),
                "median_s": float(np.median(s)),
                "q1_s": float(np.quantile(s, 0.25)),
                "q3_s": float(np.quantile(s, 0.75)),
                "judge_median_s": float(sub["median_s"].median()),
                "judge_median_ci_low": lo,
                "judge_median_ci_high": hi,
            }
        )
    result = TimingResult(table=pd.DataFrame(rows), per_judge=per_judge)
    sized = per_judge[
        np.isfinite(per_judge["params"])
        & (per_judge["params"] > 0)
        & (per_judge["condition"] != control)
    ]
    if sized["params"].nunique() >= 2:
        x = np.log10(sized["params"].to_numpy(dtype=float))
        y = sized["mean_log_s"].to_numpy(dtype=float)
        model = sm.OLS(y, sm.add_constant(x)).fit()
        ci = model.conf_int(alpha)[1]
        grid = np.linspace(x.min() - 0.2, x.max() + 0.2, 50)
        pred = model.get_prediction(sm.add_constant(grid)).summary_frame(alpha=alpha)
        result.slope = float(model.params[1])
        result.slope_ci = (float(ci[0]), float(ci[1]))
        result.slope_p = float(model.pvalues[1])
        result.factor_per_10x = float(np.exp(model.params[1]))
        result.n_judges_fit = len(sized)
        result.grid = (10**grid).tolist()
        result.fit_seconds = np.exp(pred["mean"]).tolist()
        result.band_low = np.exp(pred["mean_ci_lower"]).tolist()
        result.band_high = np.exp(pred["mean_ci_upper"]).tolist()
    return result
