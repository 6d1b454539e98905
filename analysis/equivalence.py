"""Is a condition indistinguishable from chance? TOST equivalence (ANALYSIS.md row 6).

Two one-sided t-tests on the per-judge accuracies against 0.5 - margin and 0.5 + margin; the
condition is declared equivalent to chance when both reject at alpha (p_tost = max of the two).
Equivalently, the (1 - 2 alpha) t-interval lies inside the margin. The pipeline adds the same
check with the two-way bootstrap's (1 - 2 alpha) interval, which also carries article variance.
A non-significant difference test is never reported as "indistinguishable".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats


@dataclass(frozen=True)
class TostResult:
    mean: float
    n: int
    low: float
    upp: float
    t_lower: float
    p_lower: float
    t_upper: float
    p_upper: float
    pvalue: float
    ci_low: float  # (1 - 2 alpha) t-interval
    ci_high: float


def tost_mean(values: np.ndarray, low: float, upp: float, alpha: float = 0.05) -> TostResult:
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    n = len(x)
    if n < 2:
        nan = float("nan")
        return TostResult(
            float(x.mean()) if n else nan, n, low, upp, nan, nan, nan, nan, nan, nan, nan
        )
    m = x.mean()
    se = x.std(ddof=1) / np.sqrt(n)
    df = n - 1
    with np.errstate(divide="ignore", invalid="ignore"):
        t1 = (m - low) / se
        t2 = (m - upp) / se
    p1 = stats.t.sf(t1, df)
    p2 = stats.t.cdf(t2, df)
    half = stats.t.ppf(1 - alpha, df) * se
    return TostResult(
        float(m),
        n,
        low,
        upp,
        float(t1),
        float(p1),
        float(t2),
        float(p2),
        float(max(p1, p2)),
        float(m - half),
        float(m + half),
    )


def equivalence_table(
    per_judge: pd.DataFrame,
    *,
    margin: float = 0.05,
    alpha: float = 0.05,
    order: list[str] | None = None,
) -> pd.DataFrame:
    rows = []
    for name in order or list(pd.unique(per_judge["condition"])):
        acc = per_judge.loc[per_judge["condition"] == name, "accuracy"].to_numpy(dtype=float)
        if len(acc) == 0:
            continue
        r = tost_mean(acc, 0.5 - margin, 0.5 + margin, alpha)
        rows.append(
            {
                "condition": name,
                "judges": r.n,
                "mean_accuracy": r.mean,
                "margin": margin,
                "p_tost": r.pvalue,
                "t_lower": r.t_lower,
                "p_lower": r.p_lower,
                "t_upper": r.t_upper,
                "p_upper": r.p_upper,
                "ci_tost_low": r.ci_low,
                "ci_tost_high": r.ci_high,
                "equivalent_t": bool(r.pvalue < alpha) if np.isfinite(r.pvalue) else False,
            }
        )
    return pd.DataFrame(rows)
