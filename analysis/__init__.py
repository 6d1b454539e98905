"""Newseval analysis: can judges tell a model's news from a journalist's?

A plain library (no Django): tidy rows in, small result objects out.

>>> from analysis import analyze, write_report, analyze_path, plan_power
>>> results = analyze(responses_frame, judges_frame, study_dict, seed=0, n_boot=2000)
>>> write_report(results, "out/")          # report.html, results.json, CSV tables, PNG figures
>>> plan = plan_power(accuracy=0.55, sd_judge=0.5, sd_article=0.5)
"""

from analysis.data import load_export, prepare_responses
from analysis.figures import power_figure
from analysis.pipeline import analyze, analyze_path
from analysis.power import PowerPlan, plan_power
from analysis.report import write_report
from analysis.results import Results

__all__ = [
    "PowerPlan",
    "Results",
    "analyze",
    "analyze_path",
    "load_export",
    "plan_power",
    "power_figure",
    "prepare_responses",
    "write_report",
]
