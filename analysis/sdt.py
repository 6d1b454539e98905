"""Signal detection: sensitivity d' and criterion c (ANALYSIS.md row 5).

Rating protocol: a "machine" response is a rating of 4 or 5; every other answer, "I don't know"
included, is a "not machine" response, so all five levels are used and a judge who hides behind
"I don't know" shows up in c rather than vanishing. Hits are machine texts called machine, false
alarms human texts called machine. Per judge, rates use the log-linear correction
(x + 0.5) / (n + 1) (Hautus 1995), so 0 and 1 never reach the z transform.
d' = z(H) - z(F); c = -(z(H) + z(F)) / 2; c > 0 is a bias toward answering "human".

Paired protocol (2AFC): d' = sqrt(2) z(proportion correct), per judge with the same correction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from analysis.table import _codes, _judge_codes


@dataclass
class SdtResult:
    per_judge: pd.DataFrame
    table: pd.DataFrame  # condition, mean d', CI, mean c, CI, pooled d', pooled c
    method: str


def loglinear_rate(x: np.ndarray, n: np.ndarray) -> np.ndarray:
    return (np.asarray(x, dtype=float) + 0.5) / (np.asarray(n, dtype=float) + 1.0)


def dprime_c(
    hits: np.ndarray, n_signal: np.ndarray, fas: np.ndarray, n_noise: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    zh = stats.norm.ppf(loglinear_rate(hits, n_signal))
    zf = stats.norm.ppf(loglinear_rate(fas, n_noise))
    return zh - zf, -(zh + zf) / 2


def _t_ci(values: pd.Series, alpha: float) -> tuple[float, float, float]:
    v = values.dropna().to_numpy(dtype=float)
    if len(v) < 2:
        return (float(v.mean()) if len(v) else np.nan, np.nan, np.nan)
    m = v.mean()
    half = stats.t.ppf(1 - alpha / 2, len(v) - 1) * v.std(ddof=1) / np.sqrt(len(v))
    return float(m), float(m - half), float(m + half)


def sdt_analysis(
    frame: pd.DataFrame, *, alpha: float = 0.05, order: list[str] | None = None
) -> SdtResult:
    j_codes, j_names = _judge_codes(frame)
    c_codes, c_names = _codes(frame["condition"])
    nj = len(j_names)
    judge_cond = np.empty(nj, dtype=np.int64)
    judge_cond[j_codes] = c_codes
    paired = bool(frame["paired"].any())
    if paired:
        counts = _paired_counts(frame, j_codes, nj)
        method = "2AFC: d' = sqrt(2) z(PC), log-linear corrected"
    else:
        counts = _rating_counts(frame, j_codes, nj)
        method = (
            "yes/no on 'machine' (rating 4-5) vs all other answers incl. 'I don't know'; "
            "per-judge log-linear correction"
        )
    per = pd.DataFrame({"condition": c_names[judge_cond], "judge": j_names, **counts})
    rows = []
    for name in order or list(c_names):
        sub = per[per["condition"] == name]
        if not sub.empty:
            rows.append(_condition_row(name, sub, paired, alpha))
    return SdtResult(per_judge=per, table=pd.DataFrame(rows), method=method)


def _paired_counts(frame: pd.DataFrame, j_codes: np.ndarray, nj: int) -> dict[str, np.ndarray]:
    """Per judge: trials, correct choices, d' = sqrt(2) z(corrected proportion correct)."""
    correct = np.nan_to_num(frame["correct"].to_numpy(dtype=float))
    n = np.bincount(j_codes, minlength=nj).astype(float)
    k = np.bincount(j_codes, weights=correct, minlength=nj)
    dprime = np.sqrt(2) * stats.norm.ppf(loglinear_rate(k, n))
    return {"trials": n, "correct": k, "dprime": dprime, "c": np.nan}


def _rating_counts(frame: pd.DataFrame, j_codes: np.ndarray, nj: int) -> dict[str, np.ndarray]:
    """Per judge: hits, machine texts, false alarms, human texts, d' and c."""
    machine = frame["is_machine"].to_numpy() == 1
    says = frame["says_machine"].to_numpy(dtype=bool)
    n_sig = np.bincount(j_codes, weights=machine, minlength=nj)
    n_noise = np.bincount(j_codes, weights=~machine, minlength=nj)
    hits = np.bincount(j_codes, weights=machine & says, minlength=nj)
    fas = np.bincount(j_codes, weights=~machine & says, minlength=nj)
    dprime, c = dprime_c(hits, n_sig, fas, n_noise)
    return {
        "hits": hits,
        "n_machine": n_sig,
        "false_alarms": fas,
        "n_human": n_noise,
        "dprime": dprime,
        "c": c,
    }


def _condition_row(name: str, sub: pd.DataFrame, paired: bool, alpha: float) -> dict[str, Any]:
    """Mean d' and c over the condition's judges with t intervals, and the pooled values."""
    d, dl, dh = _t_ci(sub["dprime"], alpha)
    cc, cl, ch = _t_ci(sub["c"], alpha)
    row = {
        "condition": name,
        "judges": len(sub),
        "dprime_mean": d,
        "dprime_ci_low": dl,
        "dprime_ci_high": dh,
        "c_mean": cc,
        "c_ci_low": cl,
        "c_ci_high": ch,
    }
    if paired:
        pc = sub["correct"].sum() / sub["trials"].sum()
        row["dprime_pooled"] = float(np.sqrt(2) * stats.norm.ppf(pc))
        row["c_pooled"] = np.nan
    else:
        dp, cp = dprime_c(
            sub["hits"].sum(),
            sub["n_machine"].sum(),
            sub["false_alarms"].sum(),
            sub["n_human"].sum(),
        )
        row["dprime_pooled"] = float(dp)
        row["c_pooled"] = float(cp)
        row["hit_rate"] = sub["hits"].sum() / sub["n_machine"].sum()
        row["false_alarm_rate"] = sub["false_alarms"].sum() / sub["n_human"].sum()
    return row
