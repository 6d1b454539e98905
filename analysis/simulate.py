"""Synthetic studies with known truth, in the ``responses.csv`` format.

Used by the tests (does the analysis recover the truth?), the benchmark and the power planner.
The generating model is the one the mixed model assumes: for judge j and article a in condition
k, P(correct | not "I don't know") = expit(mu_k + u_j + v_a) with u_j ~ N(0, sd_judge) and
v_a ~ N(0, sd_article). The design is the paper's: two counterbalanced lists over the same
articles, every judge rates every article once (human version in one list, machine in the other).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import expit, logit


@dataclass(frozen=True)
class SimCondition:
    name: str
    params: float | None
    accuracy: float  # conditional accuracy of a typical judge on a typical article: expit(mu)
    is_control: bool = False


PAPER_CONDITIONS: tuple[SimCondition, ...] = (
    SimCondition("control", None, 0.86, True),
    SimCondition("gpt3-125m", 125e6, 0.76),
    SimCondition("gpt3-350m", 350e6, 0.61),
    SimCondition("gpt3-760m", 760e6, 0.68),
    SimCondition("gpt3-1.3b", 1.3e9, 0.62),
    SimCondition("gpt3-2.7b", 2.7e9, 0.62),
    SimCondition("gpt3-6.7b", 6.7e9, 0.60),
    SimCondition("gpt3-13b", 13e9, 0.55),
    SimCondition("gpt3-175b", 175e9, 0.52),
)


def marginal_accuracy(accuracy: float, sd_judge: float, sd_article: float, n: int = 40) -> float:
    """E[expit(logit(accuracy) + u + v)] over both random effects (Gauss-Hermite quadrature)."""
    x, w = np.polynomial.hermite_e.hermegauss(n)
    w = w / w.sum()
    mu = logit(accuracy)
    grid = mu + sd_judge * x[:, None] + sd_article * x[None, :]
    return float((w[:, None] * w[None, :] * expit(grid)).sum())


def simulate_responses(
    conditions: Sequence[SimCondition] = PAPER_CONDITIONS,
    *,
    judges_per_condition: int = 80,
    n_articles: int = 25,
    sd_judge: float = 0.5,
    sd_article: float = 0.5,
    neutral_rate: float = 0.06,
    paired: bool = False,
    simulated_flag: bool = True,
    seed: int = 0,
) -> pd.DataFrame:
    """Simulate a study; returns a responses frame (the export's columns, typed)."""
    rng = np.random.default_rng(seed)
    article_effect = rng.normal(0.0, sd_article, n_articles)
    frames = [
        _simulate_condition(
            rng,
            cond,
            article_effect,
            n_judges=judges_per_condition,
            sd_judge=sd_judge,
            neutral_rate=neutral_rate,
            paired=paired,
            simulated_flag=simulated_flag,
        )
        for cond in conditions
    ]
    return pd.concat(frames, ignore_index=True)


def _simulate_condition(
    rng: np.random.Generator,
    cond: SimCondition,
    article_effect: np.ndarray,
    *,
    n_judges: int,
    sd_judge: float,
    neutral_rate: float,
    paired: bool,
    simulated_flag: bool,
) -> pd.DataFrame:
    """One condition's judges, each judging every article once in a random order."""
    n_j, n_articles = n_judges, len(article_effect)
    judge_effect = rng.normal(0.0, sd_judge, n_j)
    lists = np.where(np.arange(n_j) % 2 == 0, "A", "B")
    j_idx = np.repeat(np.arange(n_j), n_articles)
    a_idx = np.tile(np.arange(n_articles), n_j)
    # Article a is the machine version in list A when a is even, in list B when odd.
    is_machine = ((a_idx % 2 == 0) == (lists[j_idx] == "A")).astype(int)
    p = expit(logit(cond.accuracy) + judge_effect[j_idx] + article_effect[a_idx])
    correct, very, neutral, rating = _answers(rng, p, is_machine, neutral_rate)
    position = _positions(rng, n_j, n_articles)
    words = rng.integers(150, 260, len(p))
    time_ms = _times(rng, cond, j_idx, n_j)
    judges = np.array([f"{cond.name}-j{j:03d}" for j in range(n_j)], dtype=object)
    frame = pd.DataFrame(
        {
            "study": "sim",
            "condition": cond.name,
            "params": "" if cond.params is None else int(cond.params),
            "judge": judges[j_idx],
            "list": lists[j_idx],
            "article": np.array([f"a{a:02d}" for a in range(n_articles)], dtype=object)[a_idx],
            "item": [
                f"{cond.name}/a{a:02d}/{'m' if m else 'h'}"
                for a, m in zip(a_idx, is_machine, strict=True)
            ],
            "is_machine": is_machine,
            "rating": np.where(neutral, 3, rating).astype(float),
            "choice": "",
            "confidence": np.nan,
            "correct": np.where(neutral, np.nan, correct.astype(float)),
            "position": position,
            "server_ms": time_ms + 150,
            "visible_ms": time_ms,
            "excluded": 0,
            "exclusion_reason": "",
            "is_control": int(cond.is_control),
            "protocol": "paired" if paired else "rating",
            "human_side": "",
            "words_shown": words,
            "is_attention": 0,
            "is_practice": 0,
            "simulated": int(simulated_flag),
        }
    )
    if paired:
        _make_paired(rng, frame, cond, correct, very, a_idx)
    return frame


def _answers(
    rng: np.random.Generator, p: np.ndarray, is_machine: np.ndarray, neutral_rate: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Correct with probability p, "very" sure more often when correct, "I don't know" at
    ``neutral_rate``; the 1-5 rating that says so (before neutral answers become 3)."""
    correct = rng.random(len(p)) < p
    very = rng.random(len(p)) < np.where(correct, 0.6, 0.4)
    neutral = rng.random(len(p)) < neutral_rate
    says_machine = np.where(is_machine == 1, correct, ~correct)
    rating = np.where(says_machine, np.where(very, 5, 4), np.where(very, 1, 2))
    return correct, very, neutral, rating


def _positions(rng: np.random.Generator, n_j: int, n_articles: int) -> np.ndarray:
    """Each judge's articles in a random order: position 1..n_articles per judgment."""
    order = np.argsort(rng.random((n_j, n_articles)), axis=1)
    position = np.empty((n_j, n_articles), dtype=int)
    np.put_along_axis(position, order, np.arange(1, n_articles + 1)[None, :], axis=1)
    return position.ravel()


def _times(rng: np.random.Generator, cond: SimCondition, j_idx: np.ndarray, n_j: int) -> np.ndarray:
    """Visible ms per judgment: log-normal around 30 s, a little longer for larger models,
    with a per-judge speed."""
    size = np.log10(cond.params) if cond.params else 8.0
    log_t = np.log(30_000) + 0.08 * (size - 8) + rng.normal(0, 0.3, n_j)[j_idx]
    return np.round(np.exp(log_t + rng.normal(0, 0.4, len(j_idx))))


def _make_paired(
    rng: np.random.Generator,
    frame: pd.DataFrame,
    cond: SimCondition,
    correct: np.ndarray,
    very: np.ndarray,
    a_idx: np.ndarray,
) -> None:
    """Turn rating rows into paired trials: a side for the human text, a choice, a confidence."""
    n = len(frame)
    human_side = np.where(rng.random(n) < 0.5, "left", "right")
    other = np.where(human_side == "left", "right", "left")
    frame["human_side"] = human_side
    frame["choice"] = np.where(correct, human_side, other)
    frame["confidence"] = np.where(very, 5, rng.integers(1, 5, n)).astype(float)
    frame["rating"] = np.nan
    frame["is_machine"] = np.nan
    frame["correct"] = correct.astype(float)
    frame["item"] = [f"{cond.name}/a{a:02d}/pair" for a in a_idx]
