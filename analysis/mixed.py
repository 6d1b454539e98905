"""The primary accuracy model (ANALYSIS.md row 4): correct ~ condition + (1|judge) + (1|article).

Fitted by maximum likelihood under the Laplace approximation exactly as ``lme4::glmer(...,
nAGQ = 1)`` does (:mod:`analysis.glmm`: PIRLS inside the profiled Laplace deviance, SEs from the
Hessian over the variance and fixed-effect parameters). Checked against glmer on the committed
fixtures in ``tests/analysis/reference`` (agreement in ``tests/analysis/test_glmm.py``). The
paired protocol uses the same model with correct = "picked the human text" and the article
(title) as the second grouping factor.

Outcomes: "primary" uses non-neutral answers (the paper's rule); "all_answers" scores "I don't
know" as wrong; "half_credit" scores "I don't know" answers alternately 1 and 0 along each
judge's sequence (starting at 1 or 0 by judge, so that half the judges start each way), which
gives every judge half credit for their neutral answers without inventing extra observations.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import expit

from analysis.glmm import GlmmFit, fit_glmm

OUTCOMES = ("primary", "all_answers", "half_credit")


@dataclass
class MixedResult:
    outcome: str
    n_obs: int
    n_judges: int
    n_articles: int
    reference: str
    fixed: pd.DataFrame  # term, estimate, se, z, p, ci_low, ci_high
    conditions: pd.DataFrame  # condition, logit, se, accuracy, ci_low, ci_high, marginal_accuracy
    variance: pd.DataFrame  # group, sd, sd_se, sd_low, sd_high, levels
    method: str
    converged: bool = True
    deviance: float = float("nan")
    warnings: list[str] = field(default_factory=list)


def outcome_column(frame: pd.DataFrame, outcome: str) -> tuple[pd.DataFrame, np.ndarray]:
    """Rows used and the 0/1 outcome for one of ``OUTCOMES``."""
    neutral = frame["neutral"].to_numpy(dtype=bool)
    correct = frame["correct"].to_numpy(dtype=float)
    if outcome == "primary":
        return frame.loc[~neutral], correct[~neutral]
    if outcome == "all_answers":
        return frame, np.where(neutral, 0.0, correct)
    if outcome == "half_credit":
        order = frame.assign(_row=np.arange(len(frame))).sort_values(
            ["judge", "position"], kind="stable"
        )
        neutral_sorted = order["neutral"].to_numpy(dtype=bool)
        judge_code = pd.factorize(order["judge"].to_numpy())[0]
        count = order.loc[neutral_sorted].groupby("judge", sort=False).cumcount().to_numpy()
        credit = np.zeros(len(order))
        credit[neutral_sorted] = (judge_code[neutral_sorted] + count + 1) % 2
        y = np.where(neutral, 0.0, correct)
        y[order["_row"].to_numpy()[neutral_sorted]] = credit[neutral_sorted]
        return frame, y
    raise ValueError(f"unknown outcome {outcome!r}; expected one of {OUTCOMES}")


def fit_mixed(
    frame: pd.DataFrame,
    *,
    outcome: str = "primary",
    order: list[str] | None = None,
    reference: str | None = None,
    alpha: float = 0.05,
    hessian: bool = True,
) -> MixedResult:
    """Fit the logistic mixed model on scored judgments of a prepared frame.

    Treatment coding with ``reference`` (default: the control, else the first condition) as the
    intercept; every other condition gets a log-odds difference from it. ``hessian=False``
    skips the Hessian (conditional-covariance SEs), for power simulations.
    """
    data, y = outcome_column(frame, outcome)
    conditions = [
        c for c in (order or list(pd.unique(data["condition"]))) if (data["condition"] == c).any()
    ]
    if not conditions:
        raise ValueError("no scored judgments to fit")
    reference = reference if reference in conditions else conditions[0]
    others = [c for c in conditions if c != reference]
    cond = data["condition"].to_numpy()
    X = np.column_stack([np.ones(len(data))] + [(cond == c).astype(float) for c in others])
    j_codes, j_names = pd.factorize(data["judge"].to_numpy())
    a_codes, a_names = pd.factorize(data["article"].to_numpy())
    nj, na = len(j_names), len(a_names)
    fit = fit_glmm(y, X, (j_codes, a_codes), hessian=hessian)
    zc = stats.norm.ppf(1 - alpha / 2)
    return MixedResult(
        outcome=outcome,
        n_obs=len(data),
        n_judges=nj,
        n_articles=na,
        reference=reference,
        fixed=_fixed_effects(fit, ["(Intercept)"] + [f"condition[{c}]" for c in others], zc),
        conditions=_condition_accuracy(fit, conditions, others, zc),
        variance=_random_effects(fit, [nj, na], zc),
        method=(
            "maximum likelihood, Laplace approximation as lme4::glmer(nAGQ = 1): PIRLS inside "
            f"the deviance optimised over SDs and fixed effects; SEs: {fit.se_method}; "
            "random-effect SD intervals: Wald, from the same Hessian"
        ),
        converged=fit.converged,
        deviance=fit.deviance,
        warnings=list(fit.warnings),
    )


def _fixed_effects(fit: GlmmFit, names: list[str], zc: float) -> pd.DataFrame:
    """term, estimate, se, Wald z and p, and the Wald interval."""
    beta, se = fit.beta, fit.se
    z = beta / se
    return pd.DataFrame(
        {
            "term": names,
            "estimate": beta,
            "se": se,
            "z": z,
            "p": 2 * stats.norm.sf(np.abs(z)),
            "ci_low": beta - zc * se,
            "ci_high": beta + zc * se,
        }
    )


def _condition_accuracy(
    fit: GlmmFit, conditions: list[str], others: list[str], zc: float
) -> pd.DataFrame:
    """Per condition: accuracy for a typical judge on a typical article (random effects at 0),
    and the population-average (marginal) accuracy integrating over both random effects."""
    beta, V, sd_group = fit.beta, fit.cov, fit.theta
    gh_x, gh_w = np.polynomial.hermite_e.hermegauss(30)
    gh_w = gh_w / gh_w.sum()
    shift = sd_group[0] * gh_x[:, None] + sd_group[1] * gh_x[None, :]
    weight = gh_w[:, None] * gh_w[None, :]
    rows = []
    for c in conditions:
        L = np.zeros(len(beta))
        L[0] = 1.0
        if c in others:
            L[others.index(c) + 1] = 1.0
        lo = float(L @ beta)
        lse = float(np.sqrt(L @ V @ L))
        rows.append(
            {
                "condition": c,
                "logit": lo,
                "se": lse,
                "accuracy": float(expit(lo)),
                "ci_low": float(expit(lo - zc * lse)),
                "ci_high": float(expit(lo + zc * lse)),
                "marginal_accuracy": float((weight * expit(lo + shift)).sum()),
            }
        )
    return pd.DataFrame(rows)


def _random_effects(fit: GlmmFit, levels: list[int], zc: float) -> pd.DataFrame:
    """The judge and article SDs with Wald intervals (clipped at 0) and their level counts."""
    return pd.DataFrame(
        {
            "group": ["judge", "article"],
            "sd": fit.theta,
            "sd_se": fit.theta_se,
            "sd_low": np.clip(fit.theta - zc * fit.theta_se, 0, None),
            "sd_high": fit.theta + zc * fit.theta_se,
            "levels": levels,
        }
    )
