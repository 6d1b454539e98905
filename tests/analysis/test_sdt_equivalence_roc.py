import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.weightstats import DescrStatsW

from analysis.equivalence import tost_mean
from analysis.roc import auc_from_counts, roc_analysis, roc_points
from analysis.sdt import dprime_c, sdt_analysis


def test_dprime_hand_worked():
    # 8 of 10 machine texts called machine, 3 of 10 human texts: log-linear rates 8.5/11, 3.5/11
    d, c = dprime_c(np.array([8]), np.array([10]), np.array([3]), np.array([10]))
    zh, zf = stats.norm.ppf(8.5 / 11), stats.norm.ppf(3.5 / 11)
    assert d[0] == pytest.approx(zh - zf) and d[0] == pytest.approx(1.2206, abs=1e-4)
    assert c[0] == pytest.approx(-(zh + zf) / 2)


def test_sdt_per_condition_matches_direct(small_prepared):
    res = sdt_analysis(small_prepared)
    per = res.per_judge
    f = small_prepared
    j = f[f["judge"] == per["judge"].iloc[0]]
    m = j["is_machine"] == 1
    h = (j["says_machine"] & m).sum()
    fa = (j["says_machine"] & ~m).sum()
    zh = stats.norm.ppf((h + 0.5) / (m.sum() + 1))
    zf = stats.norm.ppf((fa + 0.5) / ((~m).sum() + 1))
    assert per["dprime"].iloc[0] == pytest.approx(zh - zf)
    t = res.table.set_index("condition")
    assert t.loc["control", "dprime_mean"] > t.loc["m-large", "dprime_mean"]


def test_tost_matches_statsmodels():
    rng = np.random.default_rng(1)
    for mean in (0.5, 0.52, 0.6):
        x = rng.normal(mean, 0.1, 60)
        mine = tost_mean(x, 0.45, 0.55)
        p, lower, upper = DescrStatsW(x).ttost_mean(0.45, 0.55)
        assert mine.pvalue == pytest.approx(p, rel=1e-10)
        assert mine.t_lower == pytest.approx(lower[0]) and mine.p_lower == pytest.approx(lower[1])
        assert mine.t_upper == pytest.approx(upper[0]) and mine.p_upper == pytest.approx(upper[1])
        # equivalence <=> the 90% t-interval inside the margin
        inside = mine.ci_low > 0.45 and mine.ci_high < 0.55
        assert inside == (mine.pvalue < 0.05)


def test_auc_equals_mann_whitney_u_over_n1n2():
    rng = np.random.default_rng(2)
    machine = rng.choice([1, 2, 3, 4, 5], 200, p=[0.1, 0.15, 0.1, 0.3, 0.35])
    human = rng.choice([1, 2, 3, 4, 5], 170, p=[0.3, 0.3, 0.1, 0.2, 0.1])
    u = stats.mannwhitneyu(machine, human).statistic
    pos = np.bincount(machine, minlength=6)[1:]
    neg = np.bincount(human, minlength=6)[1:]
    assert auc_from_counts(pos, neg) == pytest.approx(u / (200 * 170), rel=1e-12)
    fpr, tpr = roc_points(pos, neg)
    assert np.trapezoid(tpr, fpr) == pytest.approx(u / (200 * 170), rel=1e-12)


def test_roc_points_hand_worked():
    fpr, tpr = roc_points(np.array([0, 0, 1, 1, 2]), np.array([2, 1, 1, 0, 0]))
    assert tpr.tolist() == [0, 0.5, 0.75, 1, 1, 1]
    assert fpr.tolist() == [0, 0, 0, 0.25, 0.5, 1]
    # all machine ratings above all human ones except one tie at level 3: 1 - 0.5 * (1 * 1)/16
    assert auc_from_counts([0, 0, 1, 1, 2], [2, 1, 1, 0, 0]) == pytest.approx(1 - 0.5 / 16)


def test_roc_analysis_uses_all_levels(small_prepared):
    res = roc_analysis(small_prepared).table.set_index("condition")
    f = small_prepared[small_prepared["condition"] == "m-mid"]
    m = f.loc[f["is_machine"] == 1, "rating"]
    h = f.loc[f["is_machine"] == 0, "rating"]
    u = stats.mannwhitneyu(m, h).statistic
    assert res.loc["m-mid", "auc"] == pytest.approx(u / (len(m) * len(h)))
    assert res.loc["m-mid", "n_positive"] + res.loc["m-mid", "n_negative"] == len(f)
