import numpy as np
import pandas as pd
import pytest

from analysis.data import prepare_responses
from analysis.exclusions import AnalysisSettings, apply_exclusions
from analysis.power import analytic_power, plan_power, simulate_power


def test_power_test_holds_its_size_when_articles_vary():
    # accuracy 0.5 with large article variance: the quasi-t test must reject ~5%, not more.
    rate = simulate_power(0.5, 0.5, 0.8, 40, 12, n_sims=800, seed=1)
    assert rate < 0.05 + 3 * np.sqrt(0.05 * 0.95 / 800)


def test_power_matches_analytic_t_test_without_article_variance():
    """With sd_article = 0 the simulation should approach statsmodels' TTestPower on per-judge
    accuracy. Tolerance 0.07: the simulated test also estimates an article variance component
    it does not need, which costs a little power at small J (observed gap ~0.04 at J = 40)."""
    for judges in (40, 80):
        sim = simulate_power(0.55, 0.5, 0.0, judges, 25, n_sims=1000, seed=2)
        ana = analytic_power(0.55, 0.5, judges, 25)
        assert sim == pytest.approx(ana, abs=0.07)


def test_more_judges_cannot_fix_too_few_articles():
    plan = plan_power(
        accuracy=0.6,
        sd_judge=0.5,
        sd_article=1.0,
        judges=(40, 400),
        articles=(6, 50),
        n_sims=300,
        target=0.8,
    )
    g = plan.grid.set_index(["judges", "articles"])["power"]
    assert g[(400, 6)] < 0.8  # capped by 6 articles
    assert g[(400, 50)] > g[(400, 6)] + 0.2
    small = plan.smallest.set_index("articles")
    assert np.isnan(small.loc[6, "judges_needed"])
    assert small.loc[50, "judges_needed"] in (40, 400)


def test_plan_from_pilot_responses(small_responses):
    pilot = small_responses[small_responses["condition"] == "m-mid"]
    plan = plan_power(pilot=pilot, pilot_condition="m-mid", judges=(20,), articles=(12,), n_sims=50)
    assert 0.5 < plan.accuracy < 0.8 and plan.sd_judge >= 0 and plan.sd_article >= 0
    assert plan.source.startswith("pilot")
    with pytest.raises(ValueError, match="give accuracy"):
        plan_power(accuracy=0.6)


def _rows():
    base = dict(
        study="s",
        params="",
        list="A",
        is_machine=1,
        confidence="",
        choice="",
        server_ms=20000,
        excluded=0,
        exclusion_reason="",
        words_shown=200,
        is_attention=0,
        is_practice=0,
        is_control=1,
    )
    rows = []
    for j in ("ok", "attn", "looked", "fast", "flagged"):
        for i in range(4):
            rows.append(
                {
                    **base,
                    "condition": "control",
                    "judge": j,
                    "article": f"a{i}",
                    "item": f"i{i}",
                    "rating": 5,
                    "correct": 1,
                    "position": i + 1,
                    "visible_ms": 1000 if (j == "fast" and i == 0) else 20000,
                    "server_ms": 1100 if (j == "fast" and i == 0) else 20100,
                }
            )
        rows.append(
            {
                **base,
                "condition": "control",
                "judge": j,
                "article": "",
                "item": "att",
                "is_machine": "",
                "rating": 1,
                "correct": 0 if j == "attn" else 1,
                "position": 5,
                "visible_ms": 5000,
                "is_attention": 1,
            }
        )
    rows.append({**rows[0], "position": 9})  # judge ok sees item i0 twice
    rows[-1]["visible_ms"] = 20000
    for r in rows:
        if r["judge"] == "flagged":
            r["excluded"], r["exclusion_reason"] = 1, "platform: duplicate worker"
    return pd.DataFrame(rows)


def test_exclusion_flow_hand_built():
    judges = pd.DataFrame(
        {
            "judge": ["ok", "attn", "looked", "fast", "flagged"],
            "closing_looked_up": ["no", "no", "yes", "no", "no"],
            "status": ["completed"] * 5,
        }
    )
    settings = AnalysisSettings(min_ms_per_word=10)
    flow = apply_exclusions(prepare_responses(_rows()), judges, settings)
    f = flow.flow.set_index("rule")
    assert f.loc["recorded", "judges"] == 5 and f.loc["recorded", "judgments"] == 21
    assert f.loc["failed attention check", "judges_removed"] == 1
    assert f.loc["looked things up", "judges_removed"] == 1
    assert f.loc["duplicate judgment", "judgments_removed"] == 1
    assert f.loc["too fast for the word count", "judgments_removed"] == 1  # 1 s for 200 words
    assert f.loc["other recorded exclusion", "judges_removed"] == 1
    assert set(flow.kept["judge"]) == {"ok", "fast"}
    assert len(flow.kept) == 4 + 3
    assert not flow.kept["is_attention"].any()


def test_platform_reasons_are_attributed_to_their_rule():
    df = _rows()
    df.loc[df["judge"] == "looked", ["excluded", "exclusion_reason"]] = [1, "looked things up"]
    flow = apply_exclusions(prepare_responses(df), None, AnalysisSettings())
    f = flow.flow.set_index("rule")
    assert f.loc["looked things up", "judges_removed"] == 1
    assert any("min_ms_per_word" in s for s in flow.not_applied)


def test_settings_from_study_json():
    s = AnalysisSettings.from_study(
        {
            "spec": {
                "analysis": {
                    "alpha": 0.01,
                    "equivalence_margin": 0.03,
                    "min_ms_per_word": 0,
                    "exclude_seen_before": True,
                }
            }
        }
    )
    assert s.alpha == 0.01 and s.equivalence_margin == 0.03 and s.min_ms_per_word is None
    assert s.exclude_seen_before
    with pytest.raises(ValueError, match="alpha"):
        AnalysisSettings.from_study({"spec": {"analysis": {"alpha": 2}}})


def test_power_plan_for_the_dashboard_is_json_and_plottable():
    import json

    from analysis import power_figure

    plan = plan_power(
        accuracy=0.6, sd_judge=0.5, sd_article=0.5, judges=(20, 40), articles=(10, 20), n_sims=40
    )
    d = json.loads(json.dumps(plan.to_dict()))
    assert {r["judges"] for r in d["grid"]} == {20, 40} and len(d["grid"]) == 4
    assert power_figure(plan)[:8] == b"\x89PNG\r\n\x1a\n"
