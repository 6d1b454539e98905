"""The result object of :func:`analysis.analyze` and its JSON form (``results.json``).

Every row of ANALYSIS.md is one top-level key of ``to_dict()``:

==  ==========================  ====================
 1  exclusion flow              ``exclusions``
 2  the paper's table           ``paper_table``
 3  each condition vs control   ``vs_control``
 4  mixed model (+sensitivity)  ``mixed_model``
 5  d' and c                    ``sdt``
 6  TOST vs chance              ``equivalence``
 7  ROC / AUC                   ``roc``
 8  two-way bootstrap           ``bootstrap``
 9  accuracy vs size fits       ``fits``
10  per-article difficulty      ``difficulty``
11  response time               ``timing``
12  calibration                 ``calibration``
13  position / fatigue          ``position``
14  agreement                   ``agreement``
15  power planning              ``power``
16  study record                ``study_record``
==  ==========================  ====================
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

SECTIONS: tuple[str, ...] = (
    "exclusions",
    "paper_table",
    "vs_control",
    "mixed_model",
    "sdt",
    "equivalence",
    "roc",
    "bootstrap",
    "fits",
    "difficulty",
    "timing",
    "calibration",
    "position",
    "agreement",
    "power",
    "study_record",
)


def dataclass_dict(value: Any) -> dict[str, Any]:
    """A dataclass's fields as JSON-ready values (for ``to_dict`` methods)."""
    return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}


def jsonable(value: Any) -> Any:
    """Plain JSON types; NaN and infinities become null."""
    if isinstance(value, pd.DataFrame):
        return [jsonable(r) for r in value.to_dict(orient="records")]
    if isinstance(value, pd.Series):
        return jsonable(value.to_dict())
    if callable(getattr(value, "to_dict", None)) and not isinstance(value, type):
        return jsonable(value.to_dict())  # a section object's own JSON form
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclass_dict(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating | float):
        f = float(value)
        return f if math.isfinite(f) else None
    if value is None or isinstance(value, str | int):
        return value
    if value is pd.NA or value is pd.NaT:
        return None
    return str(value)


@dataclass
class Results:
    """Everything one analysis produced, for one population of judges (real or simulated)."""

    population: str  # "real" or "simulated"
    protocol: str  # "rating" or "paired"
    conditions: list[str]
    control: str | None
    sections: dict[str, Any]
    warnings: list[str] = field(default_factory=list)
    simulated: Results | None = None  # simulated judges, analysed separately, if mixed with real
    errors: dict[str, str] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Any:
        return self.sections[name]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "population": self.population,
            "all_judges_simulated": self.population == "simulated",
            "protocol": self.protocol,
            "conditions": self.conditions,
            "control": self.control,
            "warnings": self.warnings,
            "errors": self.errors,
        }
        for name in SECTIONS:
            out[name] = jsonable(self.sections.get(name))
        # Sections beyond the original sixteen (paired, and any added to
        # analysis.sections.SECTIONS) follow in the order they were built.
        for name, value in self.sections.items():
            if name not in SECTIONS:
                out[name] = jsonable(value)
        out["simulated_judges"] = self.simulated.to_dict() if self.simulated else None
        return out

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)
