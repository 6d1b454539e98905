"""Supervised detectors: logistic regressions trained on texts outside the study.

- ``lr_features``: the form and style features of :mod:`detectors.features`, standardised;
- ``lr_ngrams``: word 1-2-grams and character 2-4-grams (tf-idf, sublinear).

Both are scikit-learn pipelines fitted with a fixed solver, so the same training texts always
give the same model; the score is the predicted probability that a text is machine-made.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from .features import ALL_FEATURES, feature_matrix
from .zero_shot import VERSION, DetectorResult

SUPERVISED = ("lr_features", "lr_ngrams")


def _pipeline(name: str, c: float):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import FeatureUnion, make_pipeline
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

    lr = LogisticRegression(C=c, max_iter=2000, solver="lbfgs")
    if name == "lr_features":
        return make_pipeline(
            FunctionTransformer(lambda texts: feature_matrix(list(texts), ALL_FEATURES)),
            StandardScaler(),
            lr,
        )
    if name == "lr_ngrams":
        union = FeatureUnion(
            [
                ("word", TfidfVectorizer(ngram_range=(1, 2), min_df=1, sublinear_tf=True)),
                (
                    "char",
                    TfidfVectorizer(
                        analyzer="char_wb", ngram_range=(2, 4), min_df=1, sublinear_tf=True
                    ),
                ),
            ]
        )
        return make_pipeline(union, lr)
    raise ValueError(f"unknown supervised detector {name!r}")


def train_and_score(
    name: str,
    train_texts: Sequence[str],
    train_labels: Sequence[int],
    texts: Sequence[str],
    *,
    c: float = 1.0,
    train_provenance: dict[str, Any] | None = None,
) -> DetectorResult:
    """Fit detector ``name`` on labelled texts (1 = machine) and score ``texts``.

    Returns a skipped result when the training set lacks one of the two kinds.
    """
    prov: dict[str, Any] = {
        "detector": name,
        "scoring_model": None,
        "version": VERSION,
        "settings": {"C": c, "train_texts": len(train_texts), **(train_provenance or {})},
    }
    labels = [int(y) for y in train_labels]
    if len(set(labels)) < 2:
        prov["seconds"] = 0.0
        return DetectorResult(
            name, [float("nan")] * len(texts), prov, "training needs human and machine texts"
        )
    start = time.perf_counter()
    model = _pipeline(name, c)
    model.fit(list(train_texts), labels)
    scores = [float(p) for p in model.predict_proba(list(texts))[:, 1]]
    prov["seconds"] = time.perf_counter() - start
    prov["settings"]["train_machine"] = sum(labels)
    return DetectorResult(name, scores, prov)
