"""Agreement between judges: Krippendorff's alpha (ANALYSIS.md row 14).

Per condition, reliability data is judges (coders) x shown texts (units), missing where a judge
did not see a text. Rating protocol: the 1-5 ratings with level_of_measurement="ordinal" and
"nominal" (both stated explicitly; the package default would be "interval"). Paired protocol:
which text was picked as human, coded per unit, nominal.
"""

from __future__ import annotations

from dataclasses import dataclass

import krippendorff
import numpy as np
import pandas as pd


@dataclass
class AgreementResult:
    table: pd.DataFrame  # condition, level, alpha, judges, units


def reliability_matrix(frame: pd.DataFrame, value: str) -> np.ndarray:
    m = frame.pivot_table(index="judge", columns="item", values=value, aggfunc="first")
    return m.to_numpy(dtype=float)


def agreement_analysis(frame: pd.DataFrame, order: list[str] | None = None) -> AgreementResult:
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
        for level in levels:
            pairable = (np.isfinite(data).sum(0) >= 2).sum()
            values = np.unique(data[np.isfinite(data)])
            if pairable == 0 or len(values) < 2:
                alpha = np.nan
            else:
                alpha = float(
                    krippendorff.alpha(
                        reliability_data=data,
                        level_of_measurement=level,
                        value_domain=None
                        if level == "nominal"
                        else ([0.0, 1.0] if paired else [1.0, 2, 3, 4, 5]),
                    )
                )
            rows.append(
                {
                    "condition": name,
                    "level": level,
                    "alpha": alpha,
                    "judges": data.shape[0],
                    "units": data.shape[1],
                }
            )
    return AgreementResult(table=pd.DataFrame(rows))
