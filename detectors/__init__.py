"""Machine detectors and shallow text features, scored on the texts exactly as judges see them.

A plain Python library: no Django. ``detectors.features`` holds the form and style features
that the pre-launch tell audit (``detectors.audit``) and the supervised feature detector share.

Detectors (each gives one score per text, higher = more machine-like, with provenance):
zero-shot from a registry scoring model (:mod:`detectors.zero_shot`: ``loglik``, ``logrank``,
``entropy``, ``fast_detectgpt``, and ``binoculars`` with a second model sharing the
tokenizer) and supervised logistic regressions (:mod:`detectors.supervised`: ``lr_features``,
``lr_ngrams``) trained on texts outside the study. :func:`score_texts` runs any set of them;
``python -m detectors --texts FILE.jsonl --out FILE`` does it from the shell.

Importing this package does not import torch.
"""

from .run import ALL_DETECTORS, DEFAULT_DETECTORS, TrainingSet, find_observer, score_texts
from .supervised import SUPERVISED
from .zero_shot import PAIRED, ZERO_SHOT, DetectorResult, ScoringSettings

__all__ = [
    "ALL_DETECTORS",
    "DEFAULT_DETECTORS",
    "PAIRED",
    "SUPERVISED",
    "ZERO_SHOT",
    "DetectorResult",
    "ScoringSettings",
    "TrainingSet",
    "find_observer",
    "score_texts",
]
