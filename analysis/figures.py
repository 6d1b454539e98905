"""The report's figures as PNG bytes that carry an SVG twin: accuracy vs size, ROC,
per-article difficulty, time per item, calibration, and the power planner's curves.

matplotlib's object API only (``Figure``, rendered by Agg), never pyplot, so figures can be
drawn in a web server's worker threads without touching global GUI state.
"""

from __future__ import annotations

import io
import itertools

import matplotlib
import matplotlib.ticker
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from analysis.results import Results

_SVG_COUNTER = itertools.count()


class FigureBytes(bytes):
    """PNG bytes that also carry the same figure as SVG text (``.svg``)."""

    svg: str = ""


def _png(fig) -> FigureBytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    out = FigureBytes(buf.getvalue())
    svg = io.StringIO()
    # No date in the SVG; text stays text (searchable, selectable).
    salt = f"newseval-{next(_SVG_COUNTER)}"  # distinct ids for several SVGs inline on one page
    with matplotlib.rc_context({"svg.hashsalt": salt, "svg.fonttype": "none"}):
        fig.savefig(svg, format="svg", bbox_inches="tight", metadata={"Date": None})
    out.svg = svg.getvalue()
    return out


def figure_accuracy(res: Results) -> bytes | None:
    pt = res["paper_table"].table
    boot = res["bootstrap"].table
    acc_b = boot[boot["statistic"] == "accuracy"].set_index("condition")
    sized = (
        pt[np.isfinite(pt["params"].astype(float)) & (pt["condition"] != res.control)]
        if "params" in pt
        else pt.iloc[0:0]
    )
    if sized.empty:
        return None
    fig = Figure(figsize=(8, 5))
    ax = fig.subplots()
    _chance_and_control(ax, pt, res.control, res["equivalence"].margin)
    _size_curves(ax, res["fits"].fits)
    _accuracy_points(ax, sized, acc_b)
    ax.set_xscale("log")
    ax.set_xlabel("parameters (log scale)")
    ax.set_ylabel(
        "proportion choosing the human text"
        if res.protocol == "paired"
        else "accuracy on non-neutral answers"
    )
    ax.set_title("Detection accuracy vs model size")
    ax.set_ylim(min(0.3, float(np.nanmin(sized["ci_low"])) - 0.05), 1.0)
    ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    ax.legend(fontsize=7.5, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.grid(alpha=0.3, which="both")
    return _png(fig)


def _chance_and_control(ax: Axes, pt: pd.DataFrame, control: str | None, margin: float) -> None:
    """Chance with the equivalence margin around it, and the control's accuracy and CI."""
    ax.axhline(0.5, color="k", ls=":", lw=1, label="chance (50%)")
    ax.axhspan(
        0.5 - margin, 0.5 + margin, color="0.85", alpha=0.5, label=f"equivalence margin ±{margin:g}"
    )
    ctl = pt[pt["condition"] == control]
    if len(ctl):
        c = ctl.iloc[0]
        ax.axhline(
            c["mean_accuracy"],
            color="tab:red",
            ls="--",
            lw=1.2,
            label=f"control ({c['mean_accuracy']:.0%})",
        )
        ax.axhspan(c["ci_low"], c["ci_high"], color="tab:red", alpha=0.08)


def _size_curves(ax: Axes, fits: dict) -> None:
    """Each fitted size curve with its bootstrap band."""
    colors = {"paper": "tab:purple", "chance": "tab:green"}
    for name, fit in fits.items():
        g = np.asarray(fit.grid)
        ax.plot(
            g,
            fit.curve,
            color=colors[name],
            lw=1.5,
            label=f"{fit.formula}: a={fit.a:.3f}, b={fit.b:.3f} (N in B)",
        )
        if np.isfinite(fit.band_low).all():
            ax.fill_between(g, fit.band_low, fit.band_high, color=colors[name], alpha=0.12)


def _accuracy_points(ax: Axes, sized: pd.DataFrame, acc_b: pd.DataFrame) -> None:
    """Mean accuracy per sized condition: the paper's t interval and, offset, the bootstrap's."""
    x = sized["params"].to_numpy(dtype=float)
    y = sized["mean_accuracy"].to_numpy()
    yerr = np.vstack([y - sized["ci_low"], sized["ci_high"] - y])
    ax.errorbar(
        x * 0.96,
        y,
        yerr=yerr,
        fmt="o",
        color="tab:blue",
        capsize=3,
        label="mean judge accuracy, t 95% CI (paper)",
    )
    bl = acc_b.reindex(sized["condition"])
    ax.errorbar(
        x * 1.04,
        y,
        yerr=np.vstack([y - bl["ci_low"], bl["ci_high"] - y]),
        fmt="none",
        ecolor="tab:orange",
        capsize=3,
        lw=2,
        label="two-way bootstrap 95% CI (judges × articles)",
    )


def figure_roc(res: Results) -> bytes | None:
    curves = res["roc"].curves
    if not curves:
        return None
    table = res["roc"].table.set_index("condition")
    fig = Figure(figsize=(5.8, 5.5))
    ax = fig.subplots()
    cmap = matplotlib.colormaps["viridis"]
    n = len(curves)
    for i, (name, c) in enumerate(curves.items()):
        color = "tab:red" if name == res.control else cmap(i / max(n - 1, 1))
        ax.plot(
            c["fpr"],
            c["tpr"],
            marker="o",
            ms=3,
            color=color,
            label=f"{name} (AUC {table.loc[name, 'auc']:.2f})",
        )
    ax.plot([0, 1], [0, 1], "k:", lw=1)
    if res.protocol == "paired":
        ax.set_xlabel("P(score ≥ t | human on the right)")
        ax.set_ylabel("P(score ≥ t | human on the left)")
    else:
        ax.set_xlabel("false-alarm rate: human texts rated ≥ t")
        ax.set_ylabel("hit rate: machine texts rated ≥ t")
    ax.set_title(
        "ROC from signed confidence (paired)"
        if res.protocol == "paired"
        else "ROC from all five rating levels"
    )
    ax.legend(fontsize=7.5, loc="lower right")
    ax.set_aspect("equal")
    ax.grid(alpha=0.3)
    return _png(fig)


def figure_difficulty(res: Results) -> bytes | None:
    t = res["difficulty"].table
    if t.empty:
        return None
    if res.protocol == "paired":
        piv = t.pivot_table(index="article", columns="condition", values="rate")
        title, cbar = "Proportion choosing the human text, per article", "chose human"
    else:
        m = t[t["version"] == "machine"].pivot_table(
            index="article", columns="condition", values="rate"
        )
        h = t[t["version"] == "human"].groupby("article")["rate"].mean()
        piv = m.copy()
        piv["human version (all)"] = h
        title, cbar = (
            "Judged-machine rate per article (machine versions; last column: human)",
            "judged machine",
        )
    cols = [c for c in res.conditions if c in piv.columns] + [
        c for c in piv.columns if c not in res.conditions
    ]
    piv = piv[cols]
    flagged = set()
    if res.protocol != "paired":
        fl = res["difficulty"].flagged
        flagged = set(zip(fl["article"], fl["condition"], strict=True))
    fig = Figure(figsize=(1.0 + 0.75 * len(cols), 1.2 + 0.28 * len(piv)))
    ax = fig.subplots()
    im = ax.imshow(piv.to_numpy(dtype=float), cmap="RdBu", vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(len(cols)), [str(c) for c in cols], rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(len(piv)), [str(i) for i in piv.index], fontsize=7)
    for i, a in enumerate(piv.index):
        for j, c in enumerate(cols):
            v = piv.iloc[i, j]
            if np.isfinite(v):
                mark = "*" if (a, c) in flagged else ""
                ax.text(
                    j,
                    i,
                    f"{v:.2f}{mark}",
                    ha="center",
                    va="center",
                    fontsize=6,
                    color="white" if abs(v - 0.5) > 0.3 else "black",
                )
    fig.colorbar(im, ax=ax, label=cbar, fraction=0.04)
    ax.set_title(
        title + ("\n* machine version judged human (BH-adjusted)" if flagged else ""), fontsize=9
    )
    return _png(fig)


def figure_time(res: Results) -> bytes | None:
    timing = res["timing"]
    table = timing.table
    if table is None or len(table) == 0:
        return None
    fig = Figure(figsize=(8, 4.5))
    ax = fig.subplots()
    on_curve = np.isfinite(table["params"].astype(float)) & (table["condition"] != res.control)
    sized = table[on_curve]
    unsized = table[~on_curve]
    if len(sized):
        x = sized["params"].to_numpy(dtype=float)
        y = sized["judge_median_s"].to_numpy()
        ax.errorbar(
            x,
            y,
            yerr=np.vstack([y - sized["judge_median_ci_low"], sized["judge_median_ci_high"] - y]),
            fmt="o",
            capsize=3,
            label="median of judges' median time, 95% CI",
        )
        if timing.grid:
            ax.plot(
                timing.grid,
                timing.fit_seconds,
                color="tab:green",
                label=f"log-log OLS over judges: ×{timing.factor_per_10x:.2f} per 10× "
                f"parameters (p={timing.slope_p:.2g})",
            )
            ax.fill_between(
                timing.grid,
                timing.band_low,
                timing.band_high,
                color="tab:green",
                alpha=0.15,
            )
        ax.set_xscale("log")
    for r in unsized.itertuples():
        ax.axhline(
            r.judge_median_s,
            color="tab:red",
            ls="--",
            lw=1,
            label=f"{r.condition} ({r.judge_median_s:.0f} s)",
        )
    ax.set_xlabel("parameters (log scale)")
    ax.set_ylabel("seconds per item")
    ax.set_title("Time per item vs model size")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, which="both")
    return _png(fig)


def power_figure(plan) -> bytes:
    """Power against judges, one line per article count (``analysis.plan_power`` output)."""
    fig = Figure(figsize=(6.5, 4))
    ax = fig.subplots()
    for articles, sub in plan.grid.groupby("articles"):
        ax.errorbar(
            sub["judges"],
            sub["power"],
            yerr=1.96 * sub["mc_se"],
            marker="o",
            capsize=2,
            label=f"{articles} articles",
        )
    ax.axhline(plan.target, color="k", ls="--", lw=1, label=f"target {plan.target:.0%}")
    ax.set_xscale("log")
    ax.set_xticks(sorted(plan.grid["judges"].unique()))
    ax.xaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("judges")
    ax.set_ylabel("power (accuracy ≠ 50%)")
    ax.set_title(
        f"Power: accuracy {plan.accuracy:.2f}, judge SD {plan.sd_judge:.2f}, "
        f"article SD {plan.sd_article:.2f}",
        fontsize=9,
    )
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return _png(fig)


def figure_calibration(res: Results) -> bytes | None:
    t = res["calibration"].table
    if t.empty:
        return None
    fig = Figure(figsize=(6.5, 4))
    ax = fig.subplots()
    for name, sub in t.groupby("condition", sort=False):
        style = dict(lw=2.5, color="k") if name == "all" else dict(lw=1, alpha=0.7)
        ax.plot(sub["label"], sub["accuracy"], marker="o", label=name, **style)
    ax.axhline(0.5, color="k", ls=":", lw=1)
    ax.set_ylabel("accuracy")
    ax.set_xlabel("confidence")
    ax.set_title("Calibration: accuracy by stated confidence")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.grid(alpha=0.3)
    return _png(fig)
