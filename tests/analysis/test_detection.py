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
    rule = best_threshold(s, y)
    assert 0.3 < rule.cut < 0.7 and rule.direction == 1 and rule.side == "above"
    correct, rule = cv_verdicts(s, y, np.array(list("aabbcc")), seed=0)
    assert 0.3 < rule.cut < 0.7 and np.nanmean(correct) <= 1


def test_threshold_takes_the_direction_that_fits_and_prefers_the_usual_one_on_ties():
    s = np.array([0.1, 0.2, 0.3, 0.7, 0.8, 0.9])
    y = np.array([1, 1, 1, 0, 0, 0])  # machine texts score low: reversed
    rule = best_threshold(s, y)
    assert rule.direction == -1 and 0.3 < rule.cut < 0.7
    assert (rule.says_machine(s) == y.astype(bool)).all()
    tie = best_threshold(np.array([0.0, 1.0, 2.0, 3.0]), np.array([0, 1, 1, 0]))
    assert tie.direction == 1  # 75% either way: the detectors' own convention


def test_cross_validation_picks_the_direction_on_the_training_folds_only():
    """Five articles, five folds (one article each). Four read the usual way, one reversed:
    its texts are judged by the direction the other four agree on, so both come out wrong;
    a direction chosen with the held-out texts would have got them right."""
    articles = np.repeat(list("abcde"), 2)
    y = np.tile([0, 1], 5)
    s = np.array([0.1, 9.1, 0.2, 9.2, 0.3, 9.3, 0.4, 9.4, 9.5, 0.5])  # e reversed
    correct, rule = cv_verdicts(s, y, articles, seed=0)
    assert correct[articles == "e"].tolist() == [0.0, 0.0]
    assert correct[articles != "e"].tolist() == [1.0] * 8
    assert rule.direction == 1
    # A detector reversed on every article: each fold learns "low = machine" from its
    # training articles, so its held-out accuracy is perfect while its AUC stays 0.
    flipped = -s
    flipped[articles == "e"] = -flipped[articles == "e"]
    correct, rule = cv_verdicts(flipped, y, articles, seed=0)
    assert auc(flipped[articles != "e"], y[articles != "e"]) == 0.0
    assert rule.direction == -1 and correct[articles != "e"].tolist() == [1.0] * 8


def _study(seed=0, n_articles=16, n_judges=12, detectors=(("good", 2.0), ("bad", 0.0))):
    rng = np.random.default_rng(seed)
    scores, rows = [], []
    for a in range(n_articles):
        for m in (0, 1):
            item = f"T{a * 2 + m}"
            for det, shift in detectors:
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


def test_a_reversed_detector_keeps_its_auc_and_is_named_in_plain_words():
    """A detector whose machine texts score far lower than the human ones (like the zero-shot
    detectors on a garbage control): AUC as measured, accuracy read the right way round, and
    the findings and the table say it finds the machine texts more human."""
    responses, scores = _study(detectors=(("good", 2.0), ("flipped", -3.0)))
    sec = detection_analysis(responses, scores, n_boot=200, seed=3)
    t = sec.table.set_index("detector")
    d = scores[scores["detector"] == "flipped"]
    assert t.loc["flipped", "auc"] == pytest.approx(roc_auc_score(d["is_machine"], d["score"]))
    assert t.loc["flipped", "auc_hi"] < 0.2 and t.loc["flipped", "accuracy"] > 0.85
    assert t.loc["flipped", "machine_side"] == "below" and t.loc["good", "machine_side"] == "above"
    assert t["reversed"].to_dict() == {"good": False, "flipped": True}
    found = sec.findings()
    assert any(s.startswith("c: the reference detector, good, reached AUC") for s in found)
    reversed_ = [s for s in found if "MORE human" in s]
    assert len(reversed_) == 1 and reversed_[0].startswith("c: flipped (AUC 0.")
    assert found.index(reversed_[0]) == 1  # right after the condition's first sentence
    assert "good" not in reversed_[0]
    assert "<div class='warn'>c: flipped (AUC" in sec.html(sec.figures())
    assert sec.curves["c"]["flipped"]["machine_side"] == "below"
    assert [r["reversed"] for r in sec.to_dict()["table"]] == [True, False]


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
