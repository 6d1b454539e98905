"""ROC curves and AUC from all five rating levels (ANALYSIS.md row 7).

The rating is the score (5 = very likely machine) and machine texts are the positives, so
AUC = P(rating_machine > rating_human) + P(tie) / 2 = U / (n1 n2), the Mann-Whitney statistic
with ties counted half. "I don't know" answers stay in as the middle level.

In the paired protocol each trial is scored by its signed confidence toward the left text being
human (+confidence if the judge picked left, -confidence if right); the classes are "human on
the left" and "human on the right". The area then estimates the 2AFC detection ability.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

LEVELS = np.arange(1, 6)


def auc_from_counts(positive: np.ndarray, negative: np.ndarray) -> np.ndarray:
    """AUC from counts per ordered level (last axis, lowest score first); broadcasts."""
    positive = np.asarray(positive, dtype=float)
    negative = np.asarray(negative, dtype=float)
    below = np.cumsum(negative, axis=-1) - negative
    num = (positive * (below + 0.5 * negative)).sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return num / (positive.sum(-1) * negative.sum(-1))


def roc_points(positive: np.ndarray, negative: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(false-positive rates, true-positive rates) for thresholds from strictest to none,
    starting at (0, 0) and ending at (1, 1)."""
    positive = np.asarray(positive, dtype=float)
    negative = np.asarray(negative, dtype=float)
    tpr = np.concatenate([[0.0], np.cumsum(positive[::-1]) / positive.sum()])
    fpr = np.concatenate([[0.0], np.cumsum(negative[::-1]) / negative.sum()])
    return fpr, tpr


@dataclass
class RocResult:
    table: pd.DataFrame  # condition, auc, n_machine, n_human, counts per level
    curves: dict[str, dict[str, list[float]]]  # condition -> {"fpr": [...], "tpr": [...]}
    score: str


def _scores(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
    if frame["paired"].any():
        signed = np.where(frame["choice"].to_numpy() == "left", 1, -1) * np.nan_to_num(
            frame["confidence"].to_numpy(dtype=float), nan=1.0
        )
        levels = np.concatenate([-LEVELS[::-1], LEVELS])
        positive = frame["human_side"].to_numpy() == "left"
        return signed, positive, levels, "signed confidence that the left text is human"
    return (
        frame["rating"].to_numpy(dtype=float),
        frame["is_machine"].to_numpy() == 1,
        LEVELS,
        "rating (5 = very likely machine); positives are machine texts",
    )


def roc_analysis(frame: pd.DataFrame, order: list[str] | None = None) -> RocResult:
    """Per-condition ROC curve and AUC from scored judgments (all answers, neutral included)."""
    score, positive, levels, label = _scores(frame)
    rows = []
    curves = {}
    conditions = order or list(pd.unique(frame["condition"]))
    cond = frame["condition"].to_numpy()
    for name in conditions:
        m = cond == name
        if not m.any():
            continue
        pos = np.array([(score[m & positive] == lv).sum() for lv in levels], dtype=float)
        neg = np.array([(score[m & ~positive] == lv).sum() for lv in levels], dtype=float)
        auc = float(auc_from_counts(pos, neg))
        fpr, tpr = roc_points(pos, neg)
        curves[name] = {"fpr": fpr.tolist(), "tpr": tpr.tolist()}
        row = {
            "condition": name,
            "auc": auc,
            "n_positive": int(pos.sum()),
            "n_negative": int(neg.sum()),
        }
        for lv, a, b in zip(levels, pos, neg, strict=True):
            row[f"pos_{lv}"] = int(a)
            row[f"neg_{lv}"] = int(b)
        rows.append(row)
    return RocResult(table=pd.DataFrame(rows), curves=curves, score=label)
