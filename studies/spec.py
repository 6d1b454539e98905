"""Study spec files: parsing, defaults and validation (no database access).

A spec is TOML. ``parse_spec`` returns the normalised spec (every default filled in)
and a list of warnings, or raises ``SpecError`` listing every problem at once.
Each key's type, bounds and default are in ``studies.spec_schema``; the rules that tie
keys together are here. ``docs/spec.md`` documents both.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import secrets
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from studies.protocol import Design, Platform
from studies.spec_schema import (
    CLOSING_QUESTIONS,
    CONDITIONS,
    DEMOGRAPHICS,
    SECTIONS,
    TABLES,
    TOP,
    Field,
    Section,
)

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,78}$")
# Slugs that would shadow dashboard pages.
RESERVED_SLUGS = {"new", "upload-spec", "corpora", "power", "api", "static", "admin"}
CONDITION_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$")
QUESTION_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
# Names the closing page already uses.
RESERVED_QUESTION_NAMES = {"seen_before", "looked_up", "comments", "demographics", "questions"}
MAX_QUESTIONS = 30
TOP_WHERE = "spec"  # how messages name the top level


class SpecError(ValueError):
    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("invalid study spec:\n" + "\n".join(f"- {p}" for p in problems))


@dataclass(frozen=True)
class ModelInfo:
    """What validation needs to know about a registry model."""

    params: int | None
    training_cutoff: dt.date | None = None


class _Checker:
    """Collects problems and warnings; checks values against their schema fields."""

    def __init__(self, models: Mapping[str, ModelInfo] | None) -> None:
        self.models = models
        self.problems: list[str] = []
        self.warnings: list[str] = []
        self.bad: set[str] = set()  # "where.key" of each value found wrong

    def problem(self, where: str, key: str, text: str) -> None:
        at = f"{where}.{key}" if where else key
        self.problems.append(f"{at}: {text}")
        self.bad.add(at)

    def table(self, raw: Any, section: Section, where: str) -> dict[str, Any]:
        """The section's defaults, overlaid with ``raw``; unknown keys are problems."""
        if not isinstance(raw, Mapping):
            self.problems.append(f"{where}: must be a table")
            raw = {}
        out = section.defaults()
        for key, value in raw.items():
            if key not in out:
                self.problems.append(f"{where}: unknown key '{key}'")
                continue
            out[key] = value
        return out

    def fields(self, d: dict[str, Any], section: Section, where: str) -> None:
        """Checks (and normalises) every value of ``d`` but the section's identity keys."""
        for f in section.fields:
            unset = d[f.key] is None and f.default is None and not f.required
            if f.key not in section.identity and not unset:
                getattr(self, f"_{f.kind}")(d, f, where)

    def _int(self, d: dict, f: Field, where: str) -> None:
        value = d[f.key]
        if isinstance(value, bool) or not isinstance(value, int):
            self.problem(where, f.key, f"must be an integer, got {value!r}")
        elif value < f.lo:  # type: ignore[operator]
            self.problem(where, f.key, f"must be at least {f.lo}, got {value}")
        elif value > f.hi:  # type: ignore[operator]
            self.problem(where, f.key, f"must be at most {f.hi}, got {value}")

    def _float(self, d: dict, f: Field, where: str) -> None:
        value = d[f.key]
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.problem(where, f.key, f"must be a number, got {value!r}")
            return
        if not math.isfinite(value):  # TOML has inf and nan; neither is a setting
            self.problem(where, f.key, f"must be a finite number, got {value!r}")
            return
        if value < f.lo or (f.lo_open and value == f.lo) or value > f.hi:  # type: ignore[operator]
            interval = f"{'(' if f.lo_open else '['}{f.lo}, {f.hi}]"
            self.problem(where, f.key, f"must be in {interval}, got {value}")
        d[f.key] = float(value)

    def _bool(self, d: dict, f: Field, where: str) -> None:
        if not isinstance(d[f.key], bool):
            self.problem(where, f.key, f"must be true or false, got {d[f.key]!r}")

    def _choice(self, d: dict, f: Field, where: str) -> None:
        value = d[f.key]
        if f.aliases:
            value = f.aliases.get(str(value).strip().lower(), value)
        if value not in f.choices:
            self.problem(where, f.key, f"must be one of {', '.join(f.choices)}, got {d[f.key]!r}")
        else:
            d[f.key] = value

    def _str(self, d: dict, f: Field, where: str) -> None:
        value = d[f.key]
        if f.required and (not isinstance(value, str) or not value.strip()):
            # Required top-level keys have always been named bare ("title: required").
            self.problem("" if where == TOP_WHERE else where, f.key, f"required, {f.required_hint}")
        elif not isinstance(value, str):
            self.problem(where, f.key, "must be a string")
        elif f.url and value and not re.match(r"^https?://", value):
            self.problem(where, f.key, "must start with http:// or https://")
        elif f.max_chars is not None and len(value) > f.max_chars:
            self.problem(where, f.key, f"at most {f.max_chars} characters")
        if f.strip and isinstance(value, str):
            d[f.key] = value.strip()

    def _list(self, d: dict, f: Field, where: str) -> None:
        value = d[f.key]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.problem(where, f.key, f"must be a list of strings, got {value!r}")
            return
        for item in value:
            if f.choices and item not in f.choices:
                self.problem(
                    where, f.key, f"unknown {f.noun} {item!r}; choose from {', '.join(f.choices)}"
                )

    def _date(self, d: dict, f: Field, where: str) -> None:
        value = d[f.key]
        if isinstance(value, dt.datetime):
            d[f.key] = value.date().isoformat()
        elif isinstance(value, dt.date):
            d[f.key] = value.isoformat()
        else:
            try:
                d[f.key] = dt.date.fromisoformat(str(value)).isoformat()
            except ValueError:
                self.problem(where, f.key, f"must be a date like 2020-01-31, got {value!r}")

    def _positions(self, d: dict, f: Field, where: str) -> None:
        value = d[f.key]
        if not isinstance(value, list) or not all(
            isinstance(p, int) and not isinstance(p, bool) and f.lo <= p <= f.hi  # type: ignore[operator]
            for p in value
        ):
            self.problem(where, f.key, f"must be a list of positions from {f.lo}")

    def _model(self, d: dict, f: Field, where: str) -> None:
        value = d[f.key]
        if not isinstance(value, str):
            self.problem(where, f.key, "must be a registry model name")
        elif value and self.models is not None and value not in self.models:
            self.problem(where, f.key, f"unknown model {value!r}")

    def _version(self, d: dict, f: Field, where: str) -> None:
        if not isinstance(d[f.key], str):
            d[f.key] = str(d[f.key])


def parse_spec_text(
    text: str, *, models: Mapping[str, ModelInfo] | None = None
) -> tuple[dict[str, Any], list[str]]:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError([f"not valid TOML: {exc}"]) from None
    return parse_spec(raw, models=models)


def parse_spec(
    raw: Mapping[str, Any], *, models: Mapping[str, ModelInfo] | None = None
) -> tuple[dict[str, Any], list[str]]:
    """Validate ``raw`` and fill in defaults. ``models`` is the model registry, if known."""
    c = _Checker(models)
    known = {*TOP.keys, *(s.name for s in SECTIONS)}
    c.problems += [f"unknown key '{key}'" for key in raw if key not in known]
    spec = TOP.defaults() | {k: v for k, v in raw.items() if k in TOP.keys}
    if spec["seed"] is None:
        spec["seed"] = secrets.randbelow(2**31)
    for section in TABLES:
        spec[section.name] = c.table(raw.get(section.name, {}), section, f"[{section.name}]")
    c.fields(spec, TOP, TOP_WHERE)
    for section in TABLES:
        c.fields(spec[section.name], section, f"[{section.name}]")
    _rules(spec, raw, c)
    spec["closing_questions"] = _closing_questions(raw.get("closing_questions", []), c)
    spec["conditions"] = _conditions(raw.get("conditions"), c)
    if not c.problems:
        _cross_checks(spec, c)
    if c.problems:
        raise SpecError(c.problems)
    return spec, c.warnings


def _rules(spec: dict[str, Any], raw: Mapping[str, Any], c: _Checker) -> None:
    """The rules of the top level and the tables that a field's schema cannot state."""
    slug = spec["slug"]
    if isinstance(slug, str) and slug and not SLUG_RE.match(slug):
        c.problems.append(f"slug: use 2-79 lowercase letters, digits and hyphens, got {slug!r}")
    if isinstance(slug, str) and slug in RESERVED_SLUGS:
        c.problems.append(f"slug: {slug!r} is reserved; choose another")
    art = spec["articles"]
    if isinstance(art["ids"], list) and art["ids"] and "count" not in raw.get("articles", {}):
        art["count"] = len(art["ids"])
    att = spec["attention_checks"]
    positions, count = att["positions"], att["count"]
    if "[attention_checks].positions" not in c.bad and positions and isinstance(count, int):
        if len(positions) != count:
            c.problems.append(
                f"[attention_checks].positions: {len(positions)} positions for count = {count}"
            )
    rec = spec["recruitment"]
    if rec["platform"] == Platform.PROLIFIC and not (
        rec["completion_code"] or rec["completion_url"]
    ):
        c.problems.append("[recruitment]: a Prolific study needs completion_code or completion_url")


def _closing_questions(raw: Any, c: _Checker) -> list[dict[str, Any]]:
    """The researcher's own closing questions: free text, a choice, or a rating scale."""
    if not isinstance(raw, list):
        c.problems.append("[[closing_questions]]: must be a list of tables")
        return []
    out: list[dict[str, Any]] = []
    names: set[str] = set()
    for i, item in enumerate(raw, start=1):
        where = f"[[closing_questions]] #{i}"
        if not isinstance(item, Mapping):
            c.problems.append(f"{where}: must be a table")
            continue
        q = c.table(item, CLOSING_QUESTIONS, where)
        name = q["name"]
        if not isinstance(name, str) or not QUESTION_NAME_RE.match(name):
            c.problems.append(
                f"{where}.name: required; lowercase letters, digits and _, got {name!r}"
            )
        elif name in names or name in RESERVED_QUESTION_NAMES or name in DEMOGRAPHICS:
            c.problems.append(f"{where}.name: {name!r} is taken; choose another")
        else:
            names.add(name)
            where = f"[[closing_questions]] {name}"
        c.fields(q, CLOSING_QUESTIONS, where)
        if q["kind"] == "choice" and isinstance(q["options"], list) and len(q["options"]) < 2:
            c.problems.append(f"{where}.options: a choice needs at least two options")
        out.append(q)
    if len(out) > MAX_QUESTIONS:
        c.problems.append(f"[[closing_questions]]: at most {MAX_QUESTIONS} questions")
    return out


def _conditions(raw: Any, c: _Checker) -> list[dict[str, Any]]:
    if not isinstance(raw, list) or not raw:
        c.problems.append("[[conditions]]: at least one condition is required")
        return []
    out: list[dict[str, Any]] = []
    names: set[str] = set()
    for i, item in enumerate(raw, start=1):
        where = f"[[conditions]] #{i}"
        if not isinstance(item, Mapping):
            c.problems.append(f"{where}: must be a table")
            continue
        cond = c.table(item, CONDITIONS, where)
        where = _condition_identity(cond, where, names, c)
        c.fields(cond, CONDITIONS, where)
        _registry_params(cond, where, c)
        out.append(cond)
    return out


def _condition_identity(cond: dict[str, Any], where: str, names: set[str], c: _Checker) -> str:
    """Checks the condition's name and model; returns how messages name the condition."""
    name, model = cond["name"], cond["model"]
    if not isinstance(name, str) or not CONDITION_NAME_RE.match(name):
        c.problems.append(f"{where}.name: required; letters, digits, - _ . only, got {name!r}")
    elif name in names:
        c.problems.append(f"{where}.name: duplicate condition name {name!r}")
    else:
        names.add(name)
        where = f"[[conditions]] {name}"
    if not isinstance(model, str) or not model:
        c.problems.append(f"{where}.model: required, a model name from the registry")
    elif c.models is not None and model not in c.models:
        c.problems.append(
            f"{where}.model: {model!r} is not in the model registry "
            f"(known: {', '.join(sorted(c.models)) or 'none'})"
        )
    return where


def _registry_params(cond: dict[str, Any], where: str, c: _Checker) -> None:
    """``params`` from the registry when unset; a warning when it overrides the registry."""
    model = cond["model"]
    if c.models is None or not isinstance(model, str) or model not in c.models:
        return
    registry_params = c.models[model].params
    if cond["params"] is None:
        cond["params"] = registry_params
    elif registry_params is not None and registry_params != cond["params"]:
        c.warnings.append(
            f"{where}.params: {cond['params']} overrides the registry's "
            f"{registry_params} for {model}"
        )


def _cross_checks(spec: dict[str, Any], c: _Checker) -> None:
    conditions = spec["conditions"]
    controls = [cond for cond in conditions if cond["control"]]
    if len(controls) > 1:
        c.problems.append("[[conditions]]: at most one condition can be the control")
    for cond in conditions:
        if not cond["max_new_tokens"]:
            cond["max_new_tokens"] = int(spec["target_words"] * 2.5) + 16
    if controls:
        control = controls[0]
        others = [cond for cond in conditions if not cond["control"]]
        if control["context_articles"] > 0:
            c.warnings.append(
                f"control {control['name']!r} has {control['context_articles']} context "
                "articles; the paper's deliberately bad control has none"
            )
        if others and control["temperature"] <= max(o["temperature"] for o in others):
            c.warnings.append(
                f"control {control['name']!r} has temperature {control['temperature']}, no "
                "higher than the other conditions'; the paper's control samples with more "
                "randomness"
            )
    else:
        c.warnings.append("no condition is marked control = true: comparisons need a control")
    art = spec["articles"]
    n_articles = len(art["ids"]) if art["ids"] else art["count"]
    if art["ids"] and art["count"] != len(art["ids"]):
        c.problems.append(
            f"[articles]: count = {art['count']} but {len(art['ids'])} ids are listed"
        )
    per_judge = spec["items_per_judge"] or n_articles
    if per_judge > n_articles:
        c.problems.append(
            f"items_per_judge = {per_judge} is more than the study's {n_articles} articles"
        )
    groups = 2 * (len(conditions) if spec["design"] == Design.WITHIN else 1)
    if per_judge < groups:
        c.problems.append(
            f"items_per_judge = {per_judge} is too few: a {spec['design']} design with "
            f"{len(conditions)} condition(s) needs at least {groups} items per judge"
        )
    if n_articles % per_judge:
        c.warnings.append(
            f"{n_articles} articles do not split evenly into blocks of {per_judge}; "
            "block sizes will differ by one"
        )
    positions = spec["attention_checks"]["positions"]
    total = per_judge + spec["attention_checks"]["count"]
    for p in positions:
        if p > total:
            c.problems.append(
                f"[attention_checks].positions: {p} is past the end of a judge's {total} items"
            )
