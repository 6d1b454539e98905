"""``analyze``: every output of ANALYSIS.md from one responses frame."""

from __future__ import annotations

import hashlib
import importlib.metadata
import platform
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.data import condition_order, control_condition, load_export, prepare_responses
from analysis.exclusions import AnalysisSettings, apply_exclusions
from analysis.results import Results
from analysis.sections import FAILURES, SECTIONS, Context

_PACKAGES = ("numpy", "scipy", "pandas", "statsmodels", "matplotlib", "krippendorff")


def software_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def _truthy(series: pd.Series) -> np.ndarray:
    return (
        series.astype("string")
        .fillna("")
        .str.strip()
        .str.lower()
        .isin({"1", "true", "t", "yes", "y"})
        .to_numpy()
    )


def _data_hash(frame: pd.DataFrame) -> str:
    digest = hashlib.sha256(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def analyze(
    responses: pd.DataFrame,
    judges: pd.DataFrame | None = None,
    study: dict[str, Any] | None = None,
    *,
    seed: int = 0,
    n_boot: int = 2000,
    power_sims: int = 200,
    detector_scores: pd.DataFrame | None = None,
) -> Results:
    """Run the whole analysis.

    Parameters
    ----------
    responses : DataFrame
        Rows of ``responses.csv`` (text or typed columns).
    judges : DataFrame, optional
        Rows of ``judges.csv`` (``judge``, ``excluded``, ``looked_up``, ``simulated``, ...).
    study : dict, optional
        ``study.json``; its ``spec.analysis`` section sets alpha, the equivalence margin and the
        exclusion rules (see :class:`analysis.exclusions.AnalysisSettings`).
    seed, n_boot : int
        Seed of the numpy Generator and replicates of the two-way bootstrap.

    Real and simulated judges are never pooled: if both are present the returned object holds
    the real judges and ``.simulated`` holds a separate analysis of the simulated ones; if all
    are simulated the result says so (``population == "simulated"``).
    """
    prepared = prepare_responses(responses)
    settings = AnalysisSettings.from_study(study)
    simulated = prepared["simulated"].to_numpy().copy()
    if judges is not None and "simulated" in judges.columns:
        sim_ids = set(judges.loc[_truthy(judges["simulated"]), "judge"].astype(str))
        simulated |= prepared["judge"].isin(sim_ids).to_numpy()
    # A judge is simulated if any of their rows says so, so no judge is split across populations.
    sim_judges = set(prepared.loc[simulated, "judge"])
    simulated = prepared["judge"].isin(sim_judges).to_numpy()
    context = {
        "study": study,
        "settings": settings,
        "seed": seed,
        "n_boot": n_boot,
        "power_sims": power_sims,
        "data_hash": _data_hash(prepared),
        "input_rows": len(prepared),
        "detector_scores": detector_scores,
    }
    if simulated.all():
        res = _analyze_population(prepared, judges, "simulated", context)
        res.warnings.insert(
            0, "ALL JUDGES ARE SIMULATED: these numbers describe simulated judges, not people."
        )
        return res
    res = _analyze_population(prepared.loc[~simulated], judges, "real", context)
    if simulated.any():
        res.simulated = _analyze_population(prepared.loc[simulated], judges, "simulated", context)
        res.warnings.append(
            f"{len(sim_judges)} simulated judges were analysed separately "
            "(section 'simulated_judges') and are not in these numbers."
        )
    return res


def _analyze_population(
    prepared: pd.DataFrame, judges: pd.DataFrame | None, population: str, ctx: dict[str, Any]
) -> Results:
    """Build every entry of :data:`analysis.sections.SECTIONS` in turn.

    A section that fails is recorded in ``errors`` (the report says "not estimable" and why)
    and the others go on; when exclusions leave nothing to score, only the exclusion flow and
    the study record are built, so the report still shows where the judges went.
    """
    settings: AnalysisSettings = ctx["settings"]
    flow = apply_exclusions(prepared, judges, settings)
    kept = flow.kept
    scored_order = condition_order(kept) if len(kept) else condition_order(prepared)
    context = Context(
        prepared=prepared,
        judges=judges,
        population=population,
        settings=settings,
        flow=flow,
        order=scored_order,
        control=control_condition(kept) if len(kept) else control_condition(prepared),
        paired=bool(kept["paired"].any()) if len(kept) else bool(prepared["paired"].any()),
        seed=ctx["seed"],
        n_boot=ctx["n_boot"],
        power_sims=ctx["power_sims"],
        study=ctx["study"],
        data_hash=ctx["data_hash"],
        input_rows=ctx["input_rows"],
        detector_scores=ctx["detector_scores"],
        errors={},
        warnings=[],
        sections={},
    )
    if kept.empty:
        context.warnings.append(
            f"No scored {population} judgments remain after exclusions: only the exclusion "
            "flow and the study record are reported."
        )
    _build_sections(context)
    return Results(
        population=population,
        protocol="paired" if context.paired else "rating",
        conditions=scored_order,
        control=context.control,
        sections=context.sections,
        warnings=context.warnings,
        errors=context.errors,
    )


def _build_sections(context: Context) -> None:
    """Every entry of SECTIONS into ``context.sections``, failures into ``context.errors``."""
    empty = context.kept.empty
    for sec in SECTIONS:
        if empty and sec.needs_data:
            context.sections[sec.key] = None
            context.errors[sec.key] = "no scored judgments remain after exclusions"
            continue
        try:
            context.sections[sec.key] = sec.build(context)
        except FAILURES as exc:
            context.sections[sec.key] = None
            context.errors[sec.key] = f"{type(exc).__name__}: {exc}"
    if context.sections.get("detection") is None and "detection" not in context.errors:
        context.sections.pop("detection", None)  # no detector scores supplied
    if not context.paired and context.sections.get("paired") is None:
        context.sections.pop("paired", None)
        context.errors.pop("paired", None)


def analyze_path(
    path: str | Path, out_dir: str | Path, *, seed: int = 0, n_boot: int = 2000
) -> Results:
    """Analyse an export folder (or a lone responses.csv) and write the report into out_dir."""
    from analysis.report import write_report

    export = load_export(path)
    results = analyze(
        export.responses,
        export.judges,
        export.study,
        seed=seed,
        n_boot=n_boot,
        detector_scores=export.detector_scores,
    )
    write_report(results, out_dir)
    return results
