"""Per-article difficulty (ANALYSIS.md row 10).

Rating protocol: for every shown version (condition, article, machine or human) the judged-machine
rate = answers of 4 or 5 / all answers ("I don't know" counts as not judged machine), with a
Wilson interval. Machine versions that judges took for human are flagged by a one-sided binomial
test of "human" answers (1 or 2) against 0.5 among non-neutral answers, Benjamini-Hochberg
adjusted across all machine versions. Paired protocol: per (condition, article) the proportion
choosing the human text, flagged when significantly below 0.5 (the machine text fooled judges).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats


def wilson_interval(
    k: np.ndarray, n: np.ndarray, alpha: float = 0.05
) -> tuple[np.ndarray, np.ndarray]:
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    z = stats.norm.ppf(1 - alpha / 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def benjamini_hochberg(p: np.ndarray) -> np.ndarray:
    p = np.asarray(p, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    q = p[ok]
    m = len(q)
    if m == 0:
        return out
    order = np.argsort(q)
    scaled = q[order] * m / np.arange(1, m + 1)
    adj = np.minimum.accumulate(scaled[::-1])[::-1]
    res = np.empty(m)
    res[order] = np.minimum(adj, 1.0)
    out[ok] = res
    return out


@dataclass
class DifficultyResult:
    table: pd.DataFrame
    flagged: pd.DataFrame
    method: str


def article_difficulty(frame: pd.DataFrame, *, alpha: float = 0.05) -> DifficultyResult:
    paired = bool(frame["paired"].any())
    if paired:
        g = frame.assign(_c=frame["correct"].astype(float)).groupby(
            ["condition", "article"], sort=False
        )
        table = g.agg(n=("_c", "size"), chose_human=("_c", "sum")).reset_index()
        table["chose_human"] = table["chose_human"].astype(int)
        table["rate"] = table["chose_human"] / table["n"]
        table["ci_low"], table["ci_high"] = wilson_interval(table["chose_human"], table["n"], alpha)
        k_fooled = table["n"] - table["chose_human"]
        table["p_fooled"] = stats.binom.sf(k_fooled - 1, table["n"], 0.5)
        table["p_fooled_bh"] = benjamini_hochberg(table["p_fooled"].to_numpy())
        table["flag"] = table["p_fooled_bh"] < alpha
        method = "proportion choosing the human text; flag: fooled (one-sided binomial, BH)"
    else:
        f = frame.assign(
            _m=frame["says_machine"].astype(float),
            _h=(frame["rating"] <= 2).astype(float),
            _a=(~frame["neutral"]).astype(float),
            version=np.where(frame["is_machine"] == 1, "machine", "human"),
        )
        g = f.groupby(["condition", "article", "version"], sort=False)
        table = g.agg(
            n=("_m", "size"),
            judged_machine=("_m", "sum"),
            judged_human=("_h", "sum"),
            answered=("_a", "sum"),
        ).reset_index()
        for c in ("judged_machine", "judged_human", "answered"):
            table[c] = table[c].astype(int)
        table["rate"] = table["judged_machine"] / table["n"]
        table["ci_low"], table["ci_high"] = wilson_interval(
            table["judged_machine"], table["n"], alpha
        )
        machine = table["version"].eq("machine").to_numpy()
        # P(X >= judged_human) for X ~ Binomial(answered, 0.5): judged human more than chance
        p = stats.binom.sf(table["judged_human"] - 1, table["answered"], 0.5)
        table["p_judged_human"] = np.where(machine & (table["answered"] > 0), p, np.nan)
        table["p_judged_human_bh"] = benjamini_hochberg(table["p_judged_human"].to_numpy())
        table["flag"] = table["p_judged_human_bh"] < alpha
        method = (
            "judged-machine rate (ratings 4-5 / all answers) with Wilson CI; flag: machine "
            "version judged human more often than chance among non-neutral answers "
            "(one-sided exact binomial, Benjamini-Hochberg across machine versions)"
        )
    keys = [k for k in ("condition", "article", "version") if k in table.columns]
    table = table.sort_values(keys, kind="stable").reset_index(drop=True)
    return DifficultyResult(table=table, flagged=table[table["flag"]].copy(), method=method)
