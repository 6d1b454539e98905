"""Two-way bootstrap over judges and articles (ANALYSIS.md row 8).

Each replicate resamples articles with replacement (one draw shared by all conditions, since
articles are crossed with conditions) and, independently, judges with replacement within each
condition (judges are nested in conditions). A judgment's weight is (times its judge was drawn)
x (times its article was drawn). Statistics are weighted sums over judge x article count
matrices, so a replicate costs two small matrix products instead of a pass over the rows.

Statistics per condition: the paper's estimand (mean of per-judge accuracy over non-neutral
answers), pooled accuracy, "I don't know" rate, AUC from the five levels (rating protocol), and
the difference in mean accuracy from the control computed on the same article draw.
Intervals are percentile intervals. scipy.stats.bootstrap resamples a single factor only, which
is exactly what misses the article variance.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis.roc import auc_from_counts

STATS = ("accuracy", "pooled_accuracy", "idk_rate", "auc")


@dataclass
class BootstrapResult:
    table: pd.DataFrame  # condition, statistic, estimate, se, ci_low, ci_high
    replicates: dict[str, np.ndarray]  # statistic -> (B, n_conditions)
    conditions: list[str]
    control: str | None
    n_boot: int
    seed: int
    alpha: float
    diff_vs_control: pd.DataFrame = field(default_factory=pd.DataFrame)

    def interval(self, statistic: str, condition: str, level: float) -> tuple[float, float]:
        reps = self.replicates[statistic][:, self.conditions.index(condition)]
        reps = reps[np.isfinite(reps)]
        q = (1 - level) / 2
        return float(np.quantile(reps, q)), float(np.quantile(reps, 1 - q))


def _matrices(frame: pd.DataFrame, article_codes: np.ndarray, n_articles: int, paired: bool):
    judge_codes, judges = pd.factorize(frame["judge"].to_numpy())
    nj = len(judges)
    cell = judge_codes * n_articles + article_codes

    def mat(weights: np.ndarray) -> np.ndarray:
        m = np.bincount(cell, weights=weights.astype(float), minlength=nj * n_articles)
        return m.reshape(nj, n_articles)

    neutral = frame["neutral"].to_numpy(dtype=bool)
    correct = np.nan_to_num(frame["correct"].to_numpy(dtype=float)) * ~neutral
    out = {
        "n": mat(np.ones(len(frame))),
        "answered": mat(~neutral),
        "correct": mat(correct),
    }
    if not paired:
        rating = frame["rating"].to_numpy(dtype=float)
        machine = frame["is_machine"].to_numpy() == 1
        for lv in range(1, 6):
            out[f"m{lv}"] = mat(machine & (rating == lv))
            out[f"h{lv}"] = mat(~machine & (rating == lv))
    return out, nj


def two_way_bootstrap(
    frame: pd.DataFrame,
    *,
    n_boot: int = 2000,
    seed: int = 0,
    alpha: float = 0.05,
    order: list[str] | None = None,
    control: str | None = None,
    block: int = 500,
) -> BootstrapResult:
    """Percentile two-way bootstrap of the per-condition statistics in ``STATS``."""
    if n_boot < 1:
        raise ValueError("n_boot must be at least 1")
    rng = np.random.default_rng(seed)
    conditions = order or list(pd.unique(frame["condition"]))
    conditions = [c for c in conditions if (frame["condition"] == c).any()]
    article_codes, articles = pd.factorize(frame["article"].to_numpy())
    n_art = len(articles)
    paired = bool(frame["paired"].any())
    cond = frame["condition"].to_numpy()
    prepared = []
    for name in conditions:
        m = cond == name
        mats, nj = _matrices(frame.loc[m], article_codes[m], n_art, paired)
        prepared.append((mats, nj))
    art_draws = rng.multinomial(n_art, np.full(n_art, 1 / n_art), size=n_boot).astype(float)
    judge_draws = [
        rng.multinomial(nj, np.full(nj, 1 / nj), size=n_boot).astype(float) for _, nj in prepared
    ]
    point, reps = _resample(prepared, art_draws, judge_draws, block)
    result = BootstrapResult(
        table=_interval_table(reps, point, conditions, alpha),
        replicates=reps,
        conditions=conditions,
        control=control,
        n_boot=n_boot,
        seed=seed,
        alpha=alpha,
    )
    if control is not None and control in conditions:
        result.diff_vs_control = _differences(reps, point, conditions, control, alpha)
    return result


def _resample(
    prepared: list[tuple[dict[str, np.ndarray], int]],
    art_draws: np.ndarray,
    judge_draws: list[np.ndarray],
    block: int,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Point estimates (every weight 1) and replicates, per statistic, ``block`` draws at a time."""
    n_boot, n_art = art_draws.shape
    point = {s: np.full(len(prepared), np.nan) for s in STATS}
    reps = {s: np.full((n_boot, len(prepared)), np.nan) for s in STATS}
    for k, (mats, nj) in enumerate(prepared):
        est = _statistics(mats, np.ones((1, n_art)), np.ones((1, nj)))
        for s in STATS:
            point[s][k] = est[s][0]
        for start in range(0, n_boot, block):
            stop = min(start + block, n_boot)
            got = _statistics(mats, art_draws[start:stop], judge_draws[k][start:stop])
            for s in STATS:
                reps[s][start:stop, k] = got[s]
    return point, reps


def _statistics(
    mats: dict[str, np.ndarray], ka: np.ndarray, kj: np.ndarray
) -> dict[str, np.ndarray]:
    """Every statistic in ``STATS`` for b weightings at once.

    ka: (b, A) article weights; kj: (b, J) judge weights.
    """
    acc_num = mats["correct"] @ ka.T  # (J, b): each judge's correct answers, reweighted
    acc_den = mats["answered"] @ ka.T
    has = acc_den > 0
    per_judge = np.divide(acc_num, acc_den, out=np.zeros_like(acc_num), where=has)
    w = kj.T * has
    res = {}
    with np.errstate(invalid="ignore", divide="ignore"):
        res["accuracy"] = (w * per_judge).sum(0) / w.sum(0)
        res["pooled_accuracy"] = (kj.T * acc_num).sum(0) / (kj.T * acc_den).sum(0)
        n_all = (kj.T * (mats["n"] @ ka.T)).sum(0)
        res["idk_rate"] = 1 - (kj.T * acc_den).sum(0) / n_all
    if "m1" in mats:
        pos = np.stack([(kj.T * (mats[f"m{lv}"] @ ka.T)).sum(0) for lv in range(1, 6)], -1)
        neg = np.stack([(kj.T * (mats[f"h{lv}"] @ ka.T)).sum(0) for lv in range(1, 6)], -1)
        res["auc"] = auc_from_counts(pos, neg)
    else:
        res["auc"] = np.full(ka.shape[0], np.nan)
    return res


def _interval_table(
    reps: dict[str, np.ndarray],
    point: dict[str, np.ndarray],
    conditions: list[str],
    alpha: float,
) -> pd.DataFrame:
    """Per statistic and condition: estimate, bootstrap SE and percentile interval."""
    q = alpha / 2
    rows = []
    for s in STATS:
        for k, name in enumerate(conditions):
            r = reps[s][:, k]
            r = r[np.isfinite(r)]
            if len(r) == 0:
                continue
            rows.append(
                {
                    "condition": name,
                    "statistic": s,
                    "estimate": point[s][k],
                    "se": float(r.std(ddof=1)) if len(r) > 1 else np.nan,
                    "ci_low": float(np.quantile(r, q)),
                    "ci_high": float(np.quantile(r, 1 - q)),
                }
            )
    return pd.DataFrame(rows)


def _differences(
    reps: dict[str, np.ndarray],
    point: dict[str, np.ndarray],
    conditions: list[str],
    control: str,
    alpha: float,
) -> pd.DataFrame:
    """Each condition's mean accuracy minus the control's, on the same article draws."""
    q = alpha / 2
    c0 = conditions.index(control)
    rows = []
    for k, name in enumerate(conditions):
        if k == c0:
            continue
        d = reps["accuracy"][:, k] - reps["accuracy"][:, c0]
        d = d[np.isfinite(d)]
        est = point["accuracy"][k] - point["accuracy"][c0]
        # two-sided percentile p-value, (count + 1) / (B + 1) so it is never reported as 0
        below, above = int((d <= 0).sum()), int((d >= 0).sum())
        p = min(1.0, 2 * (min(below, above) + 1) / (len(d) + 1)) if len(d) else np.nan
        rows.append(
            {
                "condition": name,
                "difference": est,
                "ci_low": float(np.quantile(d, q)),
                "ci_high": float(np.quantile(d, 1 - q)),
                "p_bootstrap": p,
            }
        )
    return pd.DataFrame(rows)
