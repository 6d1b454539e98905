import numpy as np
import pytest
from scipy import stats
from scipy.optimize import curve_fit

from analysis.difficulty import article_difficulty, benjamini_hochberg, wilson_interval
from analysis.fits import fit_size_curves
from analysis.timing import median_ci, timing_analysis

PARAMS = np.array([125e6, 350e6, 760e6, 1.3e9, 2.7e9, 6.7e9, 13e9, 175e9])


def test_fits_recover_exact_curves_and_match_curve_fit():
    n = PARAMS / 1e9
    acc = 0.5 + 0.12 * n**-0.3
    res = fit_size_curves([f"c{i}" for i in range(8)], PARAMS, acc)
    assert res.fits["chance"].a == pytest.approx(0.12, rel=1e-5)
    assert res.fits["chance"].b == pytest.approx(0.3, rel=1e-5)
    # the paper's a*N^-b fitted by scipy directly from a different start
    popt, _ = curve_fit(lambda x, a, b: a * x**-b, n, acc, p0=[1.0, 0.1], maxfev=5000)
    assert res.fits["paper"].a == pytest.approx(popt[0], rel=1e-4)
    assert res.fits["paper"].b == pytest.approx(popt[1], rel=1e-4)


def test_fit_bands_from_replicates_contain_the_curve():
    rng = np.random.default_rng(0)
    n = PARAMS / 1e9
    acc = 0.5 + 0.12 * n**-0.3
    reps = acc[None, :] + rng.normal(0, 0.02, (300, 8))
    res = fit_size_curves([f"c{i}" for i in range(8)], PARAMS, acc, reps).fits["chance"]
    assert res.a_ci[0] < 0.12 < res.a_ci[1] and res.b_ci[0] < 0.3 < res.b_ci[1]
    assert np.all(np.array(res.band_low) <= np.array(res.curve) + 1e-12)
    assert np.all(np.array(res.band_high) >= np.array(res.curve) - 1e-12)


def test_fits_skip_with_too_few_sizes():
    res = fit_size_curves(["a", "b"], np.array([1e8, 1e9]), np.array([0.7, 0.6]))
    assert res.fits == {} and "at least 3" in res.skipped


def test_wilson_matches_scipy_binomtest():
    for k, n in ((0, 10), (3, 10), (17, 20), (50, 50)):
        lo, hi = wilson_interval(k, n)
        ci = stats.binomtest(k, n).proportion_ci(0.95, method="wilson")
        assert lo == pytest.approx(ci.low, abs=1e-12) and hi == pytest.approx(ci.high, abs=1e-12)


def test_bh_matches_scipy():
    p = np.array([0.001, 0.04, 0.03, 0.2, 0.5, 0.012])
    np.testing.assert_allclose(benjamini_hochberg(p), stats.false_discovery_control(p), rtol=1e-12)


def test_difficulty_flags_a_machine_article_judged_human(small_prepared):
    f = small_prepared.copy()
    # make article a00's machine version in m-large look human to everyone
    mask = (f["condition"] == "m-large") & (f["article"] == "a00") & (f["is_machine"] == 1)
    f.loc[mask, "rating"] = 1.0
    f.loc[mask, "neutral"] = False
    f.loc[mask, "says_machine"] = False
    f.loc[mask, "correct"] = 0.0
    res = article_difficulty(f)
    t = res.table.set_index(["condition", "article", "version"])
    row = t.loc[("m-large", "a00", "machine")]
    assert row["rate"] == 0 and row["flag"]
    p = stats.binomtest(
        int(row["judged_human"]), int(row["answered"]), 0.5, alternative="greater"
    ).pvalue
    assert row["p_judged_human"] == pytest.approx(p, rel=1e-10)
    flagged = set(zip(res.flagged["condition"], res.flagged["article"], strict=True))
    assert ("m-large", "a00") in flagged
    assert t.xs("human", level="version")["p_judged_human"].isna().all()


def test_median_ci_order_statistics():
    # n = 20: P(B <= 5) = 0.0207 <= 0.025 < P(B <= 6), so the CI is [x(6), x(15)],
    # exact coverage 1 - 2 * 0.0207 = 0.959
    x = np.arange(1, 21, dtype=float)
    assert median_ci(x) == (6.0, 15.0)
    assert 1 - 2 * stats.binom.cdf(5, 20, 0.5) >= 0.95


def test_timing_slope_matches_linregress(small_prepared):
    res = timing_analysis(small_prepared)
    pj = res.per_judge
    sized = pj[np.isfinite(pj["params"])]
    lr = stats.linregress(np.log10(sized["params"]), sized["mean_log_s"])
    assert res.slope == pytest.approx(lr.slope, rel=1e-10)
    assert res.slope_p == pytest.approx(lr.pvalue, rel=1e-8)
    t = res.table.set_index("condition")
    sub = small_prepared[small_prepared["condition"] == "m-mid"]
    assert t.loc["m-mid", "median_s"] == pytest.approx(np.median(sub["time_ms"]) / 1000)
    assert len(res.grid) == len(res.band_low) == len(res.fit_seconds)
