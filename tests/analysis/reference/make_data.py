"""Regenerate the fixed input files for the R reference script (run once; outputs committed).

.venv/bin/python tests/analysis/reference/make_data.py
Rscript tests/analysis/reference/make_reference.R
"""

from pathlib import Path

from analysis.simulate import SimCondition, simulate_responses

HERE = Path(__file__).parent

conditions = (
    SimCondition("control", None, 0.85, True),
    SimCondition("small", 125e6, 0.70),
    SimCondition("large", 175e9, 0.55),
)
frame = simulate_responses(
    conditions,
    judges_per_condition=40,
    n_articles=16,
    sd_judge=0.6,
    sd_article=0.7,
    neutral_rate=0.08,
    seed=20260511,
)
frame.to_csv(HERE / "glmer_responses.csv", index=False)
