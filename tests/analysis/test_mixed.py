from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.data import prepare_responses, read_responses_csv
from analysis.mixed import fit_mixed, outcome_column
from analysis.simulate import SimCondition, simulate_responses

REF = Path(__file__).parent / "reference"
ORDER = ["control", "small", "large"]


@pytest.fixture(scope="module")
def reference_data():
    return prepare_responses(read_responses_csv(REF / "glmer_responses.csv"))


def _glmer(name):
    fixed = pd.read_csv(REF / f"glmer{name}_fixed.csv")
    fixed["term"] = fixed["term"].replace(
        {"conditionsmall": "condition[small]", "conditionlarge": "condition[large]"}
    )
    return fixed.set_index("term"), pd.read_csv(REF / f"glmer{name}_sd.csv").set_index("group")


def test_recovers_known_truth():
    truth = (SimCondition("control", None, 0.80, True), SimCondition("m", 1e9, 0.60))
    df = simulate_responses(
        truth, judges_per_condition=80, n_articles=30, sd_judge=0.5, sd_article=0.5, seed=5
    )
    fit = fit_mixed(prepare_responses(df), reference="control", order=["control", "m"])
    cond = fit.conditions.set_index("condition")
    # Truth is on the logit scale; sample article effects move all conditions together, so
    # allow ~2.5 SEs (SE ~ 0.12 here).
    assert cond.loc["control", "logit"] == pytest.approx(np.log(0.8 / 0.2), abs=0.3)
    diff = fit.fixed.set_index("term").loc["condition[m]", "estimate"]
    assert diff == pytest.approx(np.log(0.6 / 0.4) - np.log(0.8 / 0.2), abs=0.25)
    var = fit.variance.set_index("group")
    assert var.loc["judge", "sd"] == pytest.approx(0.5, abs=0.15)
    assert var.loc["article", "sd"] == pytest.approx(0.5, abs=0.25)
    # CI of each condition covers the sample-specific truth comfortably in this seed
    assert cond.loc["m", "ci_low"] < 0.6 + 0.08 and cond.loc["m", "ci_high"] > 0.6 - 0.08


def test_half_credit_scoring_by_hand():
    f = pd.DataFrame(
        {
            "judge": ["a"] * 4 + ["b"] * 3,
            "position": [1, 2, 3, 4, 1, 2, 3],
            "neutral": [True, False, True, True, True, False, True],
            "correct": [np.nan, 1, np.nan, np.nan, np.nan, 0, np.nan],
        }
    )
    data, y = outcome_column(f, "half_credit")
    assert len(data) == 7
    # judge a (code 0) starts at 1: neutrals get 1, 0, 1; judge b (code 1) starts at 0: 0, 1
    assert y.tolist() == [1, 1, 0, 1, 0, 0, 1]
    _, y_all = outcome_column(f, "all_answers")
    assert y_all.tolist() == [0, 1, 0, 0, 0, 0, 0]
    d, y_p = outcome_column(f, "primary")
    assert len(d) == 2 and y_p.tolist() == [1, 0]


def test_reference_need_not_come_first():
    """The reference named as the control fits the same model whatever order the rows come in."""
    truth = (SimCondition("control", None, 0.80, True), SimCondition("m", 1e9, 0.60))
    df = prepare_responses(
        simulate_responses(truth, judges_per_condition=30, n_articles=12, seed=2)
    )
    first = fit_mixed(df, reference="control", order=["control", "m"])
    second = fit_mixed(df, reference="control", order=["m", "control"])
    a = first.conditions.set_index("condition").sort_index()
    b = second.conditions.set_index("condition").sort_index()
    assert np.allclose(a["logit"], b["logit"]) and np.allclose(a["se"], b["se"])
    assert a.loc["m", "logit"] < a.loc["control", "logit"]
