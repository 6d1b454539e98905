from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from analysis.data import prepare_responses, read_responses_csv
from analysis.table import holm, paper_table, per_judge_accuracy

REF = Path(__file__).parent / "reference"


def _hand_frame():
    # judge a (control): 3 answered, 2 correct, 1 "I don't know" -> 2/3
    # judge b (control): 2 answered, 2 correct -> 1
    # judge c (m): 4 answered, 1 correct -> 1/4 ; judge d (m): 2 answered, 1 correct -> 1/2
    rows = [
        ("control", "a", 1),
        ("control", "a", 1),
        ("control", "a", 0),
        ("control", "a", None),
        ("control", "b", 1),
        ("control", "b", 1),
        ("m", "c", 1),
        ("m", "c", 0),
        ("m", "c", 0),
        ("m", "c", 0),
        ("m", "d", 1),
        ("m", "d", 0),
        ("m", "d", None),
    ]
    f = pd.DataFrame(rows, columns=["condition", "judge", "correct"])
    f["correct"] = f["correct"].astype(float)
    f["neutral"] = f["correct"].isna()
    f["is_control"] = f["condition"].eq("control")
    return f


def test_hand_worked_table():
    t = paper_table(_hand_frame(), alpha=0.05).table.set_index("condition")
    assert t.loc["control", "mean_accuracy"] == pytest.approx((2 / 3 + 1) / 2)
    assert t.loc["m", "mean_accuracy"] == pytest.approx((0.25 + 0.5) / 2)
    assert t.loc["control", "idk_rate"] == pytest.approx(1 / 6)
    assert t.loc["m", "idk_rate"] == pytest.approx(1 / 7)
    # Student t by hand: means 5/6 and 3/8, both with sample variance 2 * (d/2)^2 where
    # d = difference of the two judges; pooled over df = 2.
    v0 = ((2 / 3 - 1) ** 2) / 2
    v1 = ((0.25 - 0.5) ** 2) / 2
    t_hand = (5 / 6 - 3 / 8) / np.sqrt((v0 + v1) / 2 * (1 / 2 + 1 / 2))
    assert t.loc["m", "t_student"] == pytest.approx(t_hand)
    assert t.loc["m", "p_student"] == pytest.approx(2 * stats.t.sf(t_hand, 2))


def test_against_scipy_called_directly(small_prepared):
    tab = paper_table(small_prepared, alpha=0.05).table.set_index("condition")
    pj = per_judge_accuracy(small_prepared)
    ctl = pj.loc[pj["condition"] == "control", "accuracy"].to_numpy()
    for cond in ("m-small", "m-mid", "m-large"):
        x = pj.loc[pj["condition"] == cond, "accuracy"].to_numpy()
        ci = stats.ttest_1samp(x, 0.5).confidence_interval(0.95)
        assert tab.loc[cond, "ci_low"] == pytest.approx(ci.low, rel=1e-10)
        assert tab.loc[cond, "ci_high"] == pytest.approx(ci.high, rel=1e-10)
        s = stats.ttest_ind(ctl, x)  # Student: equal_var=True is scipy's default
        w = stats.ttest_ind(ctl, x, equal_var=False)
        assert tab.loc[cond, "t_student"] == pytest.approx(s.statistic, rel=1e-10)
        assert tab.loc[cond, "p_student"] == pytest.approx(s.pvalue, rel=1e-8)
        assert tab.loc[cond, "t_welch"] == pytest.approx(w.statistic, rel=1e-10)
        assert tab.loc[cond, "p_welch"] == pytest.approx(w.pvalue, rel=1e-8)
    p = tab["p_student"].dropna()
    expected = multipletests(p.to_numpy(), method="holm")[1]
    np.testing.assert_allclose(tab.loc[p.index, "p_student_holm"], expected, rtol=1e-12)


def test_holm_hand_case():
    # p sorted 0.01, 0.02, 0.04 with m = 3 -> 0.03, 0.04, max(0.04, 0.04) = 0.04
    np.testing.assert_allclose(holm([0.04, 0.01, 0.02]), [0.04, 0.03, 0.04])
    np.testing.assert_allclose(holm([0.5, np.nan, 0.9]), [1.0, np.nan, 1.0])


def test_against_r_t_test_fixture():
    """R t.test (R 4.2.2, see reference/R_VERSIONS.txt) on the same fixed file; R derives
    correctness and per-judge accuracy itself. Tolerance 1e-9: same arithmetic, double
    precision."""
    prepared = prepare_responses(read_responses_csv(REF / "glmer_responses.csv"))
    tab = paper_table(prepared).table.set_index("condition")
    ref = pd.read_csv(REF / "ttest_reference.csv").set_index("condition")
    for cond in ref.index:
        assert tab.loc[cond, "judges_scored"] == ref.loc[cond, "judges"]
        for mine, theirs in (
            ("mean_accuracy", "mean"),
            ("ci_low", "ci_low"),
            ("ci_high", "ci_high"),
            ("t_student", "t_student"),
            ("p_student", "p_student"),
            ("t_welch", "t_welch"),
            ("df_welch", "df_welch"),
            ("p_welch", "p_welch"),
        ):
            if np.isfinite(ref.loc[cond, theirs]):
                assert tab.loc[cond, mine] == pytest.approx(ref.loc[cond, theirs], rel=1e-9), mine


def test_table_3_11_layout_on_synthetic_paper_study():
    """A Table-3.11-like computation: the paper's 9 conditions, ~80 judges each, 25 articles."""
    from analysis.simulate import PAPER_CONDITIONS, simulate_responses

    df = simulate_responses(PAPER_CONDITIONS, judges_per_condition=80, seed=3, sd_article=0.3)
    pt = paper_table(prepare_responses(df))
    f = pt.formatted()
    assert list(f.columns[:5]) == [
        "condition",
        "mean accuracy",
        "95% CI",
        "t vs control (p)",
        '"I don\'t know"',
    ]
    assert f["condition"].tolist() == [c.name for c in PAPER_CONDITIONS]  # control, then size
    assert f.loc[0, "t vs control (p)"] == "–"
    assert all(s.endswith("%") for s in f["mean accuracy"])
    assert f["95% CI"].str.match(r"^\d+–\d+%$").all()
    assert f.loc[1:, "t vs control (p)"].str.match(r"^-?\d+\.\d \(.+\)$").all()
    tab = pt.table.set_index("condition")
    # the simulated truth ordering of the paper: control easiest, 175B hardest
    assert tab.loc["control", "mean_accuracy"] > tab.loc["gpt3-125m", "mean_accuracy"]
    assert tab.loc["gpt3-175b", "mean_accuracy"] < 0.6
    assert tab.loc["gpt3-175b", "t_student"] > 10


def test_judge_with_only_neutral_answers_is_counted_not_averaged():
    f = _hand_frame()
    extra = pd.DataFrame(
        {
            "condition": ["m"],
            "judge": ["e"],
            "correct": [np.nan],
            "neutral": [True],
            "is_control": [False],
        }
    )
    t = paper_table(pd.concat([f, extra], ignore_index=True)).table.set_index("condition")
    assert t.loc["m", "judges"] == 3 and t.loc["m", "judges_scored"] == 2
    assert t.loc["m", "mean_accuracy"] == pytest.approx(0.375)


def test_judge_in_two_conditions_is_two_units():
    f = _hand_frame()
    f.loc[f["judge"] == "d", "judge"] = "a"  # judge a now also rated in condition m
    t = paper_table(f).table.set_index("condition")
    assert t.loc["m", "judges_scored"] == 2 and t.loc["control", "judges_scored"] == 2
    assert t.loc["m", "mean_accuracy"] == pytest.approx((0.25 + 0.5) / 2)
    pj = per_judge_accuracy(f)
    assert sorted(pj["judge"]) == ["a", "a", "b", "c"]
