"""The human-versus-detector section on synthetic data, checked against scikit-learn."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from analysis.detection import auc, best_threshold, cv_verdicts, detection_analysis


def test_auc_matches_sklearn_with_ties_and_weights():
    rng = np.random.default_rng(1)
    s = rng.integers(0, 6, 80).astype(float)
    y = rng.integers(0, 2, 80)
    assert auc(s, y) == pytest.approx(roc_auc_score(y, s), abs=1e-12)
    w = rng.integers(0, 4, 80)
    expanded = np.repeat(np.arange(80), w)
    assert auc(s, y, w) == pytest.approx(roc_auc_score(y[expanded], s[expanded]), abs=1e-12)


def test_threshold_and_cross_validation():
    s = np.array([0.1, 0.2, 0.3, 0.7, 0.8, 0.9])
    y = np.array([0, 0, 0, 1, 1, 1])
    assert 0.3 < best_threshold(s, y) < 0.7
    correct, cut = cv_verdicts(s, y, np.array(list("aabbcc")), seed=0)
    assert 0.3 < cut < 0.7 and np.nanmean(correct) <= 1


def _study(seed=0, n_articles=16, n_judges=12):
    rng = np.random.default_rng(seed)
    scores, rows = [], []
    for a in range(n_articles):
        for m in (0, 1):
            item = f"T{a * 2 + m}"
            for det, shift in (("good", 2.0), ("bad", 0.0)):
                scores.append(
                    {
                        "item": item,
                        "condition": "c",
                        "article": f"a{a}",
                        "is_machine": m,
                        "detector": det,
                        "score": rng.normal(shift * m, 1.0),
                        "current": 1,
                    }
                )
    for j in range(n_judges):
        for a in range(n_articles):
            m = (a + j) % 2
            rating = int(np.clip(round(3 + (0.8 if m else -0.8) + rng.normal(0, 1.2)), 1, 5))
            correct = np.nan if rating == 3 else float((rating >= 4) == bool(m))
            rows.append(
                {
                    "condition": "c",
                    "judge": f"j{j}",
                    "article": f"a{a}",
                    "item": f"T{a * 2 + m}",
                    "is_machine": float(m),
                    "rating": float(rating),
                    "correct": correct,
                    "neutral": rating == 3,
                    "paired": False,
                }
            )
    return pd.DataFrame(rows), pd.DataFrame(scores)


def test_section_numbers_match_direct_computations():
    responses, scores = _study()
    sec = detection_analysis(responses, scores, n_boot=200, seed=3)
    t = sec.table.set_index("detector")
    for det in ("good", "bad"):
        d = scores[scores["detector"] == det]
        assert t.loc[det, "auc"] == pytest.approx(roc_auc_score(d["is_machine"], d["score"]))
        assert t.loc[det, "auc_lo"] <= t.loc[det, "auc"] <= t.loc[det, "auc_hi"]
        assert t.loc[det, "diff_auc"] == pytest.approx(t.loc[det, "human_auc"] - t.loc[det, "auc"])
    assert t.loc["good", "auc"] > t.loc["bad", "auc"]
    assert t.loc["good", "human_auc"] == pytest.approx(
        roc_auc_score(responses["is_machine"], responses["rating"])
    )
    nn = ~responses["neutral"]
    assert t.loc["good", "human_accuracy"] == pytest.approx(responses.loc[nn, "correct"].mean())
    assert sec.reference == "good"
    assert len(sec.items) == 32 and "human_accuracy" in sec.items
    figs = sec.figures()
    assert figs["detection_roc"] and figs["detection_items"]
    html = sec.html(figs)
    assert "Humans and machine detectors" in html and html.count("<img") == 2
    d = sec.to_dict()
    assert d["reference_detector"] == "good" and len(d["table"]) == 2


def test_pipeline_adds_the_section_from_an_export_folder(tmp_path):
    """detector_scores.csv beside responses.csv: analyze_path builds and reports the section."""
    from analysis.pipeline import analyze_path
    from analysis.simulate import SimCondition, simulate_responses

    responses = simulate_responses(
        [SimCondition("m", 1e8, 0.6)], judges_per_condition=8, n_articles=8, seed=5
    )
    responses.to_csv(tmp_path / "responses.csv", index=False)
    rng = np.random.default_rng(0)
    items = responses.drop_duplicates("item")[["item", "condition", "article", "is_machine"]]
    scores = items.assign(
        detector="loglik",
        score=items["is_machine"].astype(float) + rng.normal(0, 1, len(items)),
        current=1,
    )
    scores.to_csv(tmp_path / "detector_scores.csv", index=False)
    results = analyze_path(tmp_path, tmp_path / "out", n_boot=100)
    table = results.to_dict()["detection"]["table"]
    expected = roc_auc_score(scores["is_machine"].astype(int), scores["score"])
    assert table[0]["auc"] == pytest.approx(expected)
    assert "Humans and machine detectors" in (tmp_path / "out" / "report.html").read_text()
