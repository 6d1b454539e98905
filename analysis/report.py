"""``write_report``: report.html (one self-contained file), results.json, CSV tables, PNG figures.

Every piece of text that comes from the data (condition names, reasons, audit entries) goes
through ``html.escape``; figures are embedded as base64 PNG data URIs so the HTML file can be
mailed or archived on its own.
"""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.figures import (
    figure_accuracy,
    figure_calibration,
    figure_difficulty,
    figure_roc,
    figure_time,
    power_figure,
)
from analysis.results import Results, jsonable

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;max-width:1100px;margin:2em auto;
padding:0 1em;color:#222;line-height:1.45}
h1{margin-bottom:.2em}h2{border-bottom:2px solid #ddd;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:.6em 0;font-size:.86em}
th,td{border:1px solid #ccc;padding:3px 7px;text-align:right}th{background:#f3f3f3}
td:first-child,th:first-child{text-align:left}
.banner{background:#b00020;color:#fff;padding:.8em 1em;font-weight:bold;font-size:1.1em}
.warn{background:#fff4ce;border-left:4px solid #e0a800;padding:.5em 1em}
.note{color:#555;font-size:.9em}
img{max-width:100%;border:1px solid #eee}
code{background:#f5f5f5;padding:0 .2em}
details{margin:.5em 0}
"""


def _esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _fmt(x: Any) -> str:
    if isinstance(x, bool | np.bool_):
        return "yes" if x else "no"
    if isinstance(x, int | np.integer):
        return str(int(x))
    if isinstance(x, float | np.floating):
        if not np.isfinite(x):
            return "–"
        if x != 0 and (abs(x) < 1e-3 or abs(x) >= 1e6):
            return f"{x:.2e}"
        return f"{x:.3f}".rstrip("0").rstrip(".") if abs(x) < 1000 else f"{x:.0f}"
    return str(x)


def _table(frame: pd.DataFrame | None, max_rows: int = 400) -> str:
    if frame is None or len(frame) == 0:
        return "<p class='note'>(empty)</p>"
    f = frame.head(max_rows)
    head = "".join(f"<th>{_esc(c)}</th>" for c in f.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{_esc(_fmt(v))}</td>" for v in row) + "</tr>"
        for row in f.itertuples(index=False)
    )
    more = (
        f"<p class='note'>{len(frame) - max_rows} more rows in the CSV.</p>"
        if len(frame) > max_rows
        else ""
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{more}"


# ---------------------------------------------------------------- html


def _section(title: str, *parts: str, anchor: str = "") -> str:
    a = f" id='{_esc(anchor)}'" if anchor else ""
    return f"<h2{a}>{_esc(title)}</h2>" + "".join(parts)


def _p(text: str, cls: str = "") -> str:
    c = f" class='{cls}'" if cls else ""
    return f"<p{c}>{_esc(text)}</p>"


def _img(name: str, data: bytes | None, alt: str) -> str:
    if data is None:
        return _p(f"({alt}: not enough data for this figure)", "note")
    b64 = base64.b64encode(data).decode("ascii")
    return f"<img alt='{_esc(alt)}' src='data:image/png;base64,{b64}'>"


def _body(res: Results, figures: dict[str, bytes | None], level: int = 1) -> str:
    s = res.sections
    out = []
    rec = s["study_record"]
    if res.population == "simulated":
        out.append(
            "<div class='banner'>ALL JUDGES IN THIS ANALYSIS ARE SIMULATED. These numbers "
            "describe simulated judges, not people.</div>"
        )
    for w in res.warnings:
        out.append(f"<div class='warn'>{_esc(w)}</div>")
    for k, v in res.errors.items():
        out.append(f"<div class='warn'>Could not compute {_esc(k)}: {_esc(v)}</div>")
    out.append("<h2 id='summary'>Summary</h2>" + _table(summary_table(res)))
    out.append(
        _p(
            f"Protocol: {res.protocol}. Judgments analysed: {rec['judgments_analysed']}; "
            f"judges: {rec['judges_analysed']}; articles: {rec['articles']}. Control: "
            f"{res.control or 'none'}. alpha = {s['paper_table']['alpha']}, equivalence "
            f"margin ±{s['equivalence']['margin']}, bootstrap B = {rec['n_boot']}, seed "
            f"{rec['analysis_seed']}."
        )
    )

    ex = s["exclusions"]
    out.append(
        _section(
            "1. Exclusions",
            _p(
                "Pre-declared rules applied in order; counts are judges and scored "
                "judgments remaining after each rule, per condition."
            ),
            _table(compact_flow(ex["flow"])),
            _p("Rules not applied: " + "; ".join(ex["not_applied"]), "note")
            if ex["not_applied"]
            else "",
            _p(f"Attention/practice rows (never scored): {ex['unscored_rows']}.", "note"),
            "<details><summary>Excluded judges</summary>"
            + _table(ex["excluded_judges"])
            + "</details>",
            anchor="exclusions",
        )
    )

    pt = s["paper_table"]
    out.append(
        _section(
            "2–3. The paper's table (Table 3.11 layout) and comparisons with the control",
            _table(pt["formatted"]),
            _p(pt["method"], "note"),
            "<details><summary>All columns</summary>" + _table(pt["table"]) + "</details>",
            _p(
                "Beyond the paper: two-way bootstrap difference from the control and the mixed "
                "model's log-odds difference (z test, Laplace SE), Holm-adjusted."
            ),
            _table(s["vs_control"]["table"]),
            _p(s["vs_control"]["note"], "note"),
            _img("accuracy", figures.get("accuracy_vs_params"), "accuracy vs parameters"),
            anchor="table",
        )
    )

    mm = s["mixed_model"]
    parts = []
    for outcome, fit in mm.items():
        label = {
            "primary": "Primary: non-neutral answers (the paper's rule)",
            "all_answers": "Sensitivity: all answers, 'I don't know' = wrong",
            "half_credit": "Sensitivity: 'I don't know' = half credit (alternating 1/0)",
        }
        parts.append(f"<h3>{_esc(label.get(outcome, outcome))}</h3>")
        parts.append(
            _p(
                f"{fit.n_obs} judgments, {fit.n_judges} judges, {fit.n_articles} "
                f"articles; reference: {fit.reference}; converged: {fit.converged}."
            )
        )
        parts.append(_table(fit.conditions))
        parts.append(_table(fit.fixed))
        parts.append(_table(fit.variance))
    if mm:
        parts.append(_p(next(iter(mm.values())).method, "note"))
        parts.append(
            _p(
                "'accuracy' is for a typical judge on a typical article (random "
                "effects at zero); 'marginal_accuracy' averages over judges and "
                "articles. Article SD is the spread of article difficulty on the logit "
                "scale: more judges cannot make up for too few articles.",
                "note",
            )
        )
    out.append(
        _section(
            "4. Mixed-effects model: correct ~ condition + (1|judge) + (1|article)",
            *parts,
            anchor="mixed",
        )
    )

    out.append(
        _section(
            "5. Sensitivity d' and criterion c",
            _table(s["sdt"]["table"]),
            _p(s["sdt"]["method"], "note"),
            anchor="sdt",
        )
    )
    eq = s["equivalence"]
    out.append(
        _section(
            "6. Indistinguishable from chance? (TOST equivalence)",
            _table(eq["table"]),
            _p(
                eq["method"] + ". A non-significant difference is not evidence of equivalence.",
                "note",
            ),
            anchor="equivalence",
        )
    )
    out.append(
        _section(
            "7. ROC and AUC (all five levels)",
            _table(s["roc"]["table"]),
            _p(
                "Score: " + s["roc"]["score"] + ". AUC = U / (n1 n2); CI from the "
                "two-way bootstrap.",
                "note",
            ),
            _img("roc", figures.get("roc"), "ROC curves"),
            anchor="roc",
        )
    )
    bt = s["bootstrap"]
    out.append(
        _section(
            "8. Two-way bootstrap",
            _table(wide_bootstrap(bt["table"], res.conditions)),
            _table(bt["diff_vs_control"]),
            _p(bt["method"] + f"; B = {bt['n_boot']}, seed {bt['seed']}.", "note"),
            anchor="bootstrap",
        )
    )
    fits = s["fits"]
    fit_rows = pd.DataFrame(
        [
            {
                "model": f.formula,
                "a": f.a,
                "a_ci_low": f.a_ci[0],
                "a_ci_high": f.a_ci[1],
                "b": f.b,
                "b_ci_low": f.b_ci[0],
                "b_ci_high": f.b_ci[1],
                "rss": f.rss,
                "points": f.n_points,
            }
            for f in fits["fits"].values()
        ]
    )
    out.append(
        _section(
            "9. Accuracy vs model size",
            _table(fit_rows),
            _p(
                fits["skipped"]
                or "N in billions of parameters; parameter CIs and "
                "bands from refitting every bootstrap replicate.",
                "note",
            ),
            anchor="fits",
        )
    )
    d = s["difficulty"]
    out.append(
        _section(
            "10. Per-article difficulty",
            _img("difficulty", figures.get("difficulty"), "per-article difficulty"),
            _p(d["method"], "note"),
            "<h3>Flagged</h3>",
            _table(d["flagged"]),
            "<details><summary>All versions</summary>" + _table(d["table"]) + "</details>",
            anchor="difficulty",
        )
    )
    tm = s["timing"]
    out.append(
        _section(
            "11. Response time",
            _img("time", figures.get("time_per_item"), "time per item"),
            _table(tm["table"]),
            _p(
                f"log-log slope {_fmt(tm['slope'])} (95% CI {_fmt(tm['slope_ci'][0])} to "
                f"{_fmt(tm['slope_ci'][1])}, p = {_fmt(tm['slope_p'])}), over "
                f"{tm['n_judges_fit']} judges: time per item ×{_fmt(tm['factor_per_10x'])} per "
                "tenfold parameters."
            ),
            anchor="timing",
        )
    )
    cal = s["calibration"]
    out.append(
        _section(
            "12. Calibration",
            _img("cal", figures.get("calibration"), "calibration"),
            _table(cal.table),
            _p(
                f"Trend (highest minus lowest confidence, per judge): {_fmt(cal.trend_mean_diff)}, "
                f"t = {_fmt(cal.trend_t)}, p = {_fmt(cal.trend_p)}, {cal.trend_judges} judges."
            ),
            _p(cal.method, "note"),
            anchor="calibration",
        )
    )
    pos = s["position"]
    if pos is not None:
        side = ""
        if pos.side_bias:
            sb = pos.side_bias
            side = _p(
                f"Side bias: left chosen as human in {sb['prop_left']:.1%} of trials "
                f"(t = {_fmt(sb['t'])}, p = {_fmt(sb['p'])}, {sb['judges']} judges)."
            )
        out.append(
            _section(
                "13. Position / fatigue",
                _p(
                    f"Odds ratio per 10 positions: {_fmt(pos.odds_ratio_per_10)} (log-odds "
                    f"{_fmt(pos.slope_per_10)}, 95% CI {_fmt(pos.ci_low)} to {_fmt(pos.ci_high)}, "
                    f"p = {_fmt(pos.p)})."
                ),
                _table(pos.bins),
                side,
                _p(pos.method, "note"),
                anchor="position",
            )
        )
    out.append(
        _section(
            "14. Agreement (Krippendorff's alpha)",
            _table(s["agreement"]["table"]),
            _p(s["agreement"]["method"], "note"),
            anchor="agreement",
        )
    )
    pw = s["power"]
    if pw is not None:
        out.append(
            _section(
                "15. Power planning for a next study",
                _p(
                    f"Test: accuracy ≠ 50%, alpha {pw.alpha}; assumptions from {pw.source}: "
                    f"accuracy {pw.accuracy:.3f}, judge SD {pw.sd_judge:.2f}, article SD "
                    f"{pw.sd_article:.2f} (logit); {pw.n_sims} simulations per cell, "
                    f"seed {pw.seed}."
                ),
                _table(pw.grid.merge(pw.analytic, on=["judges", "articles"])),
                _table(pw.smallest),
                _img("power", figures.get("power"), "power"),
                _p(pw.note, "note"),
                anchor="power",
            )
        )
    if "paired" in s:
        out.append(
            _section(
                "Paired protocol: proportion choosing the human text",
                _table(s["paired"]["table"]),
                anchor="paired",
            )
        )
    if s.get("tell_audit") is not None:
        out.append(s["tell_audit"].html())
    sr = {k: v for k, v in rec.items() if k not in ("audit_log", "spec")}
    audit = rec.get("audit_log") or []
    audit_html = (
        _table(pd.DataFrame(audit))
        if audit and isinstance(audit[0], dict)
        else "".join(f"<div>{_esc(a)}</div>" for a in audit)
        or _p("(no audit log supplied)", "note")
    )
    out.append(
        _section(
            "16. Study record",
            f"<pre>{_esc(json.dumps(jsonable(sr), indent=2))}</pre>",
            "<h3>Audit log</h3>",
            audit_html,
            "<details><summary>Design spec</summary><pre>"
            + _esc(json.dumps(jsonable(rec.get("spec")), indent=2))
            + "</pre></details>",
            anchor="record",
        )
    )
    return "".join(out)


def _ci(est: float, lo: float, hi: float, pct: bool = True) -> str:
    if not np.isfinite(est):
        return "–"
    if pct:
        return f"{100 * est:.1f}% [{100 * lo:.1f}, {100 * hi:.1f}]"
    return f"{est:.2f} [{lo:.2f}, {hi:.2f}]"


def summary_table(res: Results) -> pd.DataFrame:
    """One row per condition: the paper's estimate beside the better-founded ones."""
    s = res.sections
    pt = s["paper_table"]["table"].set_index("condition")
    bt = s["bootstrap"]["table"]
    acc_b = bt[bt["statistic"] == "accuracy"].set_index("condition")
    auc_b = bt[bt["statistic"] == "auc"].set_index("condition")
    mixed = s["mixed_model"].get("primary")
    mc = mixed.conditions.set_index("condition") if mixed is not None else None
    eq = s["equivalence"]["table"].set_index("condition")
    sdt = s["sdt"]["table"].set_index("condition")
    rows = []
    for c in res.conditions:
        if c not in pt.index:
            continue
        r = pt.loc[c]
        row = {
            "condition": c,
            "judges": int(r["judges_scored"]),
            "paper: mean accuracy [t 95% CI]": _ci(r["mean_accuracy"], r["ci_low"], r["ci_high"]),
            "two-way bootstrap 95% CI": _ci(
                r["mean_accuracy"], acc_b.loc[c, "ci_low"], acc_b.loc[c, "ci_high"]
            ),
            "mixed model (typical judge & article)": _ci(
                mc.loc[c, "accuracy"], mc.loc[c, "ci_low"], mc.loc[c, "ci_high"]
            )
            if mc is not None and c in mc.index
            else "–",
            "I don't know": f"{100 * r['idk_rate']:.1f}%",
        }
        if res.protocol != "paired" and c in auc_b.index:
            row["AUC (5 levels)"] = _ci(
                auc_b.loc[c, "estimate"], auc_b.loc[c, "ci_low"], auc_b.loc[c, "ci_high"], False
            )
        if c in sdt.index:
            row["d'"] = _fmt(sdt.loc[c, "dprime_mean"])
        if c in eq.index:
            row["equivalent to chance (TOST / bootstrap)"] = (
                f"{'yes' if eq.loc[c, 'equivalent_t'] else 'no'} / "
                f"{'yes' if eq.loc[c, 'equivalent_boot'] else 'no'}"
            )
        rows.append(row)
    return pd.DataFrame(rows)


def compact_flow(flow: pd.DataFrame) -> pd.DataFrame:
    """Rules as rows, conditions as columns, "judges / judgments" remaining in each cell."""
    if flow.empty:
        return flow
    cell = flow.assign(v=flow["judges"].astype(str) + " / " + flow["judgments"].astype(str))
    wide = cell.pivot(index=["step", "rule"], columns="condition", values="v")
    wide = wide[list(pd.unique(flow["condition"]))]
    return wide.reset_index().drop(columns="step")


def wide_bootstrap(table: pd.DataFrame, conditions: list[str]) -> pd.DataFrame:
    if table.empty:
        return table
    t = table.assign(
        v=[
            _ci(e, lo, hi, pct=(s != "auc"))
            for e, lo, hi, s in zip(
                table["estimate"],
                table["ci_low"],
                table["ci_high"],
                table["statistic"],
                strict=True,
            )
        ]
    )
    wide = t.pivot(index="condition", columns="statistic", values="v")
    return wide.reindex([c for c in conditions if c in wide.index]).reset_index()


def _figures(res: Results) -> dict[str, bytes | None]:
    return {
        "accuracy_vs_params": figure_accuracy(res),
        "roc": figure_roc(res),
        "difficulty": figure_difficulty(res),
        "time_per_item": figure_time(res),
        "calibration": figure_calibration(res),
        "power": power_figure(res["power"]) if res["power"] is not None else None,
    }


def _tables(res: Results) -> dict[str, pd.DataFrame]:
    s = res.sections
    out = {
        "exclusion_flow": s["exclusions"]["flow"],
        "paper_table": s["paper_table"]["table"],
        "vs_control": s["vs_control"]["table"],
        "sdt": s["sdt"]["table"],
        "equivalence": s["equivalence"]["table"],
        "roc": s["roc"]["table"],
        "bootstrap": s["bootstrap"]["table"],
        "difficulty": s["difficulty"]["table"],
        "timing": s["timing"]["table"],
        "calibration": s["calibration"].table,
        "agreement": s["agreement"]["table"],
    }
    for outcome, fit in s["mixed_model"].items():
        out[f"mixed_{outcome}_conditions"] = fit.conditions
        out[f"mixed_{outcome}_fixed"] = fit.fixed
    if s["power"] is not None:
        out["power_grid"] = s["power"].grid
    if "paired" in s:
        out["paired"] = s["paired"]["table"]
    return out


def write_report(results: Results, out_dir: str | Path) -> dict[str, Path]:
    """Write report.html, results.json, ``*.csv`` tables and ``*.png`` figures into out_dir.

    Returns the written paths by name. Simulated judges mixed with real ones get their own
    files under ``out_dir/simulated_judges/``.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    figures = _figures(results)
    for name, data in figures.items():
        if data is not None:
            p = out / f"{name}.png"
            p.write_bytes(data)
            written[name] = p
    for name, frame in _tables(results).items():
        if frame is not None and len(frame):
            p = out / f"{name}.csv"
            frame.to_csv(p, index=False)
            written[f"{name}.csv"] = p
    sim_html = ""
    if results.simulated is not None:
        sim_dir = out / "simulated_judges"
        write_report(results.simulated, sim_dir)
        sim_html = "<h2>Simulated judges (analysed separately)</h2>" + _body(
            results.simulated, _figures(results.simulated), level=2
        )
    rec = results["study_record"]
    title = f"Newseval report: {rec.get('study') or 'study'}"
    pop = " — SIMULATED JUDGES" if results.population == "simulated" else ""
    doc = (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{_esc(title + pop)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{_esc(title)}{_esc(pop)}</h1>"
        f"<p>Design hash: <code>{_esc(rec.get('design_hash') or 'not supplied')}</code>; "
        f"input hash <code>{_esc(rec['input_hash'][:16])}</code>; software: "
        f"{_esc(', '.join(f'{k} {v}' for k, v in rec['analysis_software'].items()))}.</p>"
        + _body(results, figures)
        + sim_html
        + "</body></html>"
    )
    p = out / "report.html"
    p.write_text(doc, encoding="utf-8")
    written["report.html"] = p
    p = out / "results.json"
    p.write_text(results.to_json(), encoding="utf-8")
    written["results.json"] = p
    return written
