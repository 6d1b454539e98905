import numpy as np
import pytest

from analysis.planner import (
    PlanDesign,
    _holm,
    pilot_assumptions,
    plan_study,
    simulate_study,
    stated_assumptions,
)
from analysis.power import main
from analysis.simulate import SimCondition, simulate_responses

DESIGN = PlanDesign(conditions=["control", "m1", "m2"], control="control", articles=12)


def _holm_by_hand(p):
    m = len(p)
    order = sorted(range(m), key=lambda i: p[i])
    out, running = [0.0] * m, 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        out[i] = running
    return out


def test_holm_matches_the_step_down_definition():
    rng = np.random.default_rng(0)
    p = rng.random((20, 4)) ** 3
    ref = np.array([_holm_by_hand(list(row)) for row in p])
    np.testing.assert_allclose(_holm(p), ref)


def test_difference_keeps_its_size_and_finds_a_real_gap():
    # no difference anywhere: Holm-adjusted Student t rejects at most ~alpha
    flat = stated_assumptions(DESIGN, accuracy={"control": 0.7, "m1": 0.7, "m2": 0.7})
    diff, _ = simulate_study(DESIGN, flat, "m1", 10, n_sims=600, seed=1)
    assert diff < 0.05 + 3 * np.sqrt(0.05 * 0.95 / 600)
    gap = stated_assumptions(DESIGN, accuracy={"control": 0.85, "m1": 0.55, "m2": 0.7})
    diff, _ = simulate_study(DESIGN, gap, "m1", 10, n_sims=200, seed=2)
    assert diff > 0.9


def test_equivalence_power_grows_with_judges_only_near_chance():
    near = stated_assumptions(DESIGN, accuracy={"m1": 0.5}, sd_judge=0.3, sd_article=0.0)
    plan = plan_study(DESIGN, near, condition="m1", judges_per_list=(5, 60), n_sims=200, seed=3)
    eq = plan.grid.set_index("judges_per_list")["equivalence"]
    assert eq[60] > 0.8 > eq[5]
    assert plan.answer["equivalence"] == 60
    far = stated_assumptions(DESIGN, accuracy={"m1": 0.7})
    plan = plan_study(DESIGN, far, condition="m1", judges_per_list=(60,), n_sims=100)
    assert plan.grid["equivalence"].iloc[0] < 0.05
    assert any("outside 0.5" in w for w in plan.warnings)


def test_a_tiny_pilot_warns_and_falls_back_to_stated_sds():
    pilot = simulate_responses(
        (SimCondition("control", None, 0.85, True), SimCondition("m1", 1e9, 0.6)),
        judges_per_condition=1,
        n_articles=12,
        seed=4,
    )
    stated = stated_assumptions(DESIGN, sd_judge=0.4, sd_article=0.3)
    got = pilot_assumptions(pilot, DESIGN, stated)
    assert (got.sd_judge, got.sd_article) == (0.4, 0.3)
    assert any("too small to estimate the variances" in w for w in got.warnings)
    assert any("no judgments for m2" in w for w in got.warnings)


def test_a_pilot_large_enough_supplies_its_sds():
    pilot = simulate_responses(
        (SimCondition("control", None, 0.85, True), SimCondition("m1", 1e9, 0.6)),
        judges_per_condition=30,
        n_articles=16,
        sd_judge=0.6,
        sd_article=0.6,
        seed=5,
    )
    got = pilot_assumptions(pilot, DESIGN, stated_assumptions(DESIGN))
    assert "pilot SDs" in got.source
    assert got.sd_judge != 0.5 and got.sd_article != 0.5
    assert got.accuracy["m1"] == pytest.approx(0.6, abs=0.1)


def test_planning_for_the_control_is_refused():
    with pytest.raises(ValueError, match="not the control"):
        plan_study(DESIGN, stated_assumptions(DESIGN), condition="control")


def test_cli_asks_for_the_condition_then_answers(tmp_path, capsys):
    spec = tmp_path / "s.toml"
    spec.write_text(
        "design = 'between'\njudges_per_list = 10\n[articles]\ncount = 10\n"
        "[analysis]\nalpha = 0.05\nequivalence_margin = 0.05\n"
        "[[conditions]]\nname = 'a'\n[[conditions]]\nname = 'b'\n"
        "[[conditions]]\nname = 'control'\ncontrol = true\n"
    )
    assert main(["--spec", str(spec)]) == 2
    assert "choose the condition" in capsys.readouterr().err
    rc = main(["--spec", str(spec), "--condition", "b", "--judges", "5,20", "--n-sims", "50"])
    out = capsys.readouterr().out
    assert rc == 0 and "judges per list" in out and "control 0.86" in out


def test_cli_names_a_missing_spec(tmp_path, capsys):
    assert main(["--spec", str(tmp_path / "missing.toml")]) == 2
    assert "missing.toml: no such spec file" in capsys.readouterr().err
