"""Power planning for the crossed judges x articles design (ANALYSIS.md row 15).

Simulation: each of J judges rates each of A articles once; P(correct) = expit(logit(accuracy)
+ u_j + v_a), u ~ N(0, sd_judge), v ~ N(0, sd_article) on the logit scale (the mixed model's own
terms, so pilot estimates plug straight in). Each simulated study is analysed with a test that
counts both sources of variance, so that its type I error is near alpha: the grand mean of the
J x A 0/1 matrix with its variance from the two-way random-effects ANOVA,
Var = (MS_judge + MS_article - MS_error) / (J A), and Satterthwaite degrees of freedom (the
quasi-F logic of Clark 1973). The hypothesis is accuracy != 0.5 (can judges tell at all?);
"accuracy" is the typical judge's accuracy on a typical article, expit(mu).

Analytic check: with sd_article = 0 the design reduces to a one-sample t-test on per-judge
accuracies, whose power ``statsmodels.stats.power.TTestPower`` gives directly.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import expit, logit

if TYPE_CHECKING:
    from analysis.planner import Plan


@dataclass
class PowerPlan:
    accuracy: float
    sd_judge: float
    sd_article: float
    alpha: float
    target: float
    n_sims: int
    seed: int
    grid: pd.DataFrame  # judges, articles, judgments, power, mc_se
    smallest: pd.DataFrame  # per articles: smallest judges reaching target (NaN if none)
    source: str
    analytic: pd.DataFrame = field(default_factory=pd.DataFrame)
    note: str = ""

    def to_dict(self) -> dict:
        """Plain JSON-ready dict (for the dashboard)."""
        from analysis.results import dataclass_dict

        return dataclass_dict(self)


def _quasi_t(y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean, SE and Satterthwaite df for (S, J, A) matrices of 0/1 outcomes."""
    _, J, A = y.shape
    m = y.mean(axis=(1, 2))
    r = y.mean(axis=2)
    c = y.mean(axis=1)
    ms_j = A * ((r - m[:, None]) ** 2).sum(1) / (J - 1)
    ms_a = J * ((c - m[:, None]) ** 2).sum(1) / (A - 1)
    resid = y - r[:, :, None] - c[:, None, :] + m[:, None, None]
    ms_e = (resid**2).sum(axis=(1, 2)) / ((J - 1) * (A - 1))
    num = ms_j + ms_a - ms_e
    num = np.maximum(num, ms_e / np.maximum(J, A))  # keep the variance positive
    se = np.sqrt(num / (J * A))
    with np.errstate(invalid="ignore", divide="ignore"):
        df = num**2 / (ms_j**2 / (J - 1) + ms_a**2 / (A - 1) + ms_e**2 / ((J - 1) * (A - 1)))
    return m, se, np.maximum(df, 1.0)


def simulate_power(
    accuracy: float,
    sd_judge: float,
    sd_article: float,
    judges: int,
    articles: int,
    *,
    n_sims: int = 400,
    alpha: float = 0.05,
    seed: int = 0,
    chunk: int = 200,
) -> float:
    """Fraction of simulated studies in which the quasi-t test rejects accuracy = 0.5."""
    if judges < 2 or articles < 2:
        raise ValueError("need at least 2 judges and 2 articles")
    rng = np.random.default_rng(seed)
    mu = logit(accuracy)
    rejected = 0
    for start in range(0, n_sims, chunk):
        s = min(chunk, n_sims - start)
        u = rng.normal(0, sd_judge, (s, judges, 1))
        v = rng.normal(0, sd_article, (s, 1, articles))
        y = (rng.random((s, judges, articles)) < expit(mu + u + v)).astype(float)
        m, se, df = _quasi_t(y)
        with np.errstate(invalid="ignore", divide="ignore"):
            t = (m - 0.5) / se
        rejected += int((np.abs(t) > stats.t.ppf(1 - alpha / 2, df)).sum())
    return rejected / n_sims


def analytic_power(
    accuracy: float, sd_judge: float, judges: int, articles: int, alpha: float = 0.05
) -> float:
    """One-sample t power on per-judge accuracy when articles do not vary (sd_article = 0)."""
    from statsmodels.stats.power import TTestPower

    x, w = np.polynomial.hermite_e.hermegauss(40)
    w = w / w.sum()
    p = expit(logit(accuracy) + sd_judge * x)
    mean = float((w * p).sum())
    # Var of a judge's observed accuracy = between-judge variance + binomial noise over A items
    var = float((w * (p - mean) ** 2).sum() + (w * p * (1 - p)).sum() / articles)
    effect = (mean - 0.5) / np.sqrt(var)
    return float(TTestPower().power(effect_size=effect, nobs=judges, alpha=alpha))


def pilot_estimates(
    prepared: pd.DataFrame, condition: str | None = None
) -> tuple[float, float, float]:
    """(accuracy, sd_judge, sd_article) from the mixed model fitted to pilot judgments."""
    from analysis.mixed import fit_mixed

    data = prepared if condition is None else prepared[prepared["condition"] == condition]
    if data.empty:
        raise ValueError(f"no pilot judgments for condition {condition!r}")
    fit = fit_mixed(data, outcome="primary", reference=condition)
    row = (
        fit.conditions.iloc[-1]
        if condition is None
        else fit.conditions.set_index("condition").loc[condition]
    )
    sd = fit.variance.set_index("group")["sd"]
    return float(row["accuracy"]), float(sd["judge"]), float(sd["article"])


def plan_power(
    *,
    accuracy: float | None = None,
    sd_judge: float | None = None,
    sd_article: float | None = None,
    pilot: pd.DataFrame | None = None,
    pilot_condition: str | None = None,
    judges: Sequence[int] = (20, 40, 80, 160),
    articles: Sequence[int] = (10, 25, 50),
    target: float = 0.8,
    alpha: float = 0.05,
    n_sims: int = 400,
    seed: int = 0,
) -> PowerPlan:
    """Power for each (judges, articles) in the grid and the smallest judges per article count.

    Give either assumed effects (``accuracy``, ``sd_judge``, ``sd_article`` on the logit scale)
    or ``pilot`` responses (a responses frame, raw or prepared) to estimate them; explicit
    values override pilot estimates.
    """
    source = "assumed"
    if pilot is not None:
        est = _pilot_effects(pilot, pilot_condition)
        accuracy = est[0] if accuracy is None else accuracy
        sd_judge = est[1] if sd_judge is None else sd_judge
        sd_article = est[2] if sd_article is None else sd_article
        source = f"pilot ({pilot_condition or 'last condition'})"
    if accuracy is None or sd_judge is None or sd_article is None:
        raise ValueError("give accuracy, sd_judge and sd_article, or pilot responses")
    if not 0 < accuracy < 1:
        raise ValueError(f"accuracy must be in (0, 1), got {accuracy}")
    if sd_judge < 0 or sd_article < 0:
        raise ValueError("sd_judge and sd_article must be >= 0")
    grid, analytic = _power_grid(
        accuracy, sd_judge, sd_article, judges, articles, alpha=alpha, n_sims=n_sims, seed=seed
    )
    note = (
        "More judges cannot make up for too few articles: with article SD "
        f"{sd_article:.2f}, power is capped by the number of articles."
    )
    return PowerPlan(
        accuracy=float(accuracy),
        sd_judge=float(sd_judge),
        sd_article=float(sd_article),
        alpha=alpha,
        target=target,
        n_sims=n_sims,
        seed=seed,
        grid=grid,
        smallest=_smallest_judges(grid, target),
        source=source,
        analytic=analytic,
        note=note,
    )


def _pilot_effects(pilot: pd.DataFrame, condition: str | None) -> tuple[float, float, float]:
    """:func:`pilot_estimates` on the scored rows of a raw or prepared pilot frame."""
    from analysis.data import prepare_responses

    prepared = pilot if "neutral" in pilot.columns else prepare_responses(pilot)
    prepared = prepared[~(prepared["is_attention"] | prepared["is_practice"])]
    return pilot_estimates(prepared, condition)


def _power_grid(
    accuracy: float,
    sd_judge: float,
    sd_article: float,
    judges: Sequence[int],
    articles: Sequence[int],
    *,
    alpha: float,
    n_sims: int,
    seed: int,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Simulated power per (judges, articles), and the analytic check beside it."""
    rows = []
    analytic = []
    for a in articles:
        for j in judges:
            pw = simulate_power(
                accuracy,
                sd_judge,
                sd_article,
                int(j),
                int(a),
                n_sims=n_sims,
                alpha=alpha,
                seed=seed + 7919 * int(j) + int(a),
            )
            rows.append(
                {
                    "judges": int(j),
                    "articles": int(a),
                    "judgments": int(j) * int(a),
                    "power": pw,
                    "mc_se": float(np.sqrt(pw * (1 - pw) / n_sims)),
                }
            )
            analytic.append(
                {
                    "judges": int(j),
                    "articles": int(a),
                    "power_if_no_article_variance": analytic_power(
                        accuracy, sd_judge, int(j), int(a), alpha
                    ),
                }
            )
    return pd.DataFrame(rows), pd.DataFrame(analytic)


def _smallest_judges(grid: pd.DataFrame, target: float) -> pd.DataFrame:
    """Per article count: the fewest judges in the grid reaching ``target`` (NaN: none)."""
    smallest = []
    for a, sub in grid.groupby("articles"):
        ok = sub[sub["power"] >= target]
        smallest.append(
            {
                "articles": int(a),
                "judges_needed": int(ok["judges"].min()) if len(ok) else np.nan,
                "max_power_in_grid": float(sub["power"].max()),
            }
        )
    return pd.DataFrame(smallest)


def main(argv: list[str] | None = None) -> int:
    """``python -m analysis.power --spec STUDY.toml [--condition NAME] [--test t|welch|mixed]``.

    Power for the study's own tests (difference from the control, Holm; TOST equivalence to
    chance with the spec's margin) over judges per list; see :mod:`analysis.planner`.
    """
    import json
    import sys

    args = _parser().parse_args(argv)
    try:
        plan = _plan_from_args(args)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(plan.to_dict(), indent=2))
        return 0
    for w in plan.warnings:
        print(f"warning: {w}", file=sys.stderr)
    a = plan.assumptions
    print(
        f"Assumptions ({a.source}): accuracy "
        + ", ".join(f"{c} {v:.2f}" for c, v in a.accuracy.items())
        + f"; SD judge {a.sd_judge:.2f}, article {a.sd_article:.2f} (logit); "
        f"'I don't know' {a.neutral_rate:.0%}; {plan.n_sims} simulations per size."
    )
    print(plan.grid.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    for line in plan.sentences():
        print(line)
    return 0


def _parser() -> argparse.ArgumentParser:
    from analysis.planner import TESTS

    ap = argparse.ArgumentParser(prog="python -m analysis.power", description=main.__doc__)
    ap.add_argument("--spec", required=True, help="the study's TOML spec")
    ap.add_argument("--condition", help="model condition to plan for (asked if several)")
    ap.add_argument("--test", choices=TESTS, default="t", help="difference test (default t)")
    ap.add_argument("--accuracy", action="append", default=[], metavar="NAME=P")
    ap.add_argument("--sd-judge", type=float)
    ap.add_argument("--sd-article", type=float)
    ap.add_argument("--neutral-rate", type=float, default=0.0)
    ap.add_argument("--pilot", help="pilot export folder or responses.csv")
    ap.add_argument("--judges", default="5,10,15,20,30,40,60,80", help="judges per list")
    ap.add_argument("--target", type=float, default=0.8)
    ap.add_argument("--n-sims", type=int, default=400)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true", help="print the plan as JSON")
    return ap


def _plan_from_args(args: argparse.Namespace) -> Plan:
    """The planner run the command line asks for (``ValueError`` on a bad request)."""
    from analysis.planner import (
        PlanDesign,
        load_spec,
        pilot_assumptions,
        plan_study,
        stated_assumptions,
    )

    design = PlanDesign.from_spec(load_spec(args.spec))
    models = [c for c in design.conditions if c != design.control]
    condition = args.condition or (models[0] if len(models) == 1 else None)
    if condition is None:
        raise ValueError(f"choose the condition to plan for: --condition {{{','.join(models)}}}")
    acc = {}
    for item in args.accuracy:
        name, _, value = item.partition("=")
        acc[name] = float(value)
    assumptions = stated_assumptions(
        design,
        accuracy=acc,
        sd_judge=args.sd_judge,
        sd_article=args.sd_article,
        neutral_rate=args.neutral_rate,
    )
    if args.pilot:
        from analysis.data import load_export

        assumptions = pilot_assumptions(load_export(args.pilot).responses, design, assumptions)
    return plan_study(
        design,
        assumptions,
        condition=condition,
        test=args.test,
        judges_per_list=[int(x) for x in args.judges.split(",")],
        target=args.target,
        n_sims=args.n_sims,
        seed=args.seed,
    )


if __name__ == "__main__":
    import sys

    sys.exit(main())
