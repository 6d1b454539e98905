"""Benchmark of the analysis library.

    .venv/bin/python bench/analysis.py [--rows 1000000] [--report-rows 25000] [--n-boot 2000]

1. The paper's table on ~1,000,000 judgments held in memory (CSV parsing not counted) against a
   plain pandas groupby computing the same table in the same run. Aim: within 2x the baseline.
2. The full report (exclusions, table, three mixed-model fits, 2000-resample two-way bootstrap,
   fits with bootstrap bands, every other section, figures, HTML, JSON, CSV) on ~25,000
   judgments. Aim: under 60 s.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analysis import analyze, write_report  # noqa: E402
from analysis.data import prepare_responses  # noqa: E402
from analysis.simulate import PAPER_CONDITIONS, simulate_responses  # noqa: E402
from analysis.table import paper_table  # noqa: E402


def baseline_table(f: pd.DataFrame, control: str) -> pd.DataFrame:
    """The same table with a plain pandas groupby: per-judge accuracy over non-neutral answers,
    mean, t CI, Student t vs control, "I don't know" rate."""
    answered = f[~f["neutral"]]
    per_judge = answered.groupby(["condition", "judge"], sort=False)["correct"].mean()
    g = per_judge.groupby(level=0).agg(["mean", "std", "count"])
    half = stats.t.ppf(0.975, g["count"] - 1) * g["std"] / np.sqrt(g["count"])
    g["ci_low"], g["ci_high"] = g["mean"] - half, g["mean"] + half
    c = g.loc[control]
    sp2 = ((c["count"] - 1) * c["std"] ** 2 + (g["count"] - 1) * g["std"] ** 2) / (
        c["count"] + g["count"] - 2
    )
    g["t"] = (c["mean"] - g["mean"]) / np.sqrt(sp2 * (1 / c["count"] + 1 / g["count"]))
    g["idk_rate"] = f.groupby("condition", sort=False)["neutral"].mean()
    return g


def best_of(fn, repeat: int = 3) -> tuple[float, object]:
    best, out = np.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--report-rows", type=int, default=25_000)
    ap.add_argument("--n-boot", type=int, default=2000)
    args = ap.parse_args()

    per_cond = round(args.rows / (len(PAPER_CONDITIONS) * 25))
    raw = simulate_responses(PAPER_CONDITIONS, judges_per_condition=per_cond, seed=1)
    t_prep, prepared = best_of(lambda: prepare_responses(raw), repeat=1)
    t_table, ours = best_of(lambda: paper_table(prepared))
    t_base, base = best_of(lambda: baseline_table(prepared, "control"))
    mine = ours.table.set_index("condition")
    assert np.allclose(mine.loc[base.index, "mean_accuracy"], base["mean"])
    assert np.allclose(mine.loc[base.index, "idk_rate"], base["idk_rate"])
    print(f"paper table on {len(prepared):,} judgments ({prepared['judge'].nunique():,} judges)")
    print(f"  analysis.table.paper_table : {t_table:.3f} s (best of 3)")
    print(f"  plain pandas groupby       : {t_base:.3f} s (best of 3)")
    print(f"  ratio                      : {t_table / t_base:.2f}x (aim <= 2x)")
    print(f"  (validation/prepare_responses once, not in either: {t_prep:.2f} s)")

    per_cond = round(args.report_rows / (len(PAPER_CONDITIONS) * 25))
    raw = simulate_responses(
        PAPER_CONDITIONS, judges_per_condition=per_cond, seed=2, simulated_flag=False
    )
    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        res = analyze(raw, seed=0, n_boot=args.n_boot)
        t_an = time.perf_counter() - t0
        t1 = time.perf_counter()
        write_report(res, out)
        t_rep = time.perf_counter() - t1
    print(
        f"full report on {len(raw):,} judgments, B = {args.n_boot} two-way bootstrap, "
        f"3 mixed-model fits"
    )
    print(f"  analyze      : {t_an:.1f} s")
    print(f"  write_report : {t_rep:.1f} s")
    print(f"  total        : {t_an + t_rep:.1f} s (aim < 60 s)")


if __name__ == "__main__":
    main()
