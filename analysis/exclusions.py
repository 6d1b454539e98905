"""The exclusion flow (ANALYSIS.md row 1): pre-declared rules applied in a fixed order.

Each rule removes what the earlier rules left, so every excluded judgment is counted once, under
the first rule that applies. A rule applies to a row when the analysis finds it from the data
(attention rows, judges.csv closing answers, response times and word counts) or when the
platform recorded it in ``exclusion_reason`` (the export writes one "; "-separated reason list
per row). Order:

1. incomplete or withdrawn judge (judges.csv ``status`` not completed, or reason "incomplete")
2. failed attention check (more than ``max_attention_failures`` failed attention rows)
3. looked things up (closing answer ``looked_up``), if the design excludes it
4. had seen articles before (closing answer ``seen_before``), if the design excludes it
5. duplicate judgment (same judge and item again; the first shown is kept)
6. too fast for the word count (shown time < ``min_ms_per_word`` x words), if set
7. other recorded exclusion (any other flag in responses.csv or judges.csv)

Attention and practice rows are never scored; they are dropped after the flow and counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

_TRUE = {"1", "true", "t", "yes", "y", "on"}
RULES = (
    "incomplete or withdrawn",
    "failed attention check",
    "looked things up",
    "had seen articles before",
    "duplicate judgment",
    "too fast for the word count",
    "other recorded exclusion",
)
_REASON_PREFIX = {
    "incomplete": RULES[0],
    "withdrawn": RULES[0],
    "failed attention": RULES[1],
    "looked things up": RULES[2],
    "had seen articles before": RULES[3],
    "duplicate judgment": RULES[4],
    "too fast": RULES[5],
}
_JUDGE_LEVEL = frozenset(RULES[:4])  # rules that remove a judge whole
_LOOKED_UP = ("looked_up", "closing_looked_up")
_SEEN_BEFORE = ("seen_before", "closing_seen_before")


@dataclass(frozen=True)
class AnalysisSettings:
    """Settings fixed in the study design before launch (``study.json`` ``spec.analysis``)."""

    alpha: float = 0.05
    equivalence_margin: float = 0.05
    min_ms_per_word: float | None = None
    max_attention_failures: int = 0
    exclude_failed_attention: bool = True
    exclude_looked_up: bool = True
    exclude_seen_before: bool = False
    drop_duplicates: bool = True

    @classmethod
    def from_study(cls, study: dict[str, Any] | None) -> AnalysisSettings:
        """Read settings from ``study["spec"]["analysis"]`` (or ``study["analysis"]``)."""
        if not study:
            return cls()
        spec = study.get("spec") or {}
        section: dict[str, Any] = {}
        for source in (study.get("analysis"), spec.get("analysis")):
            if isinstance(source, dict):
                section.update(source)
        kwargs: dict[str, Any] = {}
        for name, kind in (
            ("alpha", float),
            ("equivalence_margin", float),
            ("min_ms_per_word", float),
            ("max_attention_failures", int),
            ("exclude_failed_attention", bool),
            ("exclude_looked_up", bool),
            ("exclude_seen_before", bool),
            ("drop_duplicates", bool),
        ):
            if section.get(name) is not None:
                try:
                    kwargs[name] = kind(section[name])
                except (TypeError, ValueError) as exc:
                    raise ValueError(f"study.json analysis setting {name!r}: {exc}") from None
        if kwargs.get("min_ms_per_word") == 0:
            kwargs["min_ms_per_word"] = None  # 0 means "no speed rule" in the spec
        settings = cls(**kwargs)
        if not 0 < settings.alpha < 1:
            raise ValueError(
                f"study.json analysis setting 'alpha' must be in (0, 1): {settings.alpha}"
            )
        if not 0 < settings.equivalence_margin < 0.5:
            raise ValueError("study.json analysis setting 'equivalence_margin' must be in (0, 0.5)")
        return settings


@dataclass
class ExclusionFlow:
    """Per-condition flow table and the judgments that remain to be scored."""

    flow: pd.DataFrame  # condition, step, rule, judges, judgments, judges_removed, ...
    kept: pd.DataFrame  # scored judgments after all rules (no attention/practice rows)
    excluded_judges: pd.DataFrame  # judge, condition, rule
    settings: AnalysisSettings = field(default_factory=AnalysisSettings)
    not_applied: list[str] = field(default_factory=list)


def _truthy(series: pd.Series) -> np.ndarray:
    return series.astype("string").fillna("").str.strip().str.lower().isin(_TRUE).to_numpy()


def _reason_rules(reasons: np.ndarray) -> dict[str, np.ndarray]:
    """Which rules the platform's recorded reasons name, per row ("; "-separated reasons, each
    matched by its start, so "platform: duplicate worker" is not a duplicate judgment)."""
    out = {rule: np.zeros(len(reasons), dtype=bool) for rule in RULES}
    codes, uniques = pd.factorize(pd.Series(reasons, dtype="string").fillna("").str.lower())
    for k, text in enumerate(uniques):
        parts = [p.strip() for p in str(text).split(";")]
        for prefix, rule in _REASON_PREFIX.items():
            if any(p.startswith(prefix) for p in parts):
                out[rule] |= codes == k
    return out


def _judge_flag(judges: pd.DataFrame | None, names: tuple[str, ...]) -> set[str] | None:
    if judges is None:
        return None
    for name in names:
        if name in judges.columns:
            return set(judges.loc[_truthy(judges[name]), "judge"].astype(str))
    return None


def apply_exclusions(
    prepared: pd.DataFrame,
    judges: pd.DataFrame | None = None,
    settings: AnalysisSettings | None = None,
) -> ExclusionFlow:
    """Apply the pre-declared exclusion rules to a prepared frame (see module docstring)."""
    settings = settings or AnalysisSettings()
    frame = prepared
    scored = ~(frame["is_attention"] | frame["is_practice"]).to_numpy()
    not_applied: list[str] = []
    hits = _rule_hits(frame, judges, settings, scored, not_applied)
    steps, excluded_judges = _apply_in_order(frame, hits)
    keep = steps[-1][1]
    return ExclusionFlow(
        flow=_flow_table(frame, scored, steps),
        kept=frame.loc[keep & scored].copy(),
        excluded_judges=pd.DataFrame(excluded_judges, columns=["judge", "condition", "rule"]),
        settings=settings,
        not_applied=not_applied,
    )


def _rule_hits(
    frame: pd.DataFrame,
    judges: pd.DataFrame | None,
    settings: AnalysisSettings,
    scored: np.ndarray,
    not_applied: list[str],
) -> dict[str, np.ndarray]:
    """The rows each rule names, before the order is applied; appends what could not apply."""
    judge_ids = frame["judge"].to_numpy()
    recorded = _reason_rules(frame["exclusion_reason"].to_numpy())
    flagged_row = frame["excluded"].to_numpy()

    def by_judge(ids: set[str] | None) -> np.ndarray:
        return np.isin(judge_ids, list(ids)) if ids else np.zeros(len(frame), dtype=bool)

    found = {
        RULES[0]: by_judge(_incomplete_judges(judges)),
        RULES[1]: by_judge(_failed_attention_judges(frame, judges, settings, not_applied)),
        RULES[2]: by_judge(
            _closing_answer_judges(
                judges, RULES[2], settings.exclude_looked_up, _LOOKED_UP, not_applied
            )
        ),
        RULES[3]: by_judge(
            _closing_answer_judges(
                judges, RULES[3], settings.exclude_seen_before, _SEEN_BEFORE, not_applied
            )
        ),
        RULES[4]: _duplicates(frame, scored, settings),
        RULES[5]: _too_fast(frame, scored, settings, not_applied) & scored,
    }
    hits = {rule: found[rule] | (recorded[rule] & flagged_row) for rule in RULES[:6]}
    # 7. anything else the platform flagged
    judge_flagged = by_judge(_judge_flag(judges, ("excluded",)))
    named = np.zeros(len(frame), dtype=bool)
    for rule in RULES[:6]:
        named |= hits[rule]
    hits[RULES[6]] = (flagged_row | judge_flagged) & ~named
    return hits


def _incomplete_judges(judges: pd.DataFrame | None) -> set[str] | None:
    """1. Judges whose judges.csv status is set and is not "completed"."""
    if judges is None or "status" not in judges.columns:
        return None
    status = judges["status"].astype("string").fillna("").str.strip().str.lower()
    return set(judges.loc[(status != "completed") & (status != "").to_numpy(), "judge"].astype(str))


def _failed_attention_judges(
    frame: pd.DataFrame,
    judges: pd.DataFrame | None,
    settings: AnalysisSettings,
    not_applied: list[str],
) -> set[str]:
    """2. Judges with more failed attention checks than allowed (rows, else judges.csv)."""
    if not settings.exclude_failed_attention:
        not_applied.append("failed attention check: off in the design")
        return set()
    attention = frame["is_attention"].to_numpy()
    if attention.any():
        failed = attention & (frame["correct"].to_numpy() == 0)
        counts = pd.Series(failed).groupby(frame["judge"].to_numpy()).sum()
        return set(counts.index[counts > settings.max_attention_failures])
    if judges is not None and "attention_failures" in judges.columns:
        fails = pd.to_numeric(judges["attention_failures"], errors="coerce").fillna(0)
        return set(judges.loc[fails > settings.max_attention_failures, "judge"])
    not_applied.append("failed attention check: no attention rows")
    return set()


def _closing_answer_judges(
    judges: pd.DataFrame | None,
    rule: str,
    on: bool,
    names: tuple[str, ...],
    not_applied: list[str],
) -> set[str] | None:
    """3-4. Judges who gave a closing answer the design excludes."""
    if not on:
        not_applied.append(f"{rule}: off in the design")
        return None
    ids = _judge_flag(judges, names)
    if ids is None:
        not_applied.append(f"{rule}: no such closing answer in judges.csv")
    return ids


def _duplicates(frame: pd.DataFrame, scored: np.ndarray, settings: AnalysisSettings) -> np.ndarray:
    """5. The same judge judging the same item again; the first shown is kept."""
    dup = np.zeros(len(frame), dtype=bool)
    if settings.drop_duplicates:
        order = np.lexsort((frame["position"].to_numpy(), frame["judge"].to_numpy()))
        sub = frame.iloc[order]
        dup[order] = sub.duplicated(["judge", "item"], keep="first").to_numpy() & scored[order]
    return dup


def _too_fast(
    frame: pd.DataFrame, scored: np.ndarray, settings: AnalysisSettings, not_applied: list[str]
) -> np.ndarray:
    """6. Shown for less than ``min_ms_per_word`` per word shown."""
    if settings.min_ms_per_word is None:
        not_applied.append("too fast: min_ms_per_word not set in the design")
        return np.zeros(len(frame), dtype=bool)
    words = frame["words_shown"].to_numpy()
    if np.isnan(words[scored]).all():
        not_applied.append("too fast: no words_shown column")
    # The platform's rule uses server-side time (what it flags at export), so do we.
    ms = frame["server_ms"].to_numpy() if "server_ms" in frame else frame["time_ms"].to_numpy()
    ms = np.where(np.isnan(ms), frame["time_ms"].to_numpy(), ms)
    return ~np.isnan(words) & (ms < settings.min_ms_per_word * words)


def _apply_in_order(
    frame: pd.DataFrame, hits: dict[str, np.ndarray]
) -> tuple[list[tuple[str, np.ndarray]], list[dict[str, Any]]]:
    """Each rule removes what the earlier ones left: the rows kept after each step, and the
    judges removed whole by a judge-level rule (under the first rule that names them)."""
    judge_ids = frame["judge"].to_numpy()
    keep = np.ones(len(frame), dtype=bool)
    steps: list[tuple[str, np.ndarray]] = [("recorded", keep.copy())]
    excluded_judges = []
    condition_of = frame.groupby("judge", sort=False)["condition"].first()
    for rule in RULES:
        newly = keep & hits[rule]
        if rule in _JUDGE_LEVEL:
            for j in pd.unique(judge_ids[newly]):
                excluded_judges.append({"judge": j, "condition": condition_of[j], "rule": rule})
        keep = keep & ~hits[rule]
        steps.append((rule, keep.copy()))
    return steps, excluded_judges


def _flow_table(
    frame: pd.DataFrame, scored: np.ndarray, steps: list[tuple[str, np.ndarray]]
) -> pd.DataFrame:
    """Per condition and step: judges and scored judgments remaining, and removed by the step."""
    judge_ids = frame["judge"].to_numpy()
    conditions = frame["condition"].to_numpy()
    rows = []
    for cond in pd.unique(conditions[scored]):
        in_cond = (conditions == cond) & scored
        prev_j = prev_n = None
        for step, (rule, mask) in enumerate(steps):
            live = mask & in_cond
            n_j = len(pd.unique(judge_ids[live]))
            k = int(live.sum())
            rows.append(
                {
                    "condition": cond,
                    "step": step,
                    "rule": rule,
                    "judges": n_j,
                    "judgments": k,
                    "judges_removed": 0 if prev_j is None else prev_j - n_j,
                    "judgments_removed": 0 if prev_n is None else prev_n - k,
                }
            )
            prev_j, prev_n = n_j, k
    return pd.DataFrame(rows)
