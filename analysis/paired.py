"""Paired (two-alternative) protocol measures.

The natural measure is the proportion of trials in which the judge picked the human text. The
same machinery as the rating protocol applies with correct = (choice == human_side): per-judge
proportions in the paper's table, the mixed model, the two-way bootstrap, TOST against 0.5,
d' = sqrt(2) z(PC), per-article rates, side bias. This module adds the pooled proportion with a
Wilson interval (descriptive: trials are clustered in judges and articles) per condition.
"""

from __future__ import annotations

import pandas as pd

from analysis.difficulty import wilson_interval


def paired_summary(
    frame: pd.DataFrame, *, alpha: float = 0.05, order: list[str] | None = None
) -> pd.DataFrame:
    rows = []
    for name in order or list(pd.unique(frame["condition"])):
        sub = frame[frame["condition"] == name]
        if sub.empty:
            continue
        k, n = float(sub["correct"].sum()), len(sub)
        lo, hi = wilson_interval(k, n, alpha)
        rows.append(
            {
                "condition": name,
                "trials": n,
                "chose_human": int(k),
                "prop_chose_human": k / n,
                "wilson_low": float(lo),
                "wilson_high": float(hi),
                "prop_left": float((sub["choice"] == "left").mean()),
            }
        )
    return pd.DataFrame(rows)
