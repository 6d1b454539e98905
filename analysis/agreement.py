"""Agreement between judges: Krippendorff's alpha (ANALYSIS.md row 14).

Per condition, reliability data is judges (coders) x shown texts (units), missing where a judge
did not see a text. Rating protocol: the 1-5 ratings with level_of_measurement="ordinal" and
"nominal" (both stated explicitly; the package default would be "interval"). Paired protocol:
which text was picked as human, coded per unit, nominal.

Interval: percentile bootstrap over units (the shown texts are the sampled items; each replicate
draws as many texts as there are, with replacement, keeping every judge's answers to them),
``n_boot`` replicates from a seeded Generator. A replicate with fewer than two distinct values
has no alpha and is skipped; the count used is reported.
"""

from __future__ import annotations

from dataclasses import dataclass

import krippendorff
import numpy as np
import pandas as pd


@dataclass
class AgreementResult:
    table: pd.DataFrame  # condition, level, alpha, ci_low, ci_high, n_boot, judges, units


def reliability_matrix(frame: pd.DataFrame, value: str) -> np.ndarray:
    m = frame.pivot_table(index="judge", columns="item", values=value, aggfunc="first")
    return m.to_numpy(dtype=float)


def _alpha(data: np.ndarray, level: str, paired: bool) -> float:
    pairable = (np.isfinite(data).sum(0) >= 2).sum()
    values = np.unique(data[np.isfinite(data)])
    if pairable == 0 or len(values) < 2:
        return np.nan
    return float(
        krippendorff.alpha(
            reliability_data=data,
            level_of_measurement=level,
            value_domain=None
            if level == "nominal"
            else ([0.0, 1.0] if paired else [1.0, 2, 3, 4, 5]),
        )
    )


def agreement_analysis(
    frame: pd.DataFrame,
    order: list[str] | None = None,
    *,
    n_boot: int = 200,
    seed: int = 0,
    alpha_level: float = 0.05,
) -> AgreementResult:
    paired = bool(frame["paired"].any())
    if paired:
        f = frame.assign(_v=frame["correct"].astype(float))
        levels = ["nominal"]
    else:
        f = frame.assign(_v=frame["rating"].astype(float))
        levels = ["ordinal", "nominal"]
    rows = []
    for name in order or list(pd.unique(f["condition"])):
        sub = f[f["condition"] == name]
        if sub.empty:
            continue
        data = reliability_matrix(sub, "_v")
        rng = np.random.default_rng([seed, len(rows)])
        draws = [rng.integers(0, data.shape[1], data.shape[1]) for _ in range(n_boot)]
        for level in levels:
            est = _alpha(data, level, paired)
            reps = np.array([_alpha(data[:, d], level, paired) for d in draws]) if n_boot else []
            reps = np.asarray(reps, dtype=float)
            reps = reps[np.isfinite(reps)]
            lo, hi = (
                np.quantile(reps, [alpha_level / 2, 1 - alpha_level / 2])
                if np.isfinite(est) and len(reps) >= 20
                else (np.nan, np.nan)
            )
            rows.append(
                {
                    "condition": name,
                    "level": level,
                    "alpha": est,
                    "ci_low": float(lo),
                    "ci_high": float(hi),
                    "n_boot": int(len(reps)),
                    "judges": data.shape[0],
                    "units": data.shape[1],
                }
            )
    return AgreementResult(table=pd.DataFrame(rows))
