"""Calibration: accuracy by confidence level (ANALYSIS.md row 12).

Rating protocol: confidence 1 = "more likely", 2 = "very likely" (|rating - 3|; "I don't know"
has no direction and is left out). Paired protocol: the 1-5 confidence answer. Per level:
judgments, accuracy with a Wilson interval (descriptive: it treats judgments as independent),
and a trend test that respects clustering by judge: the per-judge
difference in accuracy between their highest and lowest level used, tested with a one-sample t.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from analysis.difficulty import wilson_interval


@dataclass
class CalibrationResult:
    table: pd.DataFrame  # condition ("all" pooled too), level, label, n, accuracy, CI
    trend_mean_diff: float
    trend_t: float
    trend_p: float
    trend_judges: int
    method: str


def confidence_levels(frame: pd.DataFrame) -> tuple[np.ndarray, dict[int, str]]:
    if frame["paired"].any():
        return frame["confidence"].to_numpy(dtype=float), {k: str(k) for k in range(1, 6)}
    level = np.abs(frame["rating"].to_numpy(dtype=float) - 3)
    level[level == 0] = np.nan
    return level, {1: "more likely", 2: "very likely"}


def calibration_analysis(
    frame: pd.DataFrame, *, alpha: float = 0.05, order: list[str] | None = None
) -> CalibrationResult:
    level, labels = confidence_levels(frame)
    f = frame.assign(_level=level).dropna(subset=["_level", "correct"])
    rows = []
    groups = [("all", f)] + [
        (c, f[f["condition"] == c]) for c in (order or list(pd.unique(f["condition"])))
    ]
    for name, sub in groups:
        for lv in sorted(labels):
            s = sub[sub["_level"] == lv]
            if s.empty:
                continue
            k, n = float(s["correct"].sum()), len(s)
            lo, hi = wilson_interval(k, n, alpha)
            rows.append(
                {
                    "condition": name,
                    "level": lv,
                    "label": labels[lv],
                    "n": n,
                    "accuracy": k / n,
                    "ci_low": float(lo),
                    "ci_high": float(hi),
                }
            )
    per = f.groupby(["judge", "_level"])["correct"].mean().unstack()
    lo_col, hi_col = per.columns.min(), per.columns.max()
    diff = (per[hi_col] - per[lo_col]).dropna() if len(per.columns) > 1 else pd.Series(dtype=float)
    if len(diff) >= 2 and diff.std(ddof=1) > 0:
        t, p = stats.ttest_1samp(diff.to_numpy(), 0.0)
    else:
        t = p = np.nan
    return CalibrationResult(
        table=pd.DataFrame(rows),
        trend_mean_diff=float(diff.mean()) if len(diff) else np.nan,
        trend_t=float(t),
        trend_p=float(p),
        trend_judges=len(diff),
        method="accuracy by confidence level (Wilson CI, descriptive); trend: per-judge "
        "(highest - lowest level) accuracy difference, one-sample t over judges",
    )
