"""Training-data contamination warnings: articles dated before a model's training cutoff."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class ContaminationReport:
    """Per-article warnings and counts for one model.

    ``warnings`` maps article key to a message, for every article that predates the cutoff
    (``status`` ``"predates_cutoff"``) or whose date or cutoff is unknown (``"unknown"``).
    """

    model_cutoff: dt.date | None
    status: dict[str, str]
    warnings: dict[str, str]
    n_predates: int
    n_unknown: int
    n_clear: int

    @property
    def summary(self) -> str:
        total = self.n_predates + self.n_unknown + self.n_clear
        cutoff = self.model_cutoff.isoformat() if self.model_cutoff else "unknown"
        return (
            f"{total} articles, training cutoff {cutoff}: {self.n_predates} dated before the "
            f"cutoff (possibly in the training data), {self.n_unknown} unknown, "
            f"{self.n_clear} after the cutoff"
        )


def _as_date(value: dt.date | str | None) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def contamination_warnings(
    article_dates: Mapping[str, dt.date | str | None], cutoff: dt.date | str | None
) -> ContaminationReport:
    """Classify each article against a model's training-data cutoff.

    An article dated on or before the cutoff may be in the training data; a missing date (or a
    missing cutoff) is unknown, never assumed safe.

    >>> r = contamination_warnings({"a": "2019-01-04", "b": None, "c": "2025-01-01"}, "2024-08-01")
    >>> r.status
    {'a': 'predates_cutoff', 'b': 'unknown', 'c': 'clear'}
    """
    limit = _as_date(cutoff)
    status: dict[str, str] = {}
    warnings: dict[str, str] = {}
    for key, raw in article_dates.items():
        date = _as_date(raw)
        if limit is None:
            status[key] = "unknown"
            warnings[key] = "model training cutoff unknown"
        elif date is None:
            status[key] = "unknown"
            warnings[key] = "article date unknown"
        elif date <= limit:
            status[key] = "predates_cutoff"
            warnings[key] = (
                f"article dated {date.isoformat()} is not after the model's training cutoff "
                f"{limit.isoformat()}"
            )
        else:
            status[key] = "clear"
    values = list(status.values())
    return ContaminationReport(
        model_cutoff=limit,
        status=status,
        warnings=warnings,
        n_predates=values.count("predates_cutoff"),
        n_unknown=values.count("unknown"),
        n_clear=values.count("clear"),
    )
