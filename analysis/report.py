"""``write_report``: report.html (one self-contained file), results.json, CSV tables, figures.

The page opens with the findings in sentences generated from the numbers, then the summary in
the paper's layout, then one block per entry of :data:`analysis.sections.SECTIONS`. Every piece
of text that comes from the data goes through ``html.escape``. Figures are written as PNG and
SVG files and embedded inline as SVG, so the HTML file can be mailed, archived and printed on
its own. Wide tables scroll inside their own box; a print stylesheet lays the page out for PDF.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
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
from analysis.htmlparts import ci as _ci
from analysis.htmlparts import esc as _esc
from analysis.htmlparts import fmt as _fmt
from analysis.htmlparts import p as _p
from analysis.htmlparts import table as _table
from analysis.results import Results
from analysis.sections import SECTIONS, compact_flow, wide_bootstrap

__all__ = ["compact_flow", "findings", "summary_table", "wide_bootstrap", "write_report"]

_CSS = """
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;max-width:1100px;margin:0 auto;
padding:1em;color:#222;line-height:1.45;overflow-wrap:anywhere}
h1{margin-bottom:.2em;font-size:1.6em}h2{border-bottom:2px solid #ddd;padding-bottom:.2em;
margin-top:2em}
.scroll{overflow-x:auto;max-width:100%;margin:.6em 0}
.scroll:focus{outline:2px solid #1f5fbf}
table{border-collapse:collapse;font-size:.86em}
th,td{border:1px solid #ccc;padding:3px 7px;text-align:right;overflow-wrap:normal}
th{background:#f3f3f3}
td:first-child,th:first-child{text-align:left}
.banner{background:#b00020;color:#fff;padding:.8em 1em;font-weight:bold;font-size:1.1em}
.warn{background:#fff4ce;border-left:4px solid #e0a800;padding:.5em 1em;margin:.3em 0}
.note{color:#555;font-size:.9em}
.findings{background:#f4f8ff;border-left:4px solid #1f5fbf;padding:.4em 1em}
.findings li{margin:.3em 0}
figure{margin:.6em 0}figure svg,figure img{max-width:100%;height:auto;border:1px solid #eee}
code{background:#f5f5f5;padding:0 .2em}
pre{white-space:pre-wrap;overflow-wrap:anywhere}
details{margin:.5em 0}
@media print{
body{max-width:none;padding:0;font-size:10pt}
.scroll{overflow:visible}
table{font-size:8pt}
h2{break-after:avoid;page-break-after:avoid}
figure,tr{break-inside:avoid;page-break-inside:avoid}
details>*{display:block}
.findings{border-left-color:#000;background:none}
a{color:inherit;text-decoration:none}
}
"""


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%" if x is not None and np.isfinite(x) else "not estimable"


def findings(res: Results) -> list[str]:
    """The first screen's sentences, each built from numbers shown in the tables below."""
    s = res.sections
    out: list[str] = []
    ex = s.get("exclusions")
    if ex is not None and len(ex.flow):
        out.append(_flow_sentence(ex.flow, s.get("study_record")))
    if s.get("paper_table") is None:
        out.append("Accuracy is not estimable: no scored judgments remain.")
        return out
    tables = _ConditionTables.of(res)
    for c in res.conditions:
        if c in tables.paper.index:
            out.append(" ".join(_condition_sentences(c, tables, res)))
    for sec in SECTIONS:
        data = s.get(sec.key)
        if data is None:
            continue
        if sec.findings is not None:
            out.extend(sec.findings(data, res))
        elif callable(getattr(data, "findings", None)):
            out.extend(data.findings())
    return out


def _flow_sentence(flow: pd.DataFrame, rec: Any) -> str:
    first = flow[flow["step"] == flow["step"].min()]["judges"].sum()
    last = flow[flow["step"] == flow["step"].max()]["judges"].sum()
    judgments = rec.judgments_analysed if rec is not None else 0
    articles = rec.articles if rec is not None else 0
    return (
        f"{int(last)} of {int(first)} judges remain after the pre-declared exclusions; "
        f"{judgments} judgments on {articles} articles are analysed."
    )


@dataclass
class _ConditionTables:
    """The tables the sentences read, indexed by condition (None: not built or empty)."""

    paper: pd.DataFrame
    alpha: float
    boot_accuracy: pd.DataFrame | None
    vs_control: pd.DataFrame | None
    equivalence: pd.DataFrame | None
    margin: float | None

    @classmethod
    def of(cls, res: Results) -> _ConditionTables:
        s = res.sections
        pt, bt, vs, eq = (
            s["paper_table"],
            s.get("bootstrap"),
            s.get("vs_control"),
            s.get("equivalence"),
        )
        return cls(
            paper=pt.table.set_index("condition"),
            alpha=pt.alpha,
            boot_accuracy=bt.table[bt.table["statistic"] == "accuracy"].set_index("condition")
            if bt is not None
            else None,
            vs_control=vs.table.set_index("condition")
            if vs is not None and len(vs.table)
            else None,
            equivalence=eq.table.set_index("condition")
            if eq is not None and len(eq.table)
            else None,
            margin=eq.margin if eq is not None else None,
        )


def _condition_sentences(c: str, t: _ConditionTables, res: Results) -> list[str]:
    """Accuracy with both intervals, then against chance, the control and equivalence."""
    r = t.paper.loc[c]
    measure = "chose the human text" if res.protocol == "paired" else "were right"
    parts = [
        f"{c}: judges {measure} {_pct(r['mean_accuracy'])} of the time "
        f"(95% CI {_pct(r['ci_low'])} to {_pct(r['ci_high'])}, the paper's t-interval"
    ]
    if t.boot_accuracy is not None and c in t.boot_accuracy.index:
        lo, hi = t.boot_accuracy.loc[c, "ci_low"], t.boot_accuracy.loc[c, "ci_high"]
        parts[0] += f"; two-way bootstrap {_pct(lo)} to {_pct(hi)})."
        if np.isfinite(lo) and np.isfinite(hi):
            parts.append(
                "That differs from chance (the bootstrap interval excludes 50%)."
                if lo > 0.5 or hi < 0.5
                else "That does not differ from chance (the bootstrap interval includes 50%)."
            )
    else:
        parts[0] += ")."
    if t.vs_control is not None and c in t.vs_control.index and res.control:
        parts.extend(_control_sentence(t.vs_control.loc[c], t, res.control))
    if t.equivalence is not None and c in t.equivalence.index:
        parts.extend(_equivalence_sentence(t.equivalence.loc[c], t.margin))
    return parts


def _control_sentence(v: pd.Series, t: _ConditionTables, control: str) -> list[str]:
    ph = v.get("p_student_holm", np.nan)
    mh = v.get("mixed_p_holm", np.nan)
    ctl = _pct(t.paper.loc[control, "mean_accuracy"])
    if not np.isfinite(ph):
        return []
    verdict = "differs from" if ph < t.alpha else "does not differ significantly from"
    extra = f"; mixed model Holm p = {_fmt(mh)}" if np.isfinite(mh) else ""
    return [
        f"It {verdict} the control ({ctl}): Student t = {_fmt(v['t_student'])}, "
        f"Holm-adjusted p = {_fmt(ph)}{extra}."
    ]


def _equivalence_sentence(e: pd.Series, margin: float) -> list[str]:
    if not np.isfinite(e["p_tost"]):
        return []
    return [
        (
            f"It is equivalent to chance within ±{100 * margin:g} points "
            if e["equivalent_t"]
            else f"It is not shown equivalent to chance within ±{100 * margin:g} points "
        )
        + f"(TOST p = {_fmt(e['p_tost'])})."
    ]


def _body(res: Results, figures: dict[str, bytes | None], level: int = 1) -> str:
    s = res.sections
    out = []
    rec = s.get("study_record")
    if res.population == "simulated":
        out.append(
            "<div class='banner'>ALL JUDGES IN THIS ANALYSIS ARE SIMULATED. These numbers "
            "describe simulated judges, not people.</div>"
        )
    for w in res.warnings:
        out.append(f"<div class='warn'>{_esc(w)}</div>")
    for k, v in res.errors.items():
        out.append(f"<div class='warn'>Could not compute {_esc(k)}: {_esc(v)}</div>")
    out.append(
        "<section id='findings'><h2>Findings</h2><ul class='findings'>"
        + "".join(f"<li>{_esc(x)}</li>" for x in findings(res))
        + "</ul></section>"
    )
    out.append(
        "<section id='summary'><h2>Summary (the paper's layout, with better-founded "
        "intervals)</h2>" + _table(summary_table(res), label="summary")
    )
    eq, pt = s.get("equivalence"), s.get("paper_table")
    out.append(
        _p(
            f"Protocol: {res.protocol}. Judgments analysed: {_field(rec, 'judgments_analysed')}; "
            f"judges: {_field(rec, 'judges_analysed')}; articles: {_field(rec, 'articles')}. "
            f"Control: {res.control or 'none'}. alpha = {pt.alpha if pt else '–'}, "
            f"equivalence margin ±{eq.margin if eq else '–'}, bootstrap B = "
            f"{_field(rec, 'n_boot')}, seed {_field(rec, 'analysis_seed')}."
        )
        + "</section>"
    )
    for sec in SECTIONS:
        out.append(sec.render(s.get(sec.key), res, figures))
    return "".join(out)


def _field(record: Any, name: str) -> Any:
    return getattr(record, name) if record is not None else None


def summary_table(res: Results) -> pd.DataFrame:
    """One row per condition: the paper's estimate beside the better-founded ones."""
    s = res.sections
    if s.get("paper_table") is None:
        return pd.DataFrame()
    pt = s["paper_table"].table.set_index("condition")
    bt = s["bootstrap"].table if s.get("bootstrap") else pd.DataFrame(columns=["statistic"])
    acc_b = bt[bt["statistic"] == "accuracy"].set_index("condition")
    auc_b = bt[bt["statistic"] == "auc"].set_index("condition")
    mixed = s["mixed_model"].fits.get("primary") if s.get("mixed_model") else None
    mc = mixed.conditions.set_index("condition") if mixed is not None else None
    eq = s["equivalence"].table.set_index("condition") if s.get("equivalence") else None
    sdt = s["sdt"].table.set_index("condition") if s.get("sdt") else None
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
            )
            if c in acc_b.index
            else "–",
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
        if sdt is not None and c in sdt.index:
            row["d'"] = _fmt(sdt.loc[c, "dprime_mean"])
        if eq is not None and c in eq.index:
            row["equivalent to chance (TOST / bootstrap)"] = (
                f"{'yes' if eq.loc[c, 'equivalent_t'] else 'no'} / "
                f"{'yes' if eq.loc[c, 'equivalent_boot'] else 'no'}"
            )
        rows.append(row)
    return pd.DataFrame(rows)


def _safe_figure(fn, *args) -> bytes | None:
    # A figure that cannot be drawn (a section not estimable) is left out, never fatal.
    with contextlib.suppress(KeyError, TypeError, ValueError, IndexError, AttributeError):
        return fn(*args)
    return None


def _figures(res: Results) -> dict[str, bytes | None]:
    power = res.sections.get("power")
    return {
        "accuracy_vs_params": _safe_figure(figure_accuracy, res),
        "roc": _safe_figure(figure_roc, res),
        "difficulty": _safe_figure(figure_difficulty, res),
        "time_per_item": _safe_figure(figure_time, res),
        "calibration": _safe_figure(figure_calibration, res),
        "power": _safe_figure(power_figure, power) if power is not None else None,
    }


_CSV: tuple[tuple[str, str, Any], ...] = (
    ("exclusion_flow", "exclusions", lambda d: d.flow),
    ("paper_table", "paper_table", lambda d: d.table),
    ("vs_control", "vs_control", lambda d: d.table),
    ("sdt", "sdt", lambda d: d.table),
    ("equivalence", "equivalence", lambda d: d.table),
    ("roc", "roc", lambda d: d.table),
    ("bootstrap", "bootstrap", lambda d: d.table),
    ("difficulty", "difficulty", lambda d: d.table),
    ("timing", "timing", lambda d: d.table),
    ("calibration", "calibration", lambda d: d.table),
    ("agreement", "agreement", lambda d: d.table),
    ("power_grid", "power", lambda d: d.grid),
    ("paired", "paired", lambda d: d.table),
)


def _tables(res: Results) -> dict[str, pd.DataFrame]:
    s = res.sections
    out = {}
    for name, key, get in _CSV:
        if s.get(key) is not None:
            out[name] = get(s[key])
    for outcome, fit in (s["mixed_model"].fits if s.get("mixed_model") else {}).items():
        out[f"mixed_{outcome}_conditions"] = fit.conditions
        out[f"mixed_{outcome}_fixed"] = fit.fixed
    return out


def _write_figures(figures: dict[str, bytes | None], out: Path, written: dict[str, Path]) -> None:
    """Each figure drawn as ``name.png``, and ``name.svg`` beside it when it has one."""
    for name, data in figures.items():
        if data is not None:
            p = out / f"{name}.png"
            p.write_bytes(data)
            written[name] = p
            if getattr(data, "svg", None):
                p = out / f"{name}.svg"
                p.write_text(data.svg, encoding="utf-8")
                written[f"{name}.svg"] = p


def write_report(results: Results, out_dir: str | Path) -> dict[str, Path]:
    """Write report.html, results.json, ``*.csv`` tables and figures (PNG and SVG) into out_dir.

    Returns the written paths by name. Simulated judges mixed with real ones get their own
    files under ``out_dir/simulated_judges/``.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    figures = _figures(results)
    _write_figures(figures, out, written)
    for name, frame in _tables(results).items():
        if frame is not None and len(frame):
            p = out / f"{name}.csv"
            frame.to_csv(p, index=False)
            written[f"{name}.csv"] = p
    sim_html = ""
    if results.simulated is not None:
        sim_dir = out / "simulated_judges"
        write_report(results.simulated, sim_dir)
        sim_html = (
            "<section id='simulated'><h2>Simulated judges (analysed separately)</h2>"
            + _body(results.simulated, _figures(results.simulated), level=2).replace(
                "id='", "id='sim-"
            )
            + "</section>"
        )
    rec = results["study_record"]
    title = f"Newseval report: {rec.study or 'study'}"
    pop = " — SIMULATED JUDGES" if results.population == "simulated" else ""
    doc = (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{_esc(title + pop)}</title><style>{_CSS}</style></head><body>"
        f"<header><h1>{_esc(title)}{_esc(pop)}</h1>"
        f"<p>Design hash: <code>{_esc(rec.design_hash or 'not supplied')}</code>; "
        f"input hash <code>{_esc(rec.input_hash[:16])}</code>; software: "
        f"{_esc(', '.join(f'{k} {v}' for k, v in rec.analysis_software.items()))}.</p>"
        "</header><main>" + _body(results, figures) + sim_html + "</main></body></html>"
    )
    p = out / "report.html"
    p.write_text(doc, encoding="utf-8")
    written["report.html"] = p
    p = out / "results.json"
    p.write_text(results.to_json(), encoding="utf-8")
    written["results.json"] = p
    return written
