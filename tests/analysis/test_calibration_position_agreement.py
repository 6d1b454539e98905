import numpy as np
import pandas as pd
import pytest

from analysis.agreement import agreement_analysis
from analysis.calibration import calibration_analysis
from analysis.data import prepare_responses
from analysis.position import position_analysis
from analysis.simulate import PAPER_CONDITIONS, simulate_responses


def test_calibration_hand_case():
    f = pd.DataFrame(
        {
            "condition": "c",
            "judge": ["a", "a", "a", "b", "b", "b"],
            "rating": [5.0, 4.0, 2.0, 1.0, 4.0, 3.0],
            "correct": [1, 0, 1, 1, 1, np.nan],
            "paired": False,
            "confidence": np.nan,
        }
    )
    res = calibration_analysis(f)
    t = res.table[res.table["condition"] == "all"].set_index("label")
    # very likely (5, 1): both correct; more likely (4, 2, 4): 2 of 3
    assert t.loc["very likely", "n"] == 2 and t.loc["very likely", "accuracy"] == 1
    assert t.loc["more likely", "n"] == 3
    assert t.loc["more likely", "accuracy"] == pytest.approx(2 / 3)
    # per judge: a: very 1 - more 0.5 = 0.5 ; b: 1 - 1 = 0
    assert res.trend_mean_diff == pytest.approx(0.25)


def _newton_logistic(X, y, iters=30):
    beta = np.zeros(X.shape[1])
    for _ in range(iters):
        p = 1 / (1 + np.exp(-X @ beta))
        beta += np.linalg.solve(X.T @ (X * (p * (1 - p))[:, None]), X.T @ (y - p))
    return beta


def test_position_slope_matches_hand_coded_logistic(small_prepared):
    res = position_analysis(small_prepared)
    f = small_prepared[~small_prepared["neutral"]]
    conds = pd.get_dummies(f["condition"], drop_first=True, dtype=float).to_numpy()
    X = np.column_stack([np.ones(len(f)), f["position"].to_numpy() / 10, conds])
    beta = _newton_logistic(X, f["correct"].to_numpy())
    assert res.slope_per_10 == pytest.approx(beta[1], abs=1e-6)
    assert res.n == len(f)


def test_position_detects_fatigue():
    df = simulate_responses(PAPER_CONDITIONS[:2], judges_per_condition=60, n_articles=20, seed=4)
    # judges get worse late in the sequence: flip half the correct answers after position 10
    late = (df["position"] > 10) & (df["rating"] != 3)
    rng = np.random.default_rng(0)
    flip = late & (rng.random(len(df)) < 0.4)
    df.loc[flip, "rating"] = 6 - df.loc[flip, "rating"]
    df.loc[flip, "correct"] = 1 - df.loc[flip, "correct"]
    res = position_analysis(prepare_responses(df))
    assert res.slope_per_10 < 0 and res.p < 0.001


KRIPPENDORFF_EXAMPLE = [  # Krippendorff (2011), "Computing Krippendorff's alpha-reliability"
    [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
]


def test_agreement_reproduces_krippendorffs_published_example():
    rows = []
    for coder, values in enumerate(KRIPPENDORFF_EXAMPLE):
        for unit, v in enumerate(values):
            if v is not None:
                rows.append(
                    {
                        "condition": "c",
                        "judge": f"coder{coder}",
                        "item": f"u{unit:02d}",
                        "rating": float(v),
                        "correct": np.nan,
                        "paired": False,
                    }
                )
    t = agreement_analysis(pd.DataFrame(rows)).table.set_index("level")
    # published values: nominal 0.743, ordinal 0.815 (interval would be 0.849)
    assert t.loc["nominal", "alpha"] == pytest.approx(0.743, abs=5e-4)
    assert t.loc["ordinal", "alpha"] == pytest.approx(0.815, abs=5e-4)
    assert t.loc["ordinal", "judges"] == 4 and t.loc["ordinal", "units"] == 12
    # bootstrap interval over texts: finite, around the estimate, reproducible by seed
    for level in ("nominal", "ordinal"):
        assert t.loc[level, "ci_low"] < t.loc[level, "alpha"] < t.loc[level, "ci_high"]
        assert t.loc[level, "n_boot"] >= 150
    again = agreement_analysis(pd.DataFrame(rows)).table.set_index("level")
    assert again.loc["ordinal", "ci_low"] == t.loc["ordinal", "ci_low"]
