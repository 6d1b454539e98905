"""Study spec files: parsing, defaults and validation (no database access).

A spec is TOML. ``parse_spec`` returns the normalised spec (every default filled in)
and a list of warnings, or raises ``SpecError`` listing every problem at once.
The keys and their defaults are documented in ``docs/spec.md``.
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

from generator.text import PARAGRAPH_RULES
from studies.protocol import Design, Platform, Protocol

PROTOCOLS = tuple(p.value for p in Protocol)
DESIGNS = tuple(d.value for d in Design)
PLATFORMS = tuple(p.value for p in Platform)
PROMPT_FORMATS = ("plain", "chat")
SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,78}$")
# Slugs that would shadow dashboard pages.
RESERVED_SLUGS = {"new", "upload-spec", "corpora", "power", "api", "static", "admin"}

DEFAULTS: dict[str, Any] = {
    "protocol": Protocol.SINGLE.value,
    "design": Design.BETWEEN.value,
    "seed": None,  # None: a random seed, drawn when the spec is parsed and then stored
    "target_words": 200,
    "paragraphs": "match",
    "min_length_ratio": 0.85,
    "items_per_judge": 0,  # 0: every article of the study
    "judges_per_list": 40,
    "expiry_minutes": 90,
    "consent_version": "1",
    "exclude_judges_from": [],
    "language": "en",  # the judges' pages: en, zh-hans, es or de
}
# The study in the researcher's words (Markdown); empty: the built-in text, translated.
TEXTS_DEFAULTS: dict[str, Any] = {
    "consent": "",
    "instructions": "",
    "debrief": "",
    "researcher_contact": "",
    "ethics_approval": "",
}
QUESTION_KINDS = ("text", "choice", "scale")
QUESTION_DEFAULTS: dict[str, Any] = {
    "kind": "text",
    "prompt": "",
    "options": [],
    "scale_points": 5,
    "low_label": "",
    "high_label": "",
    "required": False,
}
# Names the closing page already uses.
RESERVED_QUESTION_NAMES = {"seen_before", "looked_up", "comments", "demographics", "questions"}
# Spec spellings of the judge-page languages, to Django's language codes.
LANGUAGE_ALIASES = {
    "en": "en",
    "zh-hans": "zh-hans",
    "zh_hans": "zh-hans",
    "es": "es",
    "de": "de",
}
ARTICLE_DEFAULTS: dict[str, Any] = {
    "count": 25,
    "ids": [],
    "sources": [],
    "date_from": None,
    "date_to": None,
    "exclude_containing": [],
    "min_words": 0,
}
PRACTICE_DEFAULTS: dict[str, Any] = {"enabled": False, "items": 2}
ATTENTION_DEFAULTS: dict[str, Any] = {"count": 0, "positions": []}
RECRUITMENT_DEFAULTS: dict[str, Any] = {
    "platform": Platform.LINK.value,
    "completion_code": "",
    "completion_url": "",
    # Separate codes (or URLs) for the other endings, as Prolific and MTurk expect.
    "declined_code": "",
    "declined_url": "",
    "attention_failed_code": "",
    "attention_failed_url": "",
    "redirect_seconds": 10,  # the countdown before the automatic redirect
    "pay": "",
    "estimated_minutes": 0,
    "demographics": [],
}
ANALYSIS_DEFAULTS: dict[str, Any] = {
    "alpha": 0.05,
    "equivalence_margin": 0.05,
    "exclude_failed_attention": True,
    "exclude_looked_up": True,
    "exclude_seen_before": False,
    "min_ms_per_word": 0,
}
GENERATION_DEFAULTS: dict[str, Any] = {
    "batch_size": 8,
    "min_words_ratio": 0.5,
    "min_distinct_4gram": 0.5,
}
DETECTION_DEFAULTS: dict[str, Any] = {
    "detectors": [],  # empty: no machine detectors are run
    "model": "",  # the scoring model; empty: the registry's default
    "observer": "",  # Binoculars' observer; empty: a registry model sharing the tokenizer
    "training_articles": 20,  # corpus articles outside the study for the supervised detectors
    "batch_size": 8,
    "max_tokens": 512,
}
CONDITION_DEFAULTS: dict[str, Any] = {
    "params": None,
    "context_articles": 3,
    "prompt_format": "plain",
    "temperature": 0.8,
    "top_p": 0.95,
    "top_k": 0,
    "repetition_penalty": 1.0,
    "max_new_tokens": 0,  # 0: 2.5 tokens per target word
    "candidates": 5,
    "control": False,
}
# Bounds for numbers with no natural ceiling, far past any real study.
MAX_ARTICLES = 100_000
MAX_EXPIRY_MINUTES = 7 * 24 * 60
MAX_PARAMS = 10**15
RETURN_KEYS = (
    "completion_code",
    "completion_url",
    "declined_code",
    "declined_url",
    "attention_failed_code",
    "attention_failed_url",
)
DEMOGRAPHICS = ("age", "gender", "education", "country", "native_language", "news_reading")


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
    def __init__(self) -> None:
        self.problems: list[str] = []
        self.warnings: list[str] = []

    def section(
        self, raw: Mapping[str, Any], defaults: Mapping[str, Any], where: str
    ) -> dict[str, Any]:
        out = dict(defaults)
        for key, value in raw.items():
            if key not in defaults:
                self.problems.append(f"{where}: unknown key '{key}'")
                continue
            out[key] = value
        return out

    def int_(self, d: dict, key: str, where: str, lo: int, hi: int):
        # Every integer has both bounds: TOML integers are unbounded in Python, and a
        # number past a column's range or timedelta's is a 500 later, not a message now.
        value = d.get(key)
        if isinstance(value, bool) or not isinstance(value, int):
            self.problems.append(f"{where}.{key}: must be an integer, got {value!r}")
            return
        if value < lo:
            self.problems.append(f"{where}.{key}: must be at least {lo}, got {value}")
        if value > hi:
            self.problems.append(f"{where}.{key}: must be at most {hi}, got {value}")

    def num(self, d: dict, key: str, where: str, lo: float, hi: float, lo_open: bool = False):
        value = d.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.problems.append(f"{where}.{key}: must be a number, got {value!r}")
            return
        if not math.isfinite(value):  # TOML has inf and nan; neither is a setting
            self.problems.append(f"{where}.{key}: must be a finite number, got {value!r}")
            return
        if value < lo or (lo_open and value == lo) or value > hi:
            interval = f"{'(' if lo_open else '['}{lo}, {hi}]"
            self.problems.append(f"{where}.{key}: must be in {interval}, got {value}")
        d[key] = float(value)

    def choice(self, d: dict, key: str, where: str, choices: tuple[str, ...]):
        if d.get(key) not in choices:
            self.problems.append(
                f"{where}.{key}: must be one of {', '.join(choices)}, got {d.get(key)!r}"
            )

    def bool_(self, d: dict, key: str, where: str):
        if not isinstance(d.get(key), bool):
            self.problems.append(f"{where}.{key}: must be true or false, got {d.get(key)!r}")

    def str_list(self, d: dict, key: str, where: str):
        value = d.get(key)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.problems.append(f"{where}.{key}: must be a list of strings, got {value!r}")

    def date(self, d: dict, key: str, where: str):
        value = d.get(key)
        if value is None or isinstance(value, dt.date):
            if isinstance(value, dt.datetime):
                d[key] = value.date().isoformat()
            elif isinstance(value, dt.date):
                d[key] = value.isoformat()
            return
        try:
            d[key] = dt.date.fromisoformat(str(value)).isoformat()
        except ValueError:
            self.problems.append(f"{where}.{key}: must be a date like 2020-01-31, got {value!r}")


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
    c = _Checker()
    sections = {
        "articles": ARTICLE_DEFAULTS,
        "practice": PRACTICE_DEFAULTS,
        "attention_checks": ATTENTION_DEFAULTS,
        "recruitment": RECRUITMENT_DEFAULTS,
        "analysis": ANALYSIS_DEFAULTS,
        "generation": GENERATION_DEFAULTS,
        "detection": DETECTION_DEFAULTS,
        "texts": TEXTS_DEFAULTS,
    }
    top_keys = {"slug", "title", "corpus", "conditions", "closing_questions", *DEFAULTS, *sections}
    for key in raw:
        if key not in top_keys:
            c.problems.append(f"unknown key '{key}'")
    spec: dict[str, Any] = {k: raw.get(k, v) for k, v in DEFAULTS.items()}
    for key in ("slug", "title", "corpus"):
        value = raw.get(key)
        if not isinstance(value, str) or not value.strip():
            c.problems.append(f"{key}: required, must be a non-empty string")
        spec[key] = value.strip() if isinstance(value, str) else value
    if isinstance(spec["slug"], str) and spec["slug"] and not SLUG_RE.match(spec["slug"]):
        c.problems.append(
            f"slug: use 2-79 lowercase letters, digits and hyphens, got {spec['slug']!r}"
        )
    if spec["slug"] in RESERVED_SLUGS:
        c.problems.append(f"slug: {spec['slug']!r} is reserved; choose another")
    c.choice(spec, "protocol", "spec", PROTOCOLS)
    c.choice(spec, "design", "spec", DESIGNS)
    if spec["seed"] is None:
        spec["seed"] = secrets.randbelow(2**31)
    c.int_(spec, "seed", "spec", lo=0, hi=2**62)
    c.int_(spec, "target_words", "spec", lo=20, hi=5000)
    c.choice(spec, "paragraphs", "spec", PARAGRAPH_RULES)
    c.num(spec, "min_length_ratio", "spec", 0.0, 1.0)
    c.int_(spec, "items_per_judge", "spec", lo=0, hi=MAX_ARTICLES)
    c.int_(spec, "judges_per_list", "spec", lo=1, hi=100_000)
    c.int_(spec, "expiry_minutes", "spec", lo=5, hi=MAX_EXPIRY_MINUTES)
    if not isinstance(spec["consent_version"], str):
        spec["consent_version"] = str(spec["consent_version"])
    c.str_list(spec, "exclude_judges_from", "spec")
    language = LANGUAGE_ALIASES.get(str(spec["language"]).strip().lower())
    if language is None:
        c.problems.append(f"language: must be one of en, zh_Hans, es, de, got {spec['language']!r}")
    else:
        spec["language"] = language

    for name, defaults in sections.items():
        value = raw.get(name, {})
        if not isinstance(value, Mapping):
            c.problems.append(f"[{name}]: must be a table")
            value = {}
        spec[name] = c.section(value, defaults, f"[{name}]")

    art = spec["articles"]
    c.int_(art, "count", "[articles]", lo=2, hi=MAX_ARTICLES)
    c.int_(art, "min_words", "[articles]", lo=0, hi=100_000)
    for key in ("ids", "sources", "exclude_containing"):
        c.str_list(art, key, "[articles]")
    c.date(art, "date_from", "[articles]")
    c.date(art, "date_to", "[articles]")
    if art.get("ids") and "count" not in raw.get("articles", {}):
        art["count"] = len(art["ids"])

    prac = spec["practice"]
    c.bool_(prac, "enabled", "[practice]")
    c.int_(prac, "items", "[practice]", lo=1, hi=10)

    att = spec["attention_checks"]
    c.int_(att, "count", "[attention_checks]", lo=0, hi=10)
    positions = att.get("positions")
    if not isinstance(positions, list) or not all(
        isinstance(p, int) and not isinstance(p, bool) and 1 <= p <= MAX_ARTICLES for p in positions
    ):
        c.problems.append("[attention_checks].positions: must be a list of positions from 1")
    elif positions and isinstance(att.get("count"), int) and len(positions) != att["count"]:
        c.problems.append(
            f"[attention_checks].positions: {len(positions)} positions for count = {att['count']}"
        )

    rec = spec["recruitment"]
    c.choice(rec, "platform", "[recruitment]", PLATFORMS)
    for key in RETURN_KEYS + ("pay",):
        if not isinstance(rec.get(key), str):
            c.problems.append(f"[recruitment].{key}: must be a string")
        elif key.endswith("_url") and rec[key] and not re.match(r"^https?://", rec[key]):
            c.problems.append(f"[recruitment].{key}: must start with http:// or https://")
    c.int_(rec, "redirect_seconds", "[recruitment]", lo=0, hi=120)
    if rec.get("platform") == Platform.PROLIFIC and not (
        rec.get("completion_code") or rec.get("completion_url")
    ):
        c.problems.append("[recruitment]: a Prolific study needs completion_code or completion_url")
    c.int_(rec, "estimated_minutes", "[recruitment]", lo=0, hi=24 * 60)
    c.str_list(rec, "demographics", "[recruitment]")
    for item in rec.get("demographics") or []:
        if item not in DEMOGRAPHICS:
            c.problems.append(
                f"[recruitment].demographics: unknown question {item!r}; "
                f"choose from {', '.join(DEMOGRAPHICS)}"
            )

    ana = spec["analysis"]
    c.num(ana, "alpha", "[analysis]", 0.0, 0.5, lo_open=True)
    c.num(ana, "equivalence_margin", "[analysis]", 0.0, 0.5, lo_open=True)
    for key in ("exclude_failed_attention", "exclude_looked_up", "exclude_seen_before"):
        c.bool_(ana, key, "[analysis]")
    c.int_(ana, "min_ms_per_word", "[analysis]", lo=0, hi=60_000)

    gen = spec["generation"]
    c.int_(gen, "batch_size", "[generation]", lo=1, hi=256)
    c.num(gen, "min_words_ratio", "[generation]", 0.0, 1.0)
    c.num(gen, "min_distinct_4gram", "[generation]", 0.0, 1.0)

    _detection(spec["detection"], c, models)
    for key, value in spec["texts"].items():
        if not isinstance(value, str):
            c.problems.append(f"[texts].{key}: must be a string")
        elif len(value) > 20_000:
            c.problems.append(f"[texts].{key}: at most 20000 characters")
    spec["closing_questions"] = _closing_questions(raw.get("closing_questions", []), c)
    spec["conditions"] = _conditions(raw.get("conditions"), c, models)

    if spec["attention_checks"].get("count") and spec["protocol"] == Protocol.PAIRED:
        pass  # paired attention checks ask for a side; supported
    if c.problems:
        raise SpecError(c.problems)
    _cross_checks(spec, c)
    if c.problems:
        raise SpecError(c.problems)
    return spec, c.warnings


def _detection(det: dict[str, Any], c: _Checker, models: Mapping[str, ModelInfo] | None) -> None:
    from detectors import ALL_DETECTORS

    c.str_list(det, "detectors", "[detection]")
    for name in det.get("detectors") or []:
        if name not in ALL_DETECTORS:
            c.problems.append(
                f"[detection].detectors: unknown detector {name!r}; "
                f"choose from {', '.join(ALL_DETECTORS)}"
            )
    for key in ("model", "observer"):
        value = det.get(key)
        if not isinstance(value, str):
            c.problems.append(f"[detection].{key}: must be a registry model name")
        elif value and models is not None and value not in models:
            c.problems.append(f"[detection].{key}: unknown model {value!r}")
    c.int_(det, "training_articles", "[detection]", lo=2, hi=10000)
    c.int_(det, "batch_size", "[detection]", lo=1, hi=256)
    c.int_(det, "max_tokens", "[detection]", lo=16, hi=32768)


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
        q = c.section({k: v for k, v in item.items() if k != "name"}, QUESTION_DEFAULTS, where)
        name = item.get("name")
        if not isinstance(name, str) or not re.match(r"^[a-z][a-z0-9_]{0,39}$", name):
            c.problems.append(
                f"{where}.name: required; lowercase letters, digits and _, got {name!r}"
            )
        elif name in names or name in RESERVED_QUESTION_NAMES or name in DEMOGRAPHICS:
            c.problems.append(f"{where}.name: {name!r} is taken; choose another")
        else:
            names.add(name)
            where = f"[[closing_questions]] {name}"
        q["name"] = name
        c.choice(q, "kind", where, QUESTION_KINDS)
        if not isinstance(q["prompt"], str) or not q["prompt"].strip():
            c.problems.append(f"{where}.prompt: required, the question as judges read it")
        c.str_list(q, "options", where)
        if q["kind"] == "choice" and isinstance(q["options"], list) and len(q["options"]) < 2:
            c.problems.append(f"{where}.options: a choice needs at least two options")
        c.int_(q, "scale_points", where, lo=2, hi=11)
        for key in ("low_label", "high_label"):
            if not isinstance(q[key], str):
                c.problems.append(f"{where}.{key}: must be a string")
        c.bool_(q, "required", where)
        out.append(q)
    if len(out) > 30:
        c.problems.append("[[closing_questions]]: at most 30 questions")
    return out


def _conditions(
    raw: Any, c: _Checker, models: Mapping[str, ModelInfo] | None
) -> list[dict[str, Any]]:
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
        cond = c.section(
            {k: v for k, v in item.items() if k not in ("name", "model")},
            CONDITION_DEFAULTS,
            where,
        )
        name = item.get("name")
        model = item.get("model")
        if not isinstance(name, str) or not re.match(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$", name):
            c.problems.append(f"{where}.name: required; letters, digits, - _ . only, got {name!r}")
        elif name in names:
            c.problems.append(f"{where}.name: duplicate condition name {name!r}")
        else:
            names.add(name)
            where = f"[[conditions]] {name}"
        if not isinstance(model, str) or not model:
            c.problems.append(f"{where}.model: required, a model name from the registry")
        elif models is not None and model not in models:
            c.problems.append(
                f"{where}.model: {model!r} is not in the model registry "
                f"(known: {', '.join(sorted(models)) or 'none'})"
            )
        cond["name"], cond["model"] = name, model
        if cond["params"] is not None:
            c.int_(cond, "params", where, lo=1, hi=MAX_PARAMS)
            if models is not None and isinstance(model, str) and model in models:
                registry_params = models[model].params
                if registry_params is not None and registry_params != cond["params"]:
                    c.warnings.append(
                        f"{where}.params: {cond['params']} overrides the registry's "
                        f"{registry_params} for {model}"
                    )
        elif models is not None and isinstance(model, str) and model in models:
            cond["params"] = models[model].params
        c.int_(cond, "context_articles", where, lo=0, hi=20)
        c.choice(cond, "prompt_format", where, PROMPT_FORMATS)
        c.num(cond, "temperature", where, 0.0, 10.0)
        c.num(cond, "top_p", where, 0.0, 1.0, lo_open=True)
        c.int_(cond, "top_k", where, lo=0, hi=1_000_000)
        c.num(cond, "repetition_penalty", where, 0.0, 10.0, lo_open=True)
        c.int_(cond, "max_new_tokens", where, lo=0, hi=8192)
        c.int_(cond, "candidates", where, lo=1, hi=50)
        c.bool_(cond, "control", where)
        out.append(cond)
    return out


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
