"""Loading and validating the tidy ``responses.csv`` (``studies.services.exports``) as a frame.

Every later module works on the frame returned by :func:`prepare_responses`, whose columns are:

``condition`` (str), ``params`` (float, NaN for none), ``is_control`` (bool), ``judge``, ``list``,
``article``, ``item`` (str), ``is_machine`` (float 0/1, NaN in paired rows), ``rating`` (float
1-5 or NaN), ``correct`` (float 0/1, NaN for "I don't know"), ``neutral`` (bool),
``says_machine`` (bool: rating >= 4), ``choice``, ``human_side`` (str), ``confidence`` (float),
``position`` (float), ``time_ms`` (float: visible_ms, else server_ms), ``server_ms``,
``words_shown`` (float),
``excluded`` (bool), ``exclusion_reason`` (str), ``is_attention``, ``is_practice``,
``simulated`` (bool), ``paired`` (bool).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from studies.protocol import Protocol, is_correct

REQUIRED_COLUMNS: tuple[str, ...] = (
    "study",
    "condition",
    "params",
    "judge",
    "list",
    "article",
    "item",
    "is_machine",
    "rating",
    "choice",
    "confidence",
    "correct",
    "position",
    "server_ms",
    "visible_ms",
    "excluded",
    "exclusion_reason",
)
OPTIONAL_COLUMNS: tuple[str, ...] = (
    "is_control",
    "protocol",
    "human_side",
    "words_shown",
    "is_attention",
    "is_practice",
    "simulated",
    "paste_count",
    "copy_count",
    "tabaway_count",
)
_TRUE = {"1", "true", "t", "yes", "y", "1.0"}
_FALSE = {"0", "false", "f", "no", "n", "0.0", ""}


def _bad(column: str, frame: pd.DataFrame, mask: pd.Series | np.ndarray, what: str) -> ValueError:
    mask = np.asarray(mask, dtype=bool)
    first = frame.index[mask][0]
    # Frames from read_responses_csv carry the CSV line number as their index ("csv_line").
    where = f"CSV line {first}" if frame.index.name == "csv_line" else f"row {first!r}"
    value = frame[column].to_numpy()[mask][0]
    n = int(mask.sum())
    return ValueError(
        f"column {column!r}: {what}; {where} has {value!r}"
        + (f" ({n - 1} more rows)" if n > 1 else "")
    )


def _text(series: pd.Series) -> np.ndarray:
    """Stripped text per row ("" for missing), computed once per distinct value: a million-row
    export has few distinct values per column, so this avoids a Python call per cell."""
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    cleaned = np.array([str(u).strip() for u in uniques] + [""], dtype=object)
    return cleaned[codes]  # code -1 (missing) picks the trailing ""


def _bool_column(frame: pd.DataFrame, column: str, default: bool = False) -> np.ndarray:
    if column not in frame.columns:
        return np.full(len(frame), default)
    raw = frame[column]
    if raw.dtype == bool:
        return raw.to_numpy()
    if pd.api.types.is_numeric_dtype(raw):
        values = raw.to_numpy(dtype=float, na_value=np.nan)
        ok = np.isnan(values) | np.isin(values, [0, 1])
        if not ok.all():
            raise _bad(column, frame, ~ok, "expected 0/1 (or true/false)")
        return values == 1
    text = np.char.lower(_text(raw).astype(str))
    ok = np.isin(text, list(_TRUE | _FALSE))
    if not ok.all():
        raise _bad(column, frame, ~ok, "expected 0/1 (or true/false)")
    return np.isin(text, list(_TRUE))


def _numeric_column(frame: pd.DataFrame, column: str) -> np.ndarray:
    if column not in frame.columns:
        return np.full(len(frame), np.nan)
    raw = frame[column]
    if pd.api.types.is_numeric_dtype(raw) and raw.dtype != bool:
        return raw.to_numpy(dtype=float, na_value=np.nan)
    codes, uniques = pd.factorize(raw, use_na_sentinel=True)
    text = np.array([str(u).strip() for u in uniques], dtype=object)
    values = pd.to_numeric(pd.Series(text, dtype=object).replace("", np.nan), errors="coerce")
    values = np.append(values.to_numpy(dtype=float, na_value=np.nan), np.nan)
    bad_unique = np.append(np.isnan(values[:-1]) & (text != ""), False)
    bad = bad_unique[codes]
    if bad.any():
        raise _bad(column, frame, bad, "expected a number or blank")
    return values[codes]


def _string_column(frame: pd.DataFrame, column: str) -> np.ndarray:
    if column not in frame.columns:
        return np.full(len(frame), "", dtype=object)
    return _text(frame[column])


def _score(protocol: str, rating: np.ndarray, choice: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """``studies.protocol.is_correct`` for every row: 1.0, 0.0, or NaN where it says nothing.

    The rule is asked once per distinct (rating, choice, truth), so a million rows cost
    one group-by, not a million calls.
    """
    out = np.full(len(rating), np.nan)
    keys = pd.DataFrame({"rating": rating, "choice": choice, "truth": truth})
    groups = keys.groupby(["rating", "choice", "truth"], dropna=False, sort=False).indices
    for (r, c, t), index in groups.items():
        said = is_correct(protocol, None if np.isnan(r) else r, c, t)
        out[index] = np.nan if said is None else float(said)
    return out


def prepare_responses(responses: pd.DataFrame) -> pd.DataFrame:
    """Validate a tidy responses frame and return the canonical frame described above.

    Raises
    ------
    ValueError
        Naming the missing column, or the column and row of the first bad value.
    """
    if not isinstance(responses, pd.DataFrame):
        raise TypeError("responses must be a pandas DataFrame")
    missing = [c for c in REQUIRED_COLUMNS if c not in responses.columns]
    if missing:
        raise ValueError(f"responses is missing required column(s): {', '.join(missing)}")
    frame = responses
    out = pd.DataFrame(index=frame.index)
    for column in ("study", "condition", "judge", "list", "article", "item"):
        out[column] = _string_column(frame, column)
    answers = _read_answers(frame)
    protocol = np.char.lower(_string_column(frame, "protocol").astype(str))
    paired = (protocol == Protocol.PAIRED) | (
        (protocol == "") & (answers.choice != "") & np.isnan(answers.rating)
    )
    is_attention = _bool_column(frame, "is_attention")
    is_practice = _bool_column(frame, "is_practice")
    scored = ~is_attention & ~is_practice
    # Attention/practice rows may lack an article (and a condition); scored rows may not.
    for column, need in (
        ("judge", np.ones(len(frame), bool)),
        ("condition", scored),
        ("article", scored),
    ):
        empty = out[column].eq("").to_numpy() & need
        if empty.any():
            raise _bad(column, out, empty, "must not be blank")
    correct = _checked_correct(frame, answers, paired, scored)
    _fill_columns(out, frame, answers, correct, paired)
    out["is_attention"] = is_attention
    out["is_practice"] = is_practice
    out["simulated"] = _bool_column(frame, "simulated")
    out["paired"] = paired
    for column in ("paste_count", "copy_count", "tabaway_count"):
        if column in frame.columns:
            out[column] = _numeric_column(frame, column)
    _check_study(out, paired, scored)
    return out


@dataclass(frozen=True)
class _Answers:
    """A row's answer columns, each checked against its allowed values."""

    rating: np.ndarray
    confidence: np.ndarray
    is_machine: np.ndarray
    correct: np.ndarray  # as exported; rescored by _checked_correct
    choice: np.ndarray
    human_side: np.ndarray


def _read_answers(frame: pd.DataFrame) -> _Answers:
    rating = _numeric_column(frame, "rating")
    bad = ~np.isnan(rating) & ~np.isin(rating, [1, 2, 3, 4, 5])
    if bad.any():
        raise _bad("rating", frame, bad, "expected an integer 1-5 or blank")
    confidence = _numeric_column(frame, "confidence")
    bad = ~np.isnan(confidence) & ~np.isin(confidence, [1, 2, 3, 4, 5])
    if bad.any():
        raise _bad("confidence", frame, bad, "expected an integer 1-5 or blank")
    is_machine = _numeric_column(frame, "is_machine")
    correct = _numeric_column(frame, "correct")
    bad = ~np.isnan(correct) & ~np.isin(correct, [0, 1])
    if bad.any():
        raise _bad("correct", frame, bad, "expected 0, 1 or blank")
    sides = []
    for column in ("choice", "human_side"):
        side = np.char.lower(_string_column(frame, column).astype(str)).astype(object)
        bad = ~np.isin(side, ["", "left", "right"])
        if bad.any():
            raise _bad(column, frame, bad, "expected 'left', 'right' or blank")
        sides.append(side)
    return _Answers(rating, confidence, is_machine, correct, *sides)


def _checked_correct(
    frame: pd.DataFrame, answers: _Answers, paired: np.ndarray, scored: np.ndarray
) -> np.ndarray:
    """``correct`` recomputed from the answer by ``studies.protocol``, checked against the
    exported one; attention and practice rows keep the platform's own (pass/fail of the check)."""
    rating, is_machine, correct = answers.rating, answers.is_machine, answers.correct
    choice, human_side = answers.choice, answers.human_side
    rated = ~paired
    bad = rated & scored & np.isnan(rating)
    if bad.any():
        raise _bad("rating", frame, bad, "blank rating in a rating-protocol row")
    bad = rated & scored & ~np.isnan(rating) & ~np.isin(is_machine, [0, 1])
    if bad.any():
        raise _bad("is_machine", frame, bad, "expected 0 or 1 where a rating is given")
    derived = _score(Protocol.SINGLE, rating, choice, is_machine == 1)
    check = rated & scored & ~np.isnan(rating)
    # The exported `correct` must agree with rating and is_machine; a mismatch means corrupt data.
    mismatch = check & ~(np.isnan(correct) & np.isnan(derived)) & (correct != derived)
    if mismatch.any():
        raise _bad("correct", frame, mismatch, "disagrees with rating and is_machine")
    paired_scored = paired & scored
    bad = paired_scored & (choice == "")
    if bad.any():
        raise _bad("choice", frame, bad, "blank choice in a paired row")
    have_side = paired & (human_side != "")
    paired_correct = np.where(
        have_side, _score(Protocol.PAIRED, rating, choice, human_side), correct
    )
    bad = paired_scored & np.isnan(paired_correct)
    if bad.any():
        raise _bad("correct", frame, bad, "paired row needs human_side or correct")
    return np.where(paired & scored, paired_correct, np.where(check, derived, correct))


def _fill_columns(
    out: pd.DataFrame,
    frame: pd.DataFrame,
    answers: _Answers,
    correct: np.ndarray,
    paired: np.ndarray,
) -> None:
    """The canonical columns from ``params`` to ``exclusion_reason``, in the documented order."""
    rated = ~paired
    out["params"] = _numeric_column(frame, "params")
    if "is_control" in frame.columns:
        out["is_control"] = _bool_column(frame, "is_control")
    else:
        out["is_control"] = out["condition"].str.lower().eq("control").to_numpy()
    out["is_machine"] = np.where(paired, np.nan, answers.is_machine)
    out["rating"] = answers.rating
    out["correct"] = correct
    out["neutral"] = rated & (answers.rating == 3)
    out["says_machine"] = rated & (answers.rating >= 4)
    out["choice"] = answers.choice
    out["human_side"] = answers.human_side
    out["confidence"] = answers.confidence
    out["position"] = _numeric_column(frame, "position")
    visible = _numeric_column(frame, "visible_ms")
    server = _numeric_column(frame, "server_ms")
    out["time_ms"] = np.where(np.isnan(visible), server, visible)
    out["server_ms"] = server
    out["words_shown"] = _numeric_column(frame, "words_shown")
    out["excluded"] = _bool_column(frame, "excluded")
    out["exclusion_reason"] = _string_column(frame, "exclusion_reason")


def _check_study(out: pd.DataFrame, paired: np.ndarray, scored: np.ndarray) -> None:
    """Rules across rows: one protocol, at most one control, one parameter count per condition."""
    if paired[scored].any() and (~paired[scored]).any():
        raise ValueError(
            "column 'protocol': a study mixes paired and rating rows; analyse them separately"
        )
    controls = out.loc[out["is_control"], "condition"].unique()
    if len(controls) > 1:
        raise ValueError(f"column 'is_control': more than one control condition: {list(controls)}")
    by_condition = out.groupby("condition", sort=False)["params"].nunique(dropna=False)
    if (by_condition > 1).any():
        name = by_condition.index[by_condition > 1][0]
        raise ValueError(f"column 'params': condition {name!r} has more than one parameter count")


def read_responses_csv(path: str | Path) -> pd.DataFrame:
    """Read ``responses.csv`` as text (validation happens in :func:`prepare_responses`).

    The index is the CSV line number so that error messages point at the line to fix.
    """
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame.index = pd.RangeIndex(2, len(frame) + 2, name="csv_line")
    return frame


def read_judges_csv(path: str | Path) -> pd.DataFrame:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    if "judge" not in frame.columns:
        raise ValueError(f"{path}: judges.csv is missing required column 'judge'")
    return frame


@dataclass(frozen=True)
class Export:
    """The files of one study export: responses plus optional judges and study record."""

    responses: pd.DataFrame
    judges: pd.DataFrame | None
    study: dict[str, Any] | None
    source: str
    detector_scores: pd.DataFrame | None = None


def load_export(path: str | Path) -> Export:
    """Load an export folder (``responses.csv``, ``judges.csv``, ``study.json``) or a lone CSV."""
    path = Path(path)
    if path.is_dir():
        responses_path = path / "responses.csv"
        if not responses_path.exists():
            raise ValueError(f"{path}: no responses.csv in this folder")
        judges_path = path / "judges.csv"
        study_path = path / "study.json"
        judges = read_judges_csv(judges_path) if judges_path.exists() else None
        study = json.loads(study_path.read_text()) if study_path.exists() else None
        scores_path = path / "detector_scores.csv"
        scores = None
        if scores_path.exists():
            from analysis.detection import read_scores

            scores = read_scores(scores_path)
        return Export(read_responses_csv(responses_path), judges, study, str(path), scores)
    if not path.exists():
        raise ValueError(f"{path}: no such file or folder")
    return Export(read_responses_csv(path), None, None, str(path))


def condition_order(prepared: pd.DataFrame) -> list[str]:
    """Control first, then by parameter count (ascending), then by name."""
    info = prepared.groupby("condition", sort=False).agg(
        params=("params", "first"), is_control=("is_control", "max")
    )
    info = info.assign(
        _c=~info["is_control"], _p=info["params"].fillna(np.inf), _n=info.index.to_numpy()
    )
    return list(info.sort_values(["_c", "_p", "_n"]).index)


def control_condition(prepared: pd.DataFrame) -> str | None:
    names = prepared.loc[prepared["is_control"], "condition"].unique()
    return str(names[0]) if len(names) else None
