import json
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from analysis import analyze, analyze_path, write_report
from analysis.results import SECTIONS
from analysis.simulate import SimCondition, simulate_responses
from tests.analysis.conftest import SMALL

ANALYSIS_MD_ROWS = {  # ANALYSIS.md row -> results.json key
    1: "exclusions",
    2: "paper_table",
    3: "vs_control",
    4: "mixed_model",
    5: "sdt",
    6: "equivalence",
    7: "roc",
    8: "bootstrap",
    9: "fits",
    10: "difficulty",
    11: "timing",
    12: "calibration",
    13: "position",
    14: "agreement",
    15: "power",
    16: "study_record",
}


@pytest.fixture(scope="module")
def mixed_population():
    real = simulate_responses(
        SMALL, judges_per_condition=20, n_articles=10, seed=21, simulated_flag=False
    )
    sim = simulate_responses(SMALL[:2], judges_per_condition=6, n_articles=10, seed=22)
    sim["judge"] = "sim-" + sim["judge"]
    # a condition name that would break HTML if not escaped
    both = pd.concat([real, sim], ignore_index=True)
    both["condition"] = both["condition"].replace({"m-mid": "<script>alert(1)</script>"})
    return both


@pytest.fixture(scope="module")
def results(mixed_population):
    study = {
        "design_hash": "d3s1gn",
        "spec": {"analysis": {"alpha": 0.05, "equivalence_margin": 0.05}},
        "audit_log": [{"at": "2026-01-01", "event": "launch <b>"}],
    }
    return analyze(mixed_population, None, study, seed=1, n_boot=200, power_sims=40)


def test_every_analysis_md_row_is_a_named_results_entry(results):
    d = json.loads(results.to_json())
    assert tuple(ANALYSIS_MD_ROWS.values()) == SECTIONS
    for key in SECTIONS:
        assert d[key] is not None, key
    assert d["errors"] == {}
    assert d["mixed_model"]["primary"]["conditions"][0]["condition"] == "control"
    assert set(d["mixed_model"]) == {"primary", "all_answers", "half_credit"}
    assert len(d["fits"]["fits"]) == 2
    assert d["study_record"]["design_hash"] == "d3s1gn"
    assert d["study_record"]["analysis_software"]["statsmodels"]


def test_real_and_simulated_judges_are_never_pooled(results, mixed_population):
    assert results.population == "real"
    real_judges = results["study_record"].judges_analysed
    assert real_judges == 4 * 20
    assert results.simulated is not None and results.simulated.population == "simulated"
    assert results.simulated["study_record"].judges_analysed == 12
    assert any("simulated" in w for w in results.warnings)
    d = json.loads(results.to_json())
    assert d["simulated_judges"]["all_judges_simulated"] is True


def test_numbers_agree_across_sections(results):
    pt = results["paper_table"].table.set_index("condition")
    boot = results["bootstrap"].table
    acc = boot[boot["statistic"] == "accuracy"].set_index("condition")["estimate"]
    for cond in pt.index:
        assert acc[cond] == pytest.approx(pt.loc[cond, "mean_accuracy"])
    eq = results["equivalence"].table.set_index("condition")
    assert eq["mean_accuracy"].to_dict() == pytest.approx(pt["mean_accuracy"].to_dict())


def test_report_is_self_contained_and_escaped(results, tmp_path):
    written = write_report(results, tmp_path)
    html = (tmp_path / "report.html").read_text()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "launch &lt;b&gt;" in html
    srcs = re.findall(r"src='([^']*)'", html) + re.findall(r'src="([^"]*)"', html)
    assert all(s.startswith("data:image/png;base64,") for s in srcs)
    assert "<link" not in html and "<script" not in html.lower()
    # every figure inline as SVG, and written as SVG beside the PNG
    assert html.count("<svg ") >= 5
    for name in ("accuracy_vs_params", "roc", "difficulty", "time_per_item", "calibration"):
        assert (tmp_path / f"{name}.svg").read_text().lstrip().startswith("<?xml")
    for name in (
        "accuracy_vs_params.png",
        "roc.png",
        "difficulty.png",
        "time_per_item.png",
        "results.json",
        "paper_table.csv",
        "exclusion_flow.csv",
    ):
        assert (tmp_path / name).exists(), name
    assert (tmp_path / "simulated_judges" / "report.html").exists()
    assert "d3s1gn" in html and "statsmodels" in html
    assert json.loads((tmp_path / "results.json").read_text())["population"] == "real"
    assert written["report.html"].stat().st_size > 10_000


def test_all_simulated_is_said_prominently(tmp_path):
    df = simulate_responses(SMALL[:3], judges_per_condition=10, n_articles=8, seed=3)
    res = analyze(df, n_boot=100, power_sims=20)
    assert res.population == "simulated"
    assert res.warnings[0].startswith("ALL JUDGES ARE SIMULATED")
    write_report(res, tmp_path)
    html = (tmp_path / "report.html").read_text()
    assert "class='banner'>ALL JUDGES IN THIS ANALYSIS ARE SIMULATED" in html


def test_paired_protocol_end_to_end(tmp_path):
    conds = (SimCondition("control", None, 0.85, True), SimCondition("big", 1e10, 0.6))
    df = simulate_responses(conds, judges_per_condition=15, n_articles=10, paired=True, seed=8)
    res = analyze(df, n_boot=200, power_sims=20)
    assert res.protocol == "paired"
    paired = res["paired"].table.set_index("condition")
    pt = res["paper_table"].table.set_index("condition")
    sub = df[df["condition"] == "big"]
    assert paired.loc["big", "prop_chose_human"] == pytest.approx(
        (sub["choice"] == sub["human_side"]).mean()
    )
    assert pt.loc["big", "idk_rate"] == 0
    assert "primary" in res["mixed_model"].fits
    assert res["position"].side_bias is not None
    write_report(res, tmp_path)
    assert (tmp_path / "report.html").exists()


def test_analyze_path_export_folder_and_cli(tmp_path):
    df = simulate_responses(
        SMALL[:3], judges_per_condition=10, n_articles=8, seed=5, simulated_flag=False
    )
    export = tmp_path / "export"
    export.mkdir()
    df.to_csv(export / "responses.csv", index=False)
    pd.DataFrame(
        {"judge": pd.unique(df["judge"]), "closing_looked_up": "no", "status": "completed"}
    ).assign(closing_looked_up=lambda j: np.where(j.index == 0, "yes", "no")).to_csv(
        export / "judges.csv", index=False
    )
    (export / "study.json").write_text(
        json.dumps(
            {
                "design_hash": "h1",
                "spec": {
                    "analysis": {"alpha": 0.05, "equivalence_margin": 0.05, "min_ms_per_word": 0}
                },
            }
        )
    )
    res = analyze_path(export, tmp_path / "out", n_boot=100)
    assert res["exclusions"].excluded_judges["rule"].tolist() == ["looked things up"]
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "analysis",
            str(export / "responses.csv"),
            "--out",
            str(tmp_path / "cli"),
            "--n-boot",
            "100",
            "--seed",
            "3",
        ],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    d = json.loads((tmp_path / "cli" / "results.json").read_text())
    assert d["study_record"]["n_boot"] == 100 and d["study_record"]["analysis_seed"] == 3
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "analysis",
            str(tmp_path / "missing.csv"),
            "--out",
            str(tmp_path / "x"),
        ],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2 and "no such file" in bad.stderr


def _platform_export(folder):
    """An export in the exact shape studies/services/exports.py writes (column order, blank
    article on attention rows, protocol "single", platform-recorded reasons, closing_* answers,
    audit log entries with dict details)."""
    df = simulate_responses(
        SMALL[:2], judges_per_condition=8, n_articles=6, seed=31, simulated_flag=False
    )
    df["protocol"] = "single"
    df["params"] = df["params"].astype(str)
    judges = list(pd.unique(df["judge"]))
    attention = []
    for j in judges:
        first = df[df["judge"] == j].iloc[0]
        failed = j == judges[1]
        attention.append(
            {
                **first.to_dict(),
                "article": "",
                "item": "attention-1",
                "is_machine": "",
                "rating": 1 if failed else 5,
                "correct": 0 if failed else 1,
                "is_attention": 1,
                "position": 26,
                "words_shown": 40,
            }
        )
    df = pd.concat([df, pd.DataFrame(attention)], ignore_index=True)
    reasons = {
        judges[1]: "failed attention check",
        judges[2]: "incomplete (expired)",
        judges[3]: "looked things up",
    }
    for j, why in reasons.items():
        df.loc[df["judge"] == j, ["excluded", "exclusion_reason"]] = [1, why]
    columns = (
        "study,condition,params,judge,list,article,item,is_machine,rating,choice,confidence,"
        "correct,position,server_ms,visible_ms,excluded,exclusion_reason,is_control,protocol,"
        "human_side,words_shown,is_attention,is_practice,simulated,paste_count,copy_count,"
        "tabaway_count"
    ).split(",")
    for c in ("paste_count", "copy_count", "tabaway_count"):
        df[c] = 0
    df["rating"] = df["rating"].map(lambda r: "" if pd.isna(r) else str(int(r)))
    df["correct"] = df["correct"].map(lambda r: "" if r == "" or pd.isna(r) else str(int(r)))
    df[columns].to_csv(folder / "responses.csv", index=False)
    pd.DataFrame(
        {
            "judge": judges,
            "list": "A",
            "condition": [j.split("-j")[0] for j in judges],
            "status": ["expired" if j == judges[2] else "completed" for j in judges],
            "simulated": 0,
            "attention_failures": [int(j == judges[1]) for j in judges],
            "closing_looked_up": ["yes" if j == judges[3] else "no" for j in judges],
            "closing_seen_before": "no",
            "excluded": [int(j in reasons) for j in judges],
            "exclusion_reason": [reasons.get(j, "") for j in judges],
        }
    ).to_csv(folder / "judges.csv", index=False)
    (folder / "study.json").write_text(
        json.dumps(
            {
                "study": "demo",
                "design_hash": "sha256:feed",
                "protocol": "single",
                "spec": {
                    "analysis": {
                        "alpha": 0.05,
                        "equivalence_margin": 0.05,
                        "exclude_failed_attention": True,
                        "exclude_looked_up": True,
                        "exclude_seen_before": False,
                        "min_ms_per_word": 0,
                    }
                },
                "audit_log": [
                    {
                        "at": "2026-11-27T10:00:00+00:00",
                        "action": "launch",
                        "actor": "r1",
                        "detail": {"hash": "feed"},
                    }
                ],
                "software": {"Django": "5.2"},
            }
        )
    )
    return judges


def test_platform_export_shape(tmp_path):
    judges = _platform_export(tmp_path)
    res = analyze_path(tmp_path, tmp_path / "out", n_boot=100)
    ex = res["exclusions"].excluded_judges.set_index("judge")["rule"]
    assert ex[judges[1]] == "failed attention check"
    assert ex[judges[2]] == "incomplete or withdrawn"
    assert ex[judges[3]] == "looked things up"
    assert res["study_record"].judges_analysed == len(judges) - 3
    assert res["exclusions"].unscored_rows == len(judges)
    html = (tmp_path / "out" / "report.html").read_text()
    assert "sha256:feed" in html and "launch" in html


def test_same_seed_same_numbers():
    """The dashboard and `python -m analysis` must agree: the whole results.json is a pure
    function of the input and the seed (the mixed model's random start is seeded too)."""
    df = simulate_responses(SMALL[:3], judges_per_condition=8, n_articles=6, seed=41)
    a = analyze(df, seed=7, n_boot=100, power_sims=20).to_json()
    b = analyze(df, seed=7, n_boot=100, power_sims=20).to_json()
    assert a == b


def test_a_sized_control_stays_off_the_scaling_curve():
    conds = (
        SimCondition("control", 125e6, 0.85, True),
        SimCondition("a", 125e6, 0.7),
        SimCondition("b", 1.3e9, 0.6),
        SimCondition("c", 13e9, 0.55),
    )
    df = simulate_responses(conds, judges_per_condition=8, n_articles=6, seed=2)
    res = analyze(df, n_boot=100, power_sims=20)
    assert res["fits"].points["condition"].tolist() == ["a", "b", "c"]
    assert res["timing"].n_judges_fit == 3 * 8


def test_the_tell_audit_from_the_study_record_reaches_results_and_report(tmp_path):
    responses = simulate_responses(SMALL[:2], judges_per_condition=6, n_articles=8, seed=5)
    group = {"auc": 0.81, "low": 0.62, "high": 0.97, "above_chance": True, "gated": True}
    study = {
        "tell_audit": {
            "gated": True,
            "findings": ["In condition 'm', form features tell <b>human</b> from machine."],
            "method": {"classifier": "logistic regression"},
            "conditions": [
                {
                    "condition": "m",
                    "articles": 8,
                    "texts": 16,
                    "note": "",
                    "groups": {
                        "form": {**group, "carriers": ["paragraphs"]},
                        "style": {
                            **group,
                            "auc": 0.6,
                            "low": 0.4,
                            "above_chance": False,
                            "gated": False,
                            "carriers": ["comma_rate"],
                        },
                    },
                }
            ],
        },
        "audit_log": [{"action": "acknowledge_tells", "detail": {}}],
    }
    res = analyze(responses, None, study, seed=1, n_boot=50, power_sims=10)
    d = json.loads(res.to_json())
    assert d["tell_audit"]["gated"] and d["tell_audit"]["acknowledged"]
    assert [r["group"] for r in d["tell_audit"]["rows"]] == ["form", "style"]
    html = (write_report(res, tmp_path)["report.html"]).read_text()
    assert 'id="tell-audit"' in html and "acknowledged" in html and "paragraphs" in html
    assert "<b>human</b>" not in html and "&lt;b&gt;human&lt;/b&gt;" in html
    assert (
        json.loads(json.dumps(analyze(responses, None, {}, n_boot=50, power_sims=10).to_dict()))[
            "tell_audit"
        ]
        is None
    )


def test_findings_are_sentences_that_match_the_tables(results, tmp_path):
    from analysis.report import findings

    lines = findings(results)
    pt = results["paper_table"].table.set_index("condition")
    vs = results["vs_control"].table.set_index("condition")
    for cond in pt.index:
        line = next(x for x in lines if x.startswith(f"{cond}:"))
        assert f"{100 * pt.loc[cond, 'mean_accuracy']:.1f}%" in line
        assert f"{100 * pt.loc[cond, 'ci_low']:.1f}%" in line
        assert "TOST p =" in line
        if cond in vs.index:
            differs = vs.loc[cond, "p_student_holm"] < 0.05
            assert ("It differs from the control" in line) == differs
    write_report(results, tmp_path)
    html = (tmp_path / "report.html").read_text()
    # findings come first, then the summary, then the sections; landmarks for axe
    assert html.index("id='findings'") < html.index("id='summary'") < html.index("id='exclusions'")
    assert "<main>" in html and "<header>" in html
    assert "nan" not in re.sub(r"<svg.*?</svg>", "", html, flags=re.S).lower().replace(
        "nanoseconds", ""
    )
    for phrase in ("TOST (two one-sided tests)", "d' (signal detection)", "Holm"):
        assert phrase in html.replace("&#x27;", "'")


def test_report_builds_when_nothing_is_left_to_score(tmp_path):
    df = simulate_responses(SMALL[:2], judges_per_condition=4, n_articles=6, seed=9)
    judges = pd.DataFrame(
        {"judge": df["judge"].unique(), "excluded": 1, "exclusion_reason": "test", "simulated": 0}
    )
    df["simulated"] = False
    res = analyze(df, judges, n_boot=50, power_sims=10)
    assert res["paper_table"] is None and "paper_table" in res.errors
    write_report(res, tmp_path)
    html = (tmp_path / "report.html").read_text()
    assert "Not estimable" in html and "id='exclusions'" in html
    assert json.loads((tmp_path / "results.json").read_text())["exclusions"]["flow"]
