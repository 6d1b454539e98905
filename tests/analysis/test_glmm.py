"""analysis.glmm against lme4::glmer(nAGQ = 1) on committed fixtures (tests do not need R).

Tolerances from issue 15: 1e-3 logit on fixed effects, 2 % on standard errors, 5 % on
random-effect SDs. Fixtures: tests/analysis/reference (make_data.py, make_reference.R; versions
in R_VERSIONS.txt). A random-effect SD that glmer puts on its boundary (0) must come out at
most 0.01 here.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.data import prepare_responses, read_responses_csv
from analysis.glmm import _Problem, _Structure, fit_glmm

REF = Path(__file__).parent / "reference"


def _design(frame: pd.DataFrame, conditions: list[str]):
    cond = frame["condition"].to_numpy()
    X = np.column_stack([np.ones(len(frame))] + [(cond == c).astype(float) for c in conditions])
    j = pd.factorize(frame["judge"])[0]
    a = pd.factorize(frame["article"])[0]
    return X, (j, a)


def _lme4(name: str):
    fixed = pd.read_csv(REF / f"{name}_fixed.csv")
    sd = pd.read_csv(REF / f"{name}_sd.csv").set_index("group")["sd"]
    others = [t[len("condition") :] for t in fixed["term"].iloc[1:]]
    return fixed, sd, others


def _check(fit, fixed, sd):
    gaps = {
        "fixed": np.abs(fit.beta - fixed["estimate"].to_numpy()).max(),
        "se": np.abs(fit.se / fixed["se"].to_numpy() - 1).max(),
    }
    assert gaps["fixed"] < 1e-3, gaps
    assert gaps["se"] < 0.02, gaps
    for k, group in enumerate(("judge", "article")):
        if sd[group] < 1e-4:
            assert fit.theta[k] < 0.01
        else:
            assert fit.theta[k] == pytest.approx(sd[group], rel=0.05)
    return gaps


@pytest.mark.parametrize("name", ["paper", "near_zero", "unbalanced"])
def test_agrees_with_lme4_on_simulated_sets(name):
    data = pd.read_csv(REF / f"glmm_{name}.csv", dtype={"judge": str, "article": str})
    fixed, sd, others = _lme4(f"glmm_{name}")
    X, groups = _design(data, others)
    fit = fit_glmm(data["y"].to_numpy(), X, groups)
    _check(fit, fixed, sd)
    if name == "near_zero":
        assert any("boundary" in w for w in fit.warnings)
    else:
        assert fit.converged and not fit.warnings


@pytest.mark.parametrize("outcome,name", [("primary", ""), ("all_answers", "_all")])
def test_agrees_with_lme4_on_the_responses_fixture(outcome, name):
    from analysis.mixed import fit_mixed

    frame = prepare_responses(read_responses_csv(REF / "glmer_responses.csv"))
    fit = fit_mixed(
        frame, outcome=outcome, order=["control", "small", "large"], reference="control"
    )
    fixed = pd.read_csv(REF / f"glmer{name}_fixed.csv")
    fixed["term"] = fixed["term"].str.replace(r"^condition(\w+)$", r"condition[\1]", regex=True)
    mine = fit.fixed.set_index("term").loc[fixed["term"]]
    assert np.abs(mine["estimate"].to_numpy() - fixed["estimate"].to_numpy()).max() < 1e-3
    assert np.abs(mine["se"].to_numpy() / fixed["se"].to_numpy() - 1).max() < 0.02
    sd = pd.read_csv(REF / f"glmer{name}_sd.csv").set_index("group")["sd"]
    var = fit.variance.set_index("group")["sd"]
    for group in ("judge", "article"):
        assert var[group] == pytest.approx(sd[group], rel=0.05)
    assert fit.converged


def test_gradient_is_exact():
    rng = np.random.default_rng(3)
    n, nj, na = 600, 50, 12
    j, a = rng.integers(0, nj, n), rng.integers(0, na, n)
    X = np.column_stack([np.ones(n), rng.integers(0, 2, n)])
    y = (rng.random(n) < 0.6).astype(float)
    prob = _Problem(y, X, _Structure(j, a, nj, na))
    x = np.array([0.7, 0.4, 0.3, -0.2])
    _, grad = prob.value_and_grad(x)
    h = 1e-5
    num = [
        (prob.laplace((x + e)[:2], (x + e)[2:]) - prob.laplace((x - e)[:2], (x - e)[2:])) / (2 * h)
        for e in np.eye(4) * h
    ]
    np.testing.assert_allclose(grad, num, rtol=1e-5, atol=1e-6)


def test_rejects_a_rank_deficient_design():
    X = np.ones((10, 2))
    with pytest.raises(ValueError, match="rank deficient"):
        fit_glmm(np.arange(10) % 2, X, (np.arange(10) % 3, np.arange(10) % 2))
