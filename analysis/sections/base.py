"""What every section shares: the :class:`Context` a builder reads, and :class:`Section`."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from analysis.bootstrap import two_way_bootstrap
from analysis.exclusions import AnalysisSettings, ExclusionFlow
from analysis.htmlparts import p, section
from analysis.mixed import fit_mixed
from analysis.table import paper_table, per_judge_accuracy

FAILURES = (ValueError, np.linalg.LinAlgError, RuntimeError, KeyError, IndexError)


@dataclass
class Context:
    """Everything a section builder may read; ``sections`` holds the data built so far."""

    prepared: pd.DataFrame
    judges: pd.DataFrame | None
    population: str
    settings: AnalysisSettings
    flow: ExclusionFlow
    order: list[str]
    control: str | None
    paired: bool
    seed: int
    n_boot: int
    power_sims: int
    study: dict[str, Any] | None
    data_hash: str
    input_rows: int
    errors: dict[str, str]
    warnings: list[str]
    sections: dict[str, Any]
    detector_scores: pd.DataFrame | None = None  # detector_scores.csv, when exported

    @property
    def kept(self) -> pd.DataFrame:
        return self.flow.kept

    @property
    def alpha(self) -> float:
        return self.settings.alpha

    @cached_property
    def table(self):
        return paper_table(self.kept, control=self.control, alpha=self.alpha, order=self.order)

    @cached_property
    def per_judge(self) -> pd.DataFrame:
        return per_judge_accuracy(self.kept)

    @cached_property
    def boot(self):
        return two_way_bootstrap(
            self.kept,
            n_boot=self.n_boot,
            seed=self.seed,
            alpha=self.alpha,
            order=self.order,
            control=self.control,
        )

    @cached_property
    def mixed(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        outcomes = ("primary",) if self.paired else ("primary", "all_answers", "half_credit")
        for outcome in outcomes:
            try:
                fit = fit_mixed(
                    self.kept,
                    outcome=outcome,
                    order=self.order,
                    reference=self.control,
                    alpha=self.alpha,
                )
            except FAILURES as exc:
                self.errors[f"mixed_model.{outcome}"] = f"{type(exc).__name__}: {exc}"
                continue
            out[outcome] = fit
            self.warnings.extend(f"Mixed model ({outcome}): {w}" for w in fit.warnings)
        return out


@dataclass(frozen=True)
class Section:
    """One entry of the report: ``build(ctx)`` returns None or an object with ``to_dict()``
    (its results.json entry) and ``html()``, or ``html(figure)`` when ``figure`` names one of
    the report's figures (``analysis.report``) for it to show."""

    key: str
    title: str
    build: Callable[[Context], Any]
    figure: str = ""
    findings: Callable[[Any, Any], list[str]] | None = None
    needs_data: bool = True  # False: built even when no scored judgment remains
    anchor: str = ""

    def render(self, data: Any, res: Any, figures: dict) -> str:
        if data is None:
            why = res.errors.get(self.key, "")
            if not why:
                return ""
            return section(self.title, p(f"Not estimable: {why}", "note"), anchor=self.anchor)
        if self.figure:
            return data.html(figures.get(self.figure))
        return data.html()


def extend(cls: type, result: Any, **changes: Any) -> Any:
    """A result dataclass as its section subclass ``cls`` (which adds ``html``), field for
    field, with ``changes`` applied."""
    values = {f.name: getattr(result, f.name) for f in dataclasses.fields(result)}
    return cls(**{**values, **changes})
