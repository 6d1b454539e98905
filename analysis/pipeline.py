"""``analyze``: every output of ANALYSIS.md from one responses frame."""

from __future__ import annotations

import hashlib
import importlib.metadata
import platform
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.agreement import agreement_analysis
from analysis.bootstrap import two_way_bootstrap
from analysis.calibration import calibration_analysis
from analysis.data import condition_order, control_condition, load_export, prepare_responses
from analysis.difficulty import article_difficulty
from analysis.equivalence import equivalence_table
from analysis.exclusions import AnalysisSettings, apply_exclusions
from analysis.fits import fit_size_curves
from analysis.mixed import fit_mixed
from analysis.paired import paired_summary
from analysis.position import position_analysis
from analysis.power import plan_power
from analysis.results import Results
from analysis.roc import roc_analysis
from analysis.sdt import sdt_analysis
from analysis.table import holm, paper_table, per_judge_accuracy
from analysis.tells import tell_audit_section
from analysis.timing import timing_analysis

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


def _safe(errors: dict[str, str], name: str, fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except (ValueError, np.linalg.LinAlgError, RuntimeError) as exc:
        errors[name] = f"{type(exc).__name__}: {exc}"
        return None


def _analyze_population(
    prepared: pd.DataFrame, judges: pd.DataFrame | None, population: str, ctx: dict[str, Any]
) -> Results:
    settings: AnalysisSettings = ctx["settings"]
    alpha = settings.alpha
    flow = apply_exclusions(prepared, judges, settings)
    kept = flow.kept
    if kept.empty:
        raise ValueError(f"no scored {population} judgments remain after exclusions")
    order = condition_order(kept)
    control = control_condition(kept)
    paired = bool(kept["paired"].any())
    errors: dict[str, str] = {}
    warnings: list[str] = []
    sections: dict[str, Any] = {}

    sections["exclusions"] = {
        "flow": flow.flow,
        "excluded_judges": flow.excluded_judges,
        "rules": settings,
        "not_applied": flow.not_applied,
        "unscored_rows": int((prepared["is_attention"] | prepared["is_practice"]).sum()),
    }
    table = paper_table(kept, control=control, alpha=alpha, order=order)
    per_judge = per_judge_accuracy(kept)
    no_answer = int(per_judge["accuracy"].isna().sum())
    if no_answer:
        warnings.append(f"{no_answer} judges answered only 'I don't know' and have no accuracy.")
    if control is None:
        warnings.append(
            "No control condition (is_control = 1 or named 'control'): "
            "comparisons against the control are skipped."
        )
    sections["paper_table"] = {
        "table": table.table,
        "formatted": table.formatted(),
        "alpha": alpha,
        "method": "per-judge accuracy = correct / non-neutral answers; mean with t-based CI; "
        "t = (control - condition), Student (the paper's) and Welch; Holm across "
        "conditions; 'I don't know' rate pooled over judgments",
    }

    boot = two_way_bootstrap(
        kept, n_boot=ctx["n_boot"], seed=ctx["seed"], alpha=alpha, order=order, control=control
    )
    sections["bootstrap"] = {
        "table": boot.table,
        "diff_vs_control": boot.diff_vs_control,
        "n_boot": boot.n_boot,
        "seed": boot.seed,
        "alpha": alpha,
        "method": "percentile two-way bootstrap: articles resampled once per replicate (shared "
        "across conditions), judges resampled within condition, independently",
    }

    mixed: dict[str, Any] = {}
    outcomes = ("primary",) if paired else ("primary", "all_answers", "half_credit")
    for outcome in outcomes:
        fit = _safe(
            errors,
            f"mixed_model.{outcome}",
            fit_mixed,
            kept,
            outcome=outcome,
            order=order,
            reference=control,
            alpha=alpha,
            start=mixed.get("primary"),
            seed=ctx["seed"],
        )
        if fit is not None:
            mixed[outcome] = fit
    sections["mixed_model"] = mixed

    vs = table.table[
        [
            "condition",
            "t_student",
            "p_student",
            "p_student_holm",
            "t_welch",
            "df_welch",
            "p_welch",
            "p_welch_holm",
        ]
    ].copy()
    if control is not None:
        vs = vs[vs["condition"] != control]
        if not boot.diff_vs_control.empty:
            bd = boot.diff_vs_control.rename(
                columns={
                    "difference": "boot_difference",
                    "ci_low": "boot_ci_low",
                    "ci_high": "boot_ci_high",
                }
            )
            vs = vs.merge(bd, on="condition", how="left")
        if "primary" in mixed:
            fx = mixed["primary"].fixed.iloc[1:].copy()
            fx["condition"] = fx["term"].str.slice(len("condition["), -1)
            fx = fx.rename(
                columns={
                    "estimate": "mixed_log_odds_diff",
                    "se": "mixed_se",
                    "z": "mixed_z",
                    "p": "mixed_p",
                }
            )
            vs = vs.merge(
                fx[["condition", "mixed_log_odds_diff", "mixed_se", "mixed_z", "mixed_p"]],
                on="condition",
                how="left",
            )
            vs["mixed_p_holm"] = holm(vs["mixed_p"].to_numpy())
    sections["vs_control"] = {
        "control": control,
        "table": vs,
        "note": "t > 0: condition detected less often than the control",
    }

    sdt = sdt_analysis(kept, alpha=alpha, order=order)
    sections["sdt"] = {"table": sdt.table, "method": sdt.method}

    eq = equivalence_table(per_judge, margin=settings.equivalence_margin, alpha=alpha, order=order)
    if not eq.empty:
        level = 1 - 2 * alpha
        lows, highs = zip(
            *[boot.interval("accuracy", c, level) for c in eq["condition"]], strict=True
        )
        eq["boot_ci_low"] = lows
        eq["boot_ci_high"] = highs
        m = settings.equivalence_margin
        eq["equivalent_boot"] = (eq["boot_ci_low"] > 0.5 - m) & (eq["boot_ci_high"] < 0.5 + m)
    sections["equivalence"] = {
        "table": eq,
        "margin": settings.equivalence_margin,
        "alpha": alpha,
        "method": "TOST on per-judge accuracy against 0.5 +/- margin; also whether the two-way "
        "bootstrap (1 - 2 alpha) interval lies inside the margin",
    }

    roc = roc_analysis(kept, order=order)
    auc_boot = boot.table[boot.table["statistic"] == "auc"][["condition", "ci_low", "ci_high"]]
    roc_table = (
        roc.table.merge(
            auc_boot.rename(columns={"ci_low": "auc_ci_low", "ci_high": "auc_ci_high"}),
            on="condition",
            how="left",
        )
        if not paired
        else roc.table
    )
    sections["roc"] = {"table": roc_table, "curves": roc.curves, "score": roc.score}

    params = table.table.set_index("condition").reindex(boot.conditions)["params"].to_numpy()
    # The control is a deliberately bad model, not a point on the scaling curve.
    params = np.where(np.asarray(boot.conditions) == control, np.nan, params.astype(float))
    acc = table.table.set_index("condition").reindex(boot.conditions)["mean_accuracy"].to_numpy()
    fits = fit_size_curves(boot.conditions, params, acc, boot.replicates["accuracy"], alpha=alpha)
    sections["fits"] = {
        "fits": fits.fits,
        "points": fits.points,
        "skipped": fits.skipped,
        "unit": "N in billions of parameters for a; grid in parameters",
    }

    diff = article_difficulty(kept, alpha=alpha)
    sections["difficulty"] = {"table": diff.table, "flagged": diff.flagged, "method": diff.method}

    timing = timing_analysis(kept, alpha=alpha, order=order, control=control)
    sections["timing"] = {k: v for k, v in timing.__dict__.items() if k != "per_judge"}

    calib = calibration_analysis(kept, alpha=alpha, order=order)
    sections["calibration"] = calib
    sections["position"] = _safe(errors, "position", position_analysis, kept, alpha=alpha)
    sections["agreement"] = {
        "table": agreement_analysis(kept, order=order).table,
        "method": "krippendorff.alpha per condition, judges x shown texts; ordinal and nominal",
    }

    power = None
    if "primary" in mixed:
        fit = mixed["primary"]
        target_cond = order[-1]
        crow = fit.conditions.set_index("condition").loc[target_cond]
        sd = fit.variance.set_index("group")["sd"]
        acc_t = float(crow["accuracy"])
        # Power to detect a difference from chance is undefined at chance itself.
        assumed = abs(acc_t - 0.5) < 0.01
        if assumed:
            acc_t = 0.55
        power = _safe(
            errors,
            "power",
            plan_power,
            accuracy=acc_t,
            sd_judge=float(sd["judge"]),
            sd_article=float(sd["article"]),
            judges=(20, 40, 80, 160),
            articles=(12, 25, 50),
            n_sims=ctx["power_sims"],
            alpha=alpha,
            seed=ctx["seed"],
        )
        if power is not None:
            power.source = (
                f"this study's mixed-model estimates for {target_cond!r} "
                "(accuracy 0.55 assumed if the estimate is within 0.01 of chance)"
                if assumed
                else f"this study's mixed-model estimates for {target_cond!r}"
            )
    sections["power"] = power

    if paired:
        sections["paired"] = {
            "table": paired_summary(kept, alpha=alpha, order=order),
            "measure": "proportion of trials choosing the human text",
        }

    study = ctx["study"] or {}
    sections["tell_audit"] = _safe(errors, "tell_audit", tell_audit_section, study)
    sections["study_record"] = {
        "design_hash": study.get("design_hash") or study.get("hash"),
        "study": study.get("slug")
        or study.get("name")
        or study.get("study")
        or (kept["study"].iloc[0] if len(kept) else None),
        "spec": study.get("spec"),
        "scale": study.get("scale") or (study.get("spec") or {}).get("scale"),
        "platform": study.get("platform") or (study.get("spec") or {}).get("platform"),
        "pay": study.get("pay") or (study.get("spec") or {}).get("pay"),
        "counts": study.get("counts"),
        "study_seeds": study.get("seeds"),
        "study_software": study.get("software") or study.get("versions"),
        "audit_log": study.get("audit_log") or study.get("audit") or [],
        "exclusions_recorded": study.get("exclusions"),
        "analysis_settings": settings,
        "analysis_seed": ctx["seed"],
        "n_boot": ctx["n_boot"],
        "analysis_software": software_versions(),
        "input_rows": ctx["input_rows"],
        "input_hash": ctx["data_hash"],
        "population": population,
        "protocol": "paired" if paired else "rating",
        "judgments_analysed": len(kept),
        "judges_analysed": int(kept["judge"].nunique()),
        "articles": int(kept["article"].nunique()),
    }
    return Results(
        population=population,
        protocol="paired" if paired else "rating",
        conditions=order,
        control=control,
        sections=sections,
        warnings=warnings,
        errors=errors,
    )


def analyze_path(
    path: str | Path, out_dir: str | Path, *, seed: int = 0, n_boot: int = 2000
) -> Results:
    """Analyse an export folder (or a lone responses.csv) and write the report into out_dir."""
    from analysis.report import write_report

    export = load_export(path)
    results = analyze(export.responses, export.judges, export.study, seed=seed, n_boot=n_boot)
    write_report(results, out_dir)
    return results
