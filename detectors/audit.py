"""The pre-launch tell audit: can shallow features of the texts as shown tell the kinds apart?

For each condition, a logistic regression on one feature group (see ``detectors.features``)
predicts whether a shown text is human or machine-made. It is cross-validated with folds
grouped by article, so an article's human and machine texts are always in the same fold and
the classifier never scores a text whose partner it was trained on. The out-of-fold scores
give an AUC; a bootstrap over articles, rerunning the cross-validation on each resample,
gives its interval. The features that carry it are
the model's standardised coefficients (fitted on all texts) with each kind's mean.

Form features should sit at chance once presentation parity holds: an interval wholly above
0.5 means judges could tell the kinds by layout or typing, and the study's pages say so and
ask for an acknowledgement before launch. Style features are reported, never gated.

>>> texts = [
...     AuditText("c", f"a{i}", m, ("Long one. " * (3 + 2 * m)).strip())
...     for i in range(6)
...     for m in (False, True)
... ]
>>> audit = run_tell_audit(texts, n_boot=20)
>>> form = audit.conditions[0].groups["form"]
>>> form.auc, form.above_chance, form.carriers[0]
(1.0, True, 'words')
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from detectors.features import FEATURE_GROUPS, feature_matrix

GATED_GROUPS = ("form",)
MIN_ARTICLES = 4  # fewer cannot be split into folds that each hold out whole articles
REGULARISATION_C = 1.0


@dataclass(frozen=True)
class AuditText:
    """One text as judges see it (paragraphs separated by a blank line)."""

    condition: str
    article: str
    is_machine: bool
    text: str


@dataclass(frozen=True)
class FeatureWeight:
    """A feature's standardised coefficient (positive: more typical of machine texts)."""

    name: str
    coefficient: float
    human_mean: float
    machine_mean: float


@dataclass(frozen=True)
class GroupAudit:
    """AUC of one feature group in one condition, its interval and the features behind it."""

    group: str
    auc: float | None
    low: float | None
    high: float | None
    features: tuple[FeatureWeight, ...] = ()  # by |coefficient|, largest first

    @property
    def above_chance(self) -> bool:
        """The whole interval lies above 0.5: the group tells the kinds apart."""
        return self.low is not None and self.low > 0.5

    @property
    def carriers(self) -> tuple[str, ...]:
        """The features that carry the classifier: at least half the largest weight."""
        top = max((abs(f.coefficient) for f in self.features), default=0.0)
        if top <= 0:
            return ()
        return tuple(f.name for f in self.features if abs(f.coefficient) >= top / 2)[:4]


@dataclass(frozen=True)
class ConditionAudit:
    condition: str
    articles: int
    texts: int
    groups: dict[str, GroupAudit]
    note: str = ""  # why the condition could not be audited, if it could not


@dataclass(frozen=True)
class TellAudit:
    """Every condition's audit, and how it was computed."""

    conditions: tuple[ConditionAudit, ...]
    method: dict[str, Any] = field(default_factory=dict)

    def tells(self, group: str = "form") -> list[tuple[str, GroupAudit]]:
        """(condition, group audit) for each condition where ``group`` is above chance."""
        return [
            (c.condition, c.groups[group])
            for c in self.conditions
            if group in c.groups and c.groups[group].above_chance
        ]

    @property
    def gated(self) -> bool:
        """A gated group tells the kinds apart in some condition: launch needs an
        acknowledgement."""
        return any(self.tells(g) for g in GATED_GROUPS)

    @property
    def audited(self) -> bool:
        """Every condition's gated groups have an interval (enough articles, replicates)."""
        return all(c.groups[g].low is not None for c in self.conditions for g in GATED_GROUPS)

    def findings(self) -> list[str]:
        """Plain sentences for the researcher, one per gated tell (empty when none)."""
        out = []
        for group in GATED_GROUPS:
            for condition, g in self.tells(group):
                named = ", ".join(_describe(f) for f in g.features if f.name in g.carriers)
                out.append(
                    f"In condition {condition!r}, {group} features tell human from machine "
                    f"texts: AUC {g.auc:.2f} ({self.method.get('level', 0.95):.0%} interval "
                    f"{g.low:.2f} to {g.high:.2f}, "
                    f"above chance). Carried by {named}. Judges could tell the kinds apart "
                    "without reading the writing."
                )
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "gated": self.gated,
            "audited": self.audited,
            "findings": self.findings(),
            "conditions": [
                {
                    "condition": c.condition,
                    "articles": c.articles,
                    "texts": c.texts,
                    "note": c.note,
                    "groups": {
                        name: {
                            "auc": g.auc,
                            "low": g.low,
                            "high": g.high,
                            "above_chance": g.above_chance,
                            "gated": name in GATED_GROUPS,
                            "carriers": list(g.carriers),
                            "features": [_feature_dict(f, g.carriers) for f in g.features],
                        }
                        for name, g in c.groups.items()
                    },
                }
                for c in self.conditions
            ],
        }


def _feature_dict(f: FeatureWeight, carriers: tuple[str, ...]) -> dict[str, Any]:
    return {
        "name": f.name,
        "coefficient": f.coefficient,
        "human_mean": f.human_mean,
        "machine_mean": f.machine_mean,
        "carrier": f.name in carriers,
    }


def _describe(f: FeatureWeight) -> str:
    return f"{f.name} (human mean {f.human_mean:.3g}, machine mean {f.machine_mean:.3g})"


def _round(x: float) -> float:
    return float(round(x, 6))


def auc_score(labels: np.ndarray, scores: np.ndarray) -> float:
    """Mann-Whitney AUC with ties counted half: P(score of a machine text > a human one).

    >>> auc_score(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8]))
    0.75
    """
    pos, neg = scores[labels == 1], scores[labels == 0]
    greater = (pos[:, None] > neg[None, :]).sum()
    ties = (pos[:, None] == neg[None, :]).sum()
    return float((greater + 0.5 * ties) / (len(pos) * len(neg)))


def _standardise(train: np.ndarray, other: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both arrays scaled by the training rows' mean and spread (constant columns: 0)."""
    mean, sd = train.mean(axis=0), train.std(axis=0)
    sd[sd == 0] = 1.0
    return (train - mean) / sd, (other - mean) / sd


def _classifier():
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=REGULARISATION_C, solver="newton-cholesky", max_iter=200)


def _oof_scores(
    x: np.ndarray, y: np.ndarray, groups: np.ndarray, *, folds: int, repeats: int, seed: int
) -> np.ndarray:
    """Out-of-fold machine probabilities, one row per shuffled split of the articles."""
    from sklearn.model_selection import GroupKFold

    n_splits = min(folds, len(np.unique(groups)))
    scores = np.zeros((repeats, len(y)))
    for r in range(repeats):
        splitter = GroupKFold(n_splits=n_splits, shuffle=True, random_state=seed + r)
        for train, test in splitter.split(x, y, groups):
            x_train, x_test = _standardise(x[train], x[test])
            model = _classifier().fit(x_train, y[train])
            scores[r, test] = model.predict_proba(x_test)[:, 1]
    return scores


def _weights(x: np.ndarray, y: np.ndarray, names: tuple[str, ...]) -> tuple[FeatureWeight, ...]:
    model = _classifier().fit(_standardise(x, x)[0], y)
    weights = [
        FeatureWeight(
            name=name,
            coefficient=_round(coef),
            human_mean=_round(x[y == 0, j].mean()),
            machine_mean=_round(x[y == 1, j].mean()),
        )
        for j, (name, coef) in enumerate(zip(names, model.coef_[0], strict=True))
    ]
    return tuple(sorted(weights, key=lambda f: (-abs(f.coefficient), f.name)))


def _refit_interval(
    x: np.ndarray,
    y: np.ndarray,
    groups: np.ndarray,
    *,
    folds: int,
    n_boot: int,
    level: float,
    rng: np.random.Generator,
) -> tuple[float, float]:
    """Percentile interval of the cross-validated AUC over articles resampled with
    replacement, the whole cross-validation rerun on each resample (copies of an article
    stay in one fold, so no text is scored by a model that saw its copy)."""
    articles = np.unique(groups)
    members = [np.flatnonzero(groups == a) for a in articles]
    aucs = np.empty(n_boot)
    for b in range(n_boot):
        picked = rng.integers(0, len(articles), len(articles))
        while len(np.unique(picked)) < 2:
            picked = rng.integers(0, len(articles), len(articles))
        rows = np.concatenate([members[i] for i in picked])
        seed = int(rng.integers(0, 2**31))
        scores = _oof_scores(x[rows], y[rows], groups[rows], folds=folds, repeats=1, seed=seed)
        aucs[b] = auc_score(y[rows], scores[0])
    tail = (1 - level) / 2
    return float(np.quantile(aucs, tail)), float(np.quantile(aucs, 1 - tail))


def _condition_audit(
    name: str,
    texts: list[AuditText],
    *,
    folds: int,
    repeats: int,
    n_boot: int,
    level: float,
    seed: int,
) -> ConditionAudit:
    # Only articles with both kinds: every fold then holds out matched human-machine pairs.
    kinds: dict[str, set[bool]] = {}
    for t in texts:
        kinds.setdefault(t.article, set()).add(t.is_machine)
    texts = [t for t in texts if kinds[t.article] == {False, True}]
    articles = len({t.article for t in texts})
    if articles < MIN_ARTICLES:
        empty = {g: GroupAudit(g, None, None, None) for g in FEATURE_GROUPS}
        note = f"{articles} article(s) with both kinds; the audit needs {MIN_ARTICLES}"
        return ConditionAudit(name, articles, len(texts), empty, note)
    y = np.array([int(t.is_machine) for t in texts])
    groups = np.array([t.article for t in texts])
    out = {}
    for g, names in FEATURE_GROUPS.items():
        x = np.array(feature_matrix([t.text for t in texts], names), dtype=float)
        scores = _oof_scores(x, y, groups, folds=folds, repeats=repeats, seed=seed)
        auc = float(np.mean([auc_score(y, row) for row in scores]))
        low = high = None
        if n_boot:
            rng = np.random.default_rng([seed, len(out)])
            low, high = (
                _round(v)
                for v in _refit_interval(
                    x, y, groups, folds=folds, n_boot=n_boot, level=level, rng=rng
                )
            )
        out[g] = GroupAudit(g, _round(auc), low, high, _weights(x, y, names))
    return ConditionAudit(name, articles, len(texts), out)


def run_tell_audit(
    texts: Sequence[AuditText],
    *,
    folds: int = 5,
    repeats: int = 3,
    n_boot: int = 100,
    level: float = 0.95,
    seed: int = 0,
) -> TellAudit:
    """Audit every condition of ``texts`` (in order of first appearance).

    Parameters
    ----------
    texts : sequence of AuditText
        The texts exactly as judges see them, human and machine, every condition.
    folds, repeats : int
        Group k-fold by article, repeated with different shuffles; the AUC is the mean of
        the repeats' out-of-fold AUCs.
    n_boot, level : int, float
        Bootstrap replicates and the interval's coverage. Each replicate resamples the
        articles and reruns the whole cross-validation, so the interval carries the
        refitting as well as the sampling of articles (resampling only the out-of-fold
        scores gives intervals that miss chance far too often when nothing differs). 0
        computes no interval, and so gates nothing.
    seed : int
        Seeds the fold shuffles and the bootstrap, so the audit is reproducible.
    """
    if not 0 < level < 1:
        raise ValueError(f"level must lie between 0 and 1, got {level!r}")
    if folds < 2 or repeats < 1 or n_boot < 0:
        raise ValueError(
            f"need folds >= 2, repeats >= 1, n_boot >= 0; got {folds, repeats, n_boot}"
        )
    by_condition: dict[str, list[AuditText]] = {}
    for t in texts:
        by_condition.setdefault(t.condition, []).append(t)
    conditions = tuple(
        _condition_audit(
            name, items, folds=folds, repeats=repeats, n_boot=n_boot, level=level, seed=seed
        )
        for name, items in by_condition.items()
    )
    method = {
        "classifier": "scikit-learn LogisticRegression (L2, C=1) on standardised features",
        "cross_validation": f"{folds}-fold grouped by article, AUC averaged over {repeats} "
        "shuffles",
        "interval": f"{level:.0%} percentile bootstrap over articles, the cross-validation "
        f"rerun on each of {n_boot} replicates"
        if n_boot
        else "none (0 replicates): nothing is gated",
        "groups": {g: list(names) for g, names in FEATURE_GROUPS.items()},
        "gated": list(GATED_GROUPS),
        "seed": seed,
        "level": level,
    }
    return TellAudit(conditions, method)
