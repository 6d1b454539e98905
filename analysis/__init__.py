"""Newseval analysis: can judges tell a model's news from a journalist's?

A plain library (no Django): tidy rows in, small result objects out.

>>> from analysis import analyze, write_report, analyze_path, plan_power
>>> results = analyze(responses_frame, judges_frame, study_dict, seed=0, n_boot=2000)
>>> write_report(results, "out/")          # report.html, results.json, CSV tables, PNG figures
>>> plan = plan_power(accuracy=0.55, sd_judge=0.5, sd_article=0.5)
"""

from importlib import import_module

# Loaded on first use, so that ``python -m analysis.power`` does not import itself twice.
_WHERE = {
    "PowerPlan": "analysis.power",
    "Results": "analysis.results",
    "analyze": "analysis.pipeline",
    "analyze_path": "analysis.pipeline",
    "load_export": "analysis.data",
    "plan_power": "analysis.power",
    "power_figure": "analysis.figures",
    "prepare_responses": "analysis.data",
    "write_report": "analysis.report",
}
__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name in _WHERE:
        return getattr(import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'analysis' has no attribute {name!r}")
