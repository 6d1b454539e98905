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

# Further glmer fixtures (issue 15): scored 0/1 data fitted by make_reference.R with
# glmer(y ~ condition + (1 | judge) + (1 | article), nAGQ = 1). Generated directly with numpy,
# independently of analysis.simulate, so the check does not share code with the fitter's tests.


def _glmm_data(rng, *, conditions, judges, articles, sd_judge, sd_article, keep=1.0):
    rows = []
    art = rng.normal(0, sd_article, articles)
    for name, (logit, n_judges) in zip(conditions, judges, strict=True):
        for jn in range(n_judges):
            u = rng.normal(0, sd_judge)
            for a in range(articles):
                if rng.random() > keep:
                    continue
                p = 1 / (1 + np.exp(-(logit + u + art[a])))
                rows.append((name, f"{name}-j{jn:03d}", f"a{a:02d}", int(rng.random() < p)))
    return pd.DataFrame(rows, columns=["condition", "judge", "article", "y"])


import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

rng = np.random.default_rng(20261203)
sets = {
    # the paper's nine conditions, 30 judges each, 25 articles
    "paper": _glmm_data(
        rng,
        conditions=["control", "m125", "m350", "m760", "m1.3b", "m2.7b", "m6.7b", "m13b", "m175b"],
        judges=[
            (1.8, 30),
            (1.15, 30),
            (0.45, 30),
            (0.75, 30),
            (0.5, 30),
            (0.5, 30),
            (0.4, 30),
            (0.2, 30),
            (0.08, 30),
        ],
        articles=25,
        sd_judge=0.45,
        sd_article=0.5,
    ),
    # a judge variance near zero
    "near_zero": _glmm_data(
        rng,
        conditions=["control", "large"],
        judges=[(1.4, 60), (0.3, 60)],
        articles=20,
        sd_judge=0.02,
        sd_article=0.6,
    ),
    # unbalanced lists: unequal judges per condition and a third of the items missing at random
    "unbalanced": _glmm_data(
        rng,
        conditions=["control", "small", "large"],
        judges=[(1.5, 70), (0.8, 25), (0.2, 45)],
        articles=24,
        sd_judge=0.7,
        sd_article=0.35,
        keep=0.66,
    ),
}
for name, frame in sets.items():
    frame.to_csv(HERE / f"glmm_{name}.csv", index=False)
