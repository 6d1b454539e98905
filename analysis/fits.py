"""Accuracy against model size (ANALYSIS.md row 9).

Two curves are fitted by least squares (``scipy.optimize.curve_fit``) to the per-condition mean
accuracies (the paper's estimand; the control, which has no parameter count, is left out):
``paper``: acc = a * N^-b, the paper's power law, and ``chance``: acc = 0.5 + a * N^-b, which
levels off at chance instead of heading to zero. N is in billions of parameters, so ``a`` is the
accuracy (or its excess over chance) of a 1B-parameter model. Bands and parameter intervals come
from refitting each two-way bootstrap replicate (judges and articles resampled).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.optimize import curve_fit

UNIT = 1e9


def paper_law(n: np.ndarray, a: float, b: float) -> np.ndarray:
    return a * np.power(n, -b)


def chance_law(n: np.ndarray, a: float, b: float) -> np.ndarray:
    return 0.5 + a * np.power(n, -b)


MODELS = {"paper": paper_law, "chance": chance_law}
FORMULAS = {"paper": "acc = a * N^-b", "chance": "acc = 0.5 + a * N^-b"}


@dataclass
class CurveFit:
    model: str
    formula: str
    a: float
    b: float
    a_se: float
    b_se: float
    a_ci: tuple[float, float]
    b_ci: tuple[float, float]
    rss: float
    n_points: int
    grid: list[float] = field(default_factory=list)  # N in parameters
    curve: list[float] = field(default_factory=list)
    band_low: list[float] = field(default_factory=list)
    band_high: list[float] = field(default_factory=list)
    failed_replicates: int = 0


@dataclass
class FitsResult:
    fits: dict[str, CurveFit]
    points: pd.DataFrame  # condition, params, accuracy
    skipped: str | None = None


def _fit_one(f, x, y, p0):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        popt, pcov = curve_fit(f, x, y, p0=p0, maxfev=2000)
    return popt, pcov


def _start(model: str, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    target = y if model == "paper" else np.clip(y - 0.5, 1e-3, None)
    slope, intercept = np.polyfit(np.log(x), np.log(np.clip(target, 1e-6, None)), 1)
    return np.array([np.exp(intercept), -slope])


def fit_size_curves(
    conditions: list[str],
    params: np.ndarray,
    accuracy: np.ndarray,
    replicates: np.ndarray | None = None,
    *,
    alpha: float = 0.05,
    grid_points: int = 60,
) -> FitsResult:
    """Fit both curves; ``replicates`` is (B, len(conditions)) bootstrap accuracies."""
    params = np.asarray(params, dtype=float)
    accuracy = np.asarray(accuracy, dtype=float)
    ok = np.isfinite(params) & np.isfinite(accuracy) & (params > 0)
    points = pd.DataFrame(
        {
            "condition": np.asarray(conditions, dtype=object)[ok],
            "params": params[ok],
            "accuracy": accuracy[ok],
        }
    )
    if ok.sum() < 3:
        return FitsResult({}, points, skipped=f"needs at least 3 sized conditions, got {ok.sum()}")
    x = params[ok] / UNIT
    y = accuracy[ok]
    grid = np.geomspace(x.min() / 1.5, x.max() * 1.5, grid_points)
    reps = (
        np.asarray(replicates, dtype=float)[:, ok]
        if replicates is not None and len(replicates)
        else None
    )
    fits = {}
    for name in MODELS:
        fit = _fit_model(name, x, y, grid, reps, alpha)
        if fit is not None:
            fits[name] = fit
    return FitsResult(fits, points)


def _fit_model(
    name: str, x: np.ndarray, y: np.ndarray, grid: np.ndarray, reps: np.ndarray | None, alpha: float
) -> CurveFit | None:
    """One curve by least squares, its bootstrap band; None if the fit fails."""
    f = MODELS[name]
    try:
        popt, pcov = _fit_one(f, x, y, _start(name, x, y))
    except (RuntimeError, ValueError):
        return None
    se = np.sqrt(np.clip(np.diag(pcov), 0, None))
    band = _refit_replicates(f, x, popt, reps, grid, alpha)
    return CurveFit(
        model=name,
        formula=FORMULAS[name],
        a=float(popt[0]),
        b=float(popt[1]),
        a_se=float(se[0]),
        b_se=float(se[1]),
        a_ci=tuple(map(float, band.a_ci)),
        b_ci=tuple(map(float, band.b_ci)),
        rss=float(((f(x, *popt) - y) ** 2).sum()),
        n_points=len(x),
        grid=(grid * UNIT).tolist(),
        curve=f(grid, *popt).tolist(),
        band_low=list(map(float, band.low)),
        band_high=list(map(float, band.high)),
        failed_replicates=band.failed,
    )


@dataclass
class _Band:
    """Parameter intervals and the curve's band from refitting every bootstrap replicate."""

    a_ci: tuple[float, float]
    b_ci: tuple[float, float]
    low: Sequence[float]
    high: Sequence[float]
    failed: int  # replicates with a missing accuracy or a failed fit


def _refit_replicates(
    f, x: np.ndarray, popt: np.ndarray, reps: np.ndarray | None, grid: np.ndarray, alpha: float
) -> _Band:
    q = alpha / 2
    failed = 0
    params_b = []
    for row in reps if reps is not None else ():
        if not np.isfinite(row).all():
            failed += 1
            continue
        try:
            pb, _ = _fit_one(f, x, row, popt)
            params_b.append(pb)
        except (RuntimeError, ValueError):
            failed += 1
    if not params_b:
        return _Band(
            (np.nan, np.nan), (np.nan, np.nan), [np.nan] * len(grid), [np.nan] * len(grid), failed
        )
    pb = np.array(params_b)
    curves = f(grid[None, :], pb[:, :1], pb[:, 1:2])
    low, high = np.quantile(curves, [q, 1 - q], axis=0)
    return _Band(
        a_ci=tuple(np.quantile(pb[:, 0], [q, 1 - q])),
        b_ci=tuple(np.quantile(pb[:, 1], [q, 1 - q])),
        low=low,
        high=high,
        failed=failed,
    )
