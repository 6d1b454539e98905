"""Power for the tests a study actually runs (issue 15): difference from the control and
equivalence to chance, by simulating the study's design and analysis.

Design (between subjects, as the paper): every condition has ``lists x judges_per_list`` judges
(two counterbalanced lists per condition), each judging every one of the study's articles once.
P(correct) = expit(logit(accuracy_c) + u_j + v_a) with u ~ N(0, sd_judge) per judge and
v ~ N(0, sd_article) per article, the articles shared by all conditions (the mixed model's own
terms, so pilot estimates plug straight in); a fraction ``neutral_rate`` of answers is "I don't
know" and dropped, as the paper's accuracy does.

Each simulated study is analysed as the report analyses it:

- ``difference``: the chosen condition against the control, one p-value per non-control
  condition, Holm-adjusted across them (the report's ``vs_control``). ``test="t"``: the
  paper's Student t on per-judge accuracy; ``"welch"``; ``"mixed"``: the logistic mixed
  model's z test (:mod:`analysis.glmm`, conditional-covariance SEs; ~0.1-1 s per study).
- ``equivalence``: TOST on the chosen condition's per-judge accuracy against 0.5 +/- margin
  at level alpha (the report's ``equivalence``, column ``equivalent_t``).

Power is the fraction of simulated studies in which the test succeeds, with its Monte Carlo SE.
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import expit, logit

TESTS = ("t", "welch", "mixed")
# The paper's Table 3.11 (control 86 %, 175B 52 %) and SDs of the order seen in its kind of
# data: the stated values used when neither the researcher nor a usable pilot gives them.
DEFAULT_CONTROL_ACCURACY = 0.86
DEFAULT_ACCURACY = 0.52
DEFAULT_SD = 0.5
# A pilot smaller than this cannot estimate two variance components usefully.
MIN_PILOT_JUDGES = 20
MIN_PILOT_ARTICLES = 8


@dataclass
class PlanDesign:
    conditions: list[str]
    control: str | None
    articles: int
    lists: int = 2
    alpha: float = 0.05
    margin: float = 0.05
    protocol: str = "single"
    design: str = "between"
    judges_per_list: int = 40  # the spec's value, for reference

    @classmethod
    def from_spec(cls, spec: dict[str, Any]) -> PlanDesign:
        """From a study spec (the TOML's dict, or ``Study.spec``)."""
        conds = spec.get("conditions") or []
        if not conds:
            raise ValueError("spec has no [[conditions]]")
        names = [str(c["name"]) for c in conds]
        controls = [str(c["name"]) for c in conds if c.get("control")]
        analysis = spec.get("analysis") or {}
        articles = spec.get("articles") or {}
        return cls(
            conditions=names,
            control=controls[0] if controls else None,
            articles=int(articles.get("count", 25)),
            alpha=float(analysis.get("alpha", 0.05)),
            margin=float(analysis.get("equivalence_margin", 0.05)),
            protocol=str(spec.get("protocol", "single")),
            design=str(spec.get("design", "between")),
            judges_per_list=int(spec.get("judges_per_list", 40)),
        )


@dataclass
class Assumptions:
    accuracy: dict[str, float]  # typical judge on typical article, per condition
    sd_judge: float
    sd_article: float
    neutral_rate: float = 0.0
    source: str = "stated"
    warnings: list[str] = field(default_factory=list)


@dataclass
class Plan:
    design: PlanDesign
    assumptions: Assumptions
    condition: str
    test: str
    target: float
    n_sims: int
    seed: int
    grid: pd.DataFrame  # judges_per_list, judges_per_condition, difference, equivalence, mc_se
    answer: dict[str, Any]  # smallest judges_per_list reaching target, per question
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        from analysis.results import dataclass_dict

        return dataclass_dict(self)

    def sentences(self) -> list[str]:
        a, d = self.assumptions, self.design
        out = []
        for key, what in (
            (
                "difference",
                f"a difference of {self.condition} from {d.control} ({self.test}, Holm)",
            ),
            ("equivalence", f"equivalence of {self.condition} to chance (TOST, ±{d.margin:g})"),
        ):
            n = self.answer.get(key)
            acc = a.accuracy[self.condition]
            if n is None:
                out.append(
                    f"For {what}: no grid size reaches {self.target:.0%} power "
                    f"(accuracy {acc:.2f} assumed)."
                )
            else:
                out.append(
                    f"For {what}: {n} judges per list ({n * d.lists} per condition, "
                    f"{d.articles} articles) give {self.target:.0%} power."
                )
        return out


def load_spec(path: str | Path) -> dict[str, Any]:
    """The spec's TOML as a dict (``ValueError`` naming the file when it is missing or bad)."""
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ValueError(f"{path}: no such spec file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: not valid TOML ({exc})") from None


def stated_assumptions(
    design: PlanDesign,
    *,
    accuracy: dict[str, float] | None = None,
    sd_judge: float | None = None,
    sd_article: float | None = None,
    neutral_rate: float = 0.0,
) -> Assumptions:
    acc = {
        c: DEFAULT_CONTROL_ACCURACY if c == design.control else DEFAULT_ACCURACY
        for c in design.conditions
    }
    acc.update(accuracy or {})
    unknown = set(acc) - set(design.conditions)
    if unknown:
        raise ValueError(f"accuracy given for conditions not in the design: {sorted(unknown)}")
    for c, v in acc.items():
        if not 0 < v < 1:
            raise ValueError(f"accuracy of {c!r} must be in (0, 1), got {v}")
    sj = DEFAULT_SD if sd_judge is None else float(sd_judge)
    sa = DEFAULT_SD if sd_article is None else float(sd_article)
    if sj < 0 or sa < 0:
        raise ValueError("sd_judge and sd_article must be >= 0")
    return Assumptions(acc, sj, sa, neutral_rate, "stated")


def pilot_assumptions(pilot: pd.DataFrame, design: PlanDesign, stated: Assumptions) -> Assumptions:
    """Accuracies and SDs from a pilot's mixed model; stated values where the pilot can't say.

    A pilot with fewer than ``MIN_PILOT_JUDGES`` judges or ``MIN_PILOT_ARTICLES`` articles, or
    whose fit fails, is singular or does not converge, cannot estimate the variances: then the
    stated SDs are used and a warning says so (never silently).
    """
    from analysis.data import prepare_responses
    from analysis.mixed import fit_mixed

    prepared = pilot if "neutral" in pilot.columns else prepare_responses(pilot)
    prepared = prepared[~(prepared["is_attention"] | prepared["is_practice"])]
    scored = prepared[~prepared["neutral"]]
    warns: list[str] = []
    n_j, n_a = scored["judge"].nunique(), scored["article"].nunique()
    acc = dict(stated.accuracy)
    sj, sa = stated.sd_judge, stated.sd_article
    source = "stated"
    fit = None
    if scored.empty:
        warns.append("The pilot has no scored judgments: stated values used throughout.")
    else:
        try:
            fit = fit_mixed(prepared, outcome="primary", reference=design.control)
        except (ValueError, np.linalg.LinAlgError, RuntimeError) as exc:
            warns.append(
                f"The pilot's mixed model failed ({exc}), so it cannot estimate the variances "
                f"or accuracies: stated values used (judge SD {sj:.2f}, article SD {sa:.2f})."
            )
            if n_j < MIN_PILOT_JUDGES or n_a < MIN_PILOT_ARTICLES:
                warns.append(
                    f"The pilot is too small to estimate the variances (only {n_j} judges and "
                    f"{n_a} articles; need >= {MIN_PILOT_JUDGES} and >= {MIN_PILOT_ARTICLES})."
                )
    if fit is not None:
        rows = fit.conditions.set_index("condition")
        for c in design.conditions:
            if c in rows.index:
                acc[c] = float(np.clip(rows.loc[c, "accuracy"], 0.01, 0.99))
        found = [c for c in design.conditions if c in rows.index]
        missing = [c for c in design.conditions if c not in rows.index]
        source = "pilot accuracies" + (f" ({', '.join(found)})" if found else "")
        if missing:
            warns.append(
                f"The pilot has no judgments for {', '.join(missing)}: stated accuracies used."
            )
        small = n_j < MIN_PILOT_JUDGES or n_a < MIN_PILOT_ARTICLES
        unusable = not fit.converged or bool(fit.warnings)
        if small or unusable:
            why = (
                f"only {n_j} judges and {n_a} articles (need >= {MIN_PILOT_JUDGES} and "
                f">= {MIN_PILOT_ARTICLES})"
                if small
                else "; ".join(fit.warnings) or "the fit did not converge"
            )
            warns.append(
                f"The pilot is too small to estimate the variances ({why}): stated SDs used "
                f"(judge {sj:.2f}, article {sa:.2f})."
            )
        else:
            sd = fit.variance.set_index("group")["sd"]
            sj, sa = float(sd["judge"]), float(sd["article"])
            source += ", pilot SDs"
        return Assumptions(acc, sj, sa, float(prepared["neutral"].mean()), source, warns)
    return Assumptions(acc, sj, sa, stated.neutral_rate, source, warns)


def _holm(p: np.ndarray) -> np.ndarray:
    """Holm step-down adjustment along the last axis (vectorised over simulations)."""
    m = p.shape[-1]
    order = np.argsort(p, axis=-1)
    ps = np.take_along_axis(p, order, -1) * (m - np.arange(m))
    ps = np.minimum(np.maximum.accumulate(ps, axis=-1), 1.0)
    out = np.empty_like(ps)
    np.put_along_axis(out, order, ps, -1)
    return out


def _per_judge(y: np.ndarray, answered: np.ndarray) -> np.ndarray:
    n = answered.sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, (y * answered).sum(-1) / n, np.nan)


def _t_p(x: np.ndarray, c: np.ndarray, welch: bool) -> np.ndarray:
    return stats.ttest_ind(c, x, axis=-1, equal_var=not welch, nan_policy="omit").pvalue


def _tost(x: np.ndarray, margin: float, alpha: float) -> np.ndarray:
    n = np.sum(~np.isnan(x), -1)
    m = np.nanmean(x, -1)
    se = np.nanstd(x, -1, ddof=1) / np.sqrt(n)
    with np.errstate(invalid="ignore", divide="ignore"):
        p_lo = stats.t.sf((m - (0.5 - margin)) / se, n - 1)
        p_hi = stats.t.cdf((m - (0.5 + margin)) / se, n - 1)
    return np.maximum(p_lo, p_hi) < alpha


def simulate_study(
    design: PlanDesign,
    assumptions: Assumptions,
    condition: str,
    judges_per_list: int,
    *,
    test: str = "t",
    n_sims: int = 400,
    seed: int = 0,
    chunk: int = 50,
) -> tuple[float, float]:
    """(power for the difference from the control, power for equivalence to chance)."""
    if test not in TESTS:
        raise ValueError(f"test must be one of {TESTS}, got {test!r}")
    if design.design != "between":
        raise ValueError("the planner simulates between-subjects designs (design = 'between')")
    if condition not in design.conditions:
        raise ValueError(f"condition {condition!r} is not in the design {design.conditions}")
    rng = np.random.default_rng(seed)
    conds = design.conditions
    C, J, A = len(conds), design.lists * judges_per_list, design.articles
    if J < 2:
        raise ValueError("need at least 2 judges per condition")
    mu = logit(np.array([assumptions.accuracy[c] for c in conds]))
    k = conds.index(condition)
    has_control = design.control is not None and design.control != condition
    ctl = conds.index(design.control) if has_control else None
    others = [i for i in range(C) if i != ctl]
    diff_hits = eq_hits = 0
    for start in range(0, n_sims, chunk):
        s = min(chunk, n_sims - start)
        u = rng.normal(0, assumptions.sd_judge, (s, C, J, 1))
        v = rng.normal(0, assumptions.sd_article, (s, 1, 1, A))
        y = (rng.random((s, C, J, A)) < expit(mu[None, :, None, None] + u + v)).astype(float)
        answered = rng.random((s, C, J, A)) >= assumptions.neutral_rate
        acc = _per_judge(y, answered)  # (s, C, J)
        eq_hits += int(_tost(acc[:, k], design.margin, design.alpha).sum())
        if ctl is None:
            continue
        if test == "mixed":
            p = np.stack([_mixed_p(y[i], answered[i], ctl, others) for i in range(s)])
        else:
            p = np.stack([_t_p(acc[:, i], acc[:, ctl], test == "welch") for i in others], axis=-1)
        adj = _holm(np.nan_to_num(p, nan=1.0))
        diff_hits += int((adj[:, others.index(k)] < design.alpha).sum())
    diff = diff_hits / n_sims if ctl is not None else float("nan")
    return diff, eq_hits / n_sims


def _mixed_p(y: np.ndarray, answered: np.ndarray, ctl: int, others: list[int]) -> np.ndarray:
    from analysis.glmm import fit_glmm

    C, J, A = y.shape
    cond = np.repeat(np.arange(C), J * A)
    judge = np.repeat(np.arange(C * J), A)
    article = np.tile(np.arange(A), C * J)
    keep = answered.ravel()
    X = np.column_stack([np.ones(keep.sum())] + [(cond[keep] == i) for i in others]).astype(float)
    fit = fit_glmm(y.ravel()[keep], X, (judge[keep], article[keep]), hessian=False)
    z = fit.beta[1:] / fit.se[1:]
    return 2 * stats.norm.sf(np.abs(z))


def plan_study(
    design: PlanDesign,
    assumptions: Assumptions,
    *,
    condition: str,
    test: str = "t",
    judges_per_list: Sequence[int] = (5, 10, 15, 20, 30, 40, 60, 80),
    target: float = 0.8,
    n_sims: int = 400,
    seed: int = 0,
) -> Plan:
    """Power over a grid of judges per list; the answer is the smallest reaching ``target``."""
    if condition == design.control:
        raise ValueError("choose a model condition, not the control, to plan for")
    rows = []
    for n in judges_per_list:
        diff, eq = simulate_study(
            design,
            assumptions,
            condition,
            int(n),
            test=test,
            n_sims=n_sims,
            seed=seed + 7919 * int(n),
        )
        rows.append(
            {
                "judges_per_list": int(n),
                "judges_per_condition": int(n) * design.lists,
                "difference": diff,
                "equivalence": eq,
            }
        )
    grid = pd.DataFrame(rows)
    grid["mc_se_max"] = np.sqrt(0.25 / n_sims)
    answer: dict[str, Any] = {}
    for key in ("difference", "equivalence"):
        ok = grid[grid[key] >= target]
        answer[key] = int(ok["judges_per_list"].min()) if len(ok) else None
    warns = list(assumptions.warnings)
    acc = assumptions.accuracy[condition]
    if abs(acc - 0.5) >= design.margin:
        warns.append(
            f"The assumed accuracy of {condition} ({acc:.2f}) lies outside 0.5 ± "
            f"{design.margin:g}: equivalence to chance is not expected, whatever the size."
        )
    return Plan(
        design=design,
        assumptions=assumptions,
        condition=condition,
        test=test,
        target=target,
        n_sims=n_sims,
        seed=seed,
        grid=grid,
        answer=answer,
        warnings=warns,
    )
