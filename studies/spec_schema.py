"""The study spec's keys, defined once: type, bounds, default and a line of help for each.

``studies.spec.parse_spec`` checks a spec against this schema, the dashboard's study form
is generated from it (``webapp.forms.dashboard``), and the reference tables of
``docs/spec.md`` are written from it (``python -m studies.spec_doc``). Rules that tie keys
together (a Prolific study needs a completion code, positions match the count, ...) are
code in ``studies.spec``; they are not expressible here.

No Django: the allowed values come from the libraries and ``studies.protocol``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from detectors import ALL_DETECTORS
from generator.prompts import PROMPT_FORMATS
from generator.text import PARAGRAPH_RULES
from studies.protocol import Design, Platform, Protocol

# Bounds for numbers with no natural ceiling, far past any real study. Every integer has
# both bounds: TOML integers are unbounded in Python, and a number past a column's range or
# timedelta's is a 500 later, not a message now.
MAX_ARTICLES = 100_000
MAX_EXPIRY_MINUTES = 7 * 24 * 60
MAX_PARAMS = 10**15
MAX_TEXT_CHARS = 20_000

DEMOGRAPHICS = ("age", "gender", "education", "country", "native_language", "news_reading")
QUESTION_KINDS = ("text", "choice", "scale")
# The judges' page languages (Django's codes) and their names in the form.
LANGUAGES = MappingProxyType(
    {"en": "English", "zh-hans": "Chinese (Simplified)", "es": "Spanish", "de": "German"}
)
# Spec spellings of the languages, to Django's codes; ``zh_Hans`` is the documented one.
LANGUAGE_ALIASES = MappingProxyType({**{code: code for code in LANGUAGES}, "zh_hans": "zh-hans"})

KINDS = ("str", "int", "float", "bool", "choice", "list", "date", "positions", "model", "version")


@dataclass(frozen=True)
class Field:
    """One spec key.

    kind: ``str``; ``int`` and ``float`` (within ``lo``..``hi``, ``lo`` itself excluded
    when ``lo_open``); ``bool``; ``choice`` (one of ``choices``; with ``aliases``, other
    spellings in any case too); ``list`` (strings, each one of ``choices`` when given);
    ``date``; ``positions`` (whole numbers within ``lo``..``hi``); ``model`` (a registry
    model name, or empty); ``version`` (any value, stored as text). A default of None means
    none is set: the key is optional (dates, ``params``) or drawn when parsed (``seed``);
    ``required`` keys have no default.
    """

    key: str
    kind: str
    default: Any = None
    help: str = ""  # one line for the researcher: the form's help text and the docs' meaning
    more: str = ""  # the docs only: what a reader of the reference needs past the one line
    label: str = ""  # the dashboard form's label; empty: the key in words
    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    choices: tuple[str, ...] = ()
    choice_labels: Mapping[str, str] = field(default_factory=dict)
    aliases: Mapping[str, str] = field(default_factory=dict)  # other spellings of choices
    noun: str = ""  # what a list's items are, for the message naming an unknown one
    required: bool = False
    required_hint: str = "must be a non-empty string"  # the message after "required, "
    strip: bool = False  # store the string without surrounding whitespace
    max_chars: int | None = None
    url: bool = False  # empty, or starting with http:// or https://
    default_doc: str = ""  # the docs' default where the value alone would mislead
    form: bool = True  # in the dashboard's study form (else the spec file only)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"{self.key}: unknown kind {self.kind!r}")
        if self.kind in ("int", "float", "positions") and (self.lo is None or self.hi is None):
            raise ValueError(f"{self.key}: a {self.kind} needs both bounds")

    @property
    def form_label(self) -> str:
        return self.label or self.key.replace("_", " ").capitalize()


@dataclass(frozen=True)
class Section:
    """A table of the spec: ``""`` the top level, ``[name]``, or ``[[name]]`` when ``many``.

    ``identity`` keys name each table of a ``many`` section in messages; the section's own
    code in ``studies.spec`` checks them before the rest.
    """

    name: str
    fields: tuple[Field, ...]
    many: bool = False
    identity: tuple[str, ...] = ()

    def __getitem__(self, key: str) -> Field:
        return next(f for f in self.fields if f.key == key)

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(f.key for f in self.fields)

    def defaults(self) -> dict[str, Any]:
        return {
            f.key: list(f.default) if isinstance(f.default, list) else f.default
            for f in self.fields
        }


def _str(key: str, help: str, **kw: Any) -> Field:
    return Field(key, "str", kw.pop("default", ""), help, **kw)


def _text(key: str, help: str, **kw: Any) -> Field:
    return _str(key, help, max_chars=MAX_TEXT_CHARS, **kw)


TOP = Section(
    "",
    (
        Field(
            "slug",
            "str",
            help="2-79 lowercase letters, digits and hyphens; the judge link is /take/SLUG/.",
            required=True,
            strip=True,
        ),
        Field(
            "title",
            "str",
            help="The study's name, shown to judges.",
            required=True,
            strip=True,
            max_chars=200,
        ),
        Field(
            "corpus",
            "str",
            help="A corpus name: yours, one shared with you, or the operator's.",
            more="Researchers upload theirs in the dashboard; the operator's come from "
            "`import_corpus --name`.",
            required=True,
            strip=True,
        ),
        Field(
            "protocol",
            "choice",
            Protocol.SINGLE.value,
            "single: one text at a time on the five-point scale (the paper's); paired: "
            "human and generated side by side.",
            more="Paired shows the human and the generated body of one title; the judge picks "
            "the human one, with a confidence from 1 to 5.",
            choices=tuple(p.value for p in Protocol),
        ),
        Field(
            "design",
            "choice",
            Design.BETWEEN.value,
            "between: each judge sees one condition (the paper's); within: conditions mixed "
            "inside each list.",
            choices=tuple(d.value for d in Design),
        ),
        Field(
            "seed",
            "int",
            None,
            "Seeds article sampling and context choice (public); empty: drawn at random and "
            "stored.",
            more="Everything a judge sees (lists, queue order, list draws, paired sides, "
            "practice, generation seeds) comes from a per-study secret instead: the launch "
            "record commits to it by its SHA-256, and `design.json` reveals it with the full "
            "record once the study is closed.",
            lo=0,
            hi=2**62,
            default_doc="random",
        ),
        Field(
            "target_words",
            "int",
            200,
            "Shown length in words; human and generated texts are cut alike at a sentence "
            "boundary.",
            lo=20,
            hi=5000,
        ),
        Field(
            "paragraphs",
            "choice",
            "match",
            "The layout of both texts of an article.",
            more="`match` splits the generated text at sentence boundaries into as many "
            "paragraphs as the human one; `single` makes both one paragraph; `as_written` "
            "keeps both as they are.",
            choices=PARAGRAPH_RULES,
            form=False,
        ),
        Field(
            "min_length_ratio",
            "float",
            0.85,
            "The shorter of an article's two shown texts has at least this share of the "
            "longer one's words.",
            more="A candidate that cannot meet it is rejected with its reason (so is one with "
            "broken, control or private-use characters, and, under `match`, one with too few "
            "sentences for the human text's paragraphs).",
            lo=0.0,
            hi=1.0,
            form=False,
        ),
        Field(
            "items_per_judge",
            "int",
            0,
            "Items each judge rates; 0: every article of the study.",
            more="Fewer than the articles splits them into blocks, each with its own lists.",
            lo=0,
            hi=MAX_ARTICLES,
        ),
        Field(
            "judges_per_list",
            "int",
            40,
            "Quota of judges per list.",
            more="In a between design a list belongs to one condition.",
            lo=1,
            hi=100_000,
        ),
        Field(
            "expiry_minutes",
            "int",
            90,
            "An inactive judge's place is freed after this many minutes.",
            more="A judge who has not consented holds a place only for "
            "`NEWSEVAL_UNCONSENTED_MINUTES`.",
            lo=5,
            hi=MAX_EXPIRY_MINUTES,
        ),
        Field("consent_version", "version", "1", "Recorded with each judge's consent."),
        Field(
            "exclude_judges_from",
            "list",
            [],
            "Slugs of earlier studies whose judges may not take part.",
            more="Your studies or ones shared with you.",
        ),
        Field(
            "language",
            "choice",
            "en",
            "The language of the judges' pages; every built-in string, the scale included, "
            "is translated.",
            more="`zh_Hans` is accepted for `zh-hans`, and capitals anywhere. The scale's "
            "wording per language is in `studies/wording.py` and in the launch record.",
            label="Judges' language",
            choices=tuple(LANGUAGES),
            choice_labels=LANGUAGES,
            aliases=LANGUAGE_ALIASES,
        ),
    ),
)

ARTICLES = Section(
    "articles",
    (
        Field(
            "count",
            "int",
            25,
            "How many articles, sampled with the seed after the filters.",
            more="With `ids` and no `count`: as many as there are ids.",
            label="Articles",
            lo=2,
            hi=MAX_ARTICLES,
        ),
        Field(
            "ids",
            "list",
            [],
            "Explicit article ids, instead of a seeded sample.",
            label="Explicit article ids",
        ),
        Field(
            "sources",
            "list",
            [],
            "Keep only articles with these source values.",
            label="Only from sources",
        ),
        Field(
            "date_from",
            "date",
            None,
            "Keep only articles dated from this day; undated ones are dropped by a range.",
            label="Dated from",
            default_doc="none",
        ),
        Field(
            "date_to",
            "date",
            None,
            "Keep only articles dated up to this day; undated ones are dropped by a range.",
            label="Dated to",
            default_doc="none",
        ),
        Field(
            "exclude_containing",
            "list",
            [],
            'Drop articles whose title or body contains any of these strings (e.g. "Wikinews").',
            label="Leave out articles containing",
        ),
        Field(
            "min_words",
            "int",
            0,
            "Drop articles whose shown body is shorter than this many words.",
            label="Minimum words",
            lo=0,
            hi=100_000,
        ),
    ),
)

PRACTICE = Section(
    "practice",
    (
        Field(
            "enabled",
            "bool",
            False,
            "A practice round with feedback, on corpus articles outside the study.",
            label="Practice round",
        ),
        Field("items", "int", 2, "How many practice items.", label="Practice items", lo=1, hi=10),
    ),
)

ATTENTION_CHECKS = Section(
    "attention_checks",
    (
        Field(
            "count",
            "int",
            0,
            "Items that state plainly which answer to give; flagged in exports.",
            label="Attention checks",
            lo=0,
            hi=10,
        ),
        Field(
            "positions",
            "positions",
            [],
            "1-based positions in the judge's sequence; empty: spread evenly.",
            label="At positions",
            lo=1,
            hi=MAX_ARTICLES,
        ),
    ),
)

_SAME_FOR_DECLINED = "The same, for a judge who declines consent."
_SAME_FOR_FAILED = "The same, for a judge who failed an attention check (else the completion one)."
RECRUITMENT = Section(
    "recruitment",
    (
        Field(
            "platform",
            "choice",
            Platform.LINK.value,
            "Where judges come from: prolific, mturk, or link (anonymous).",
            label="Platform",
            choices=tuple(p.value for p in Platform),
        ),
        _str(
            "completion_code",
            "Shown once the answers are stored; a Prolific study needs a code or a URL.",
            label="Completion code",
        ),
        _str(
            "completion_url",
            "Where judges are sent on completion; the code is added as cc= and shown too.",
            label="Completion URL",
            url=True,
        ),
        _str("declined_code", _SAME_FOR_DECLINED, label="Declined-consent code"),
        _str("declined_url", _SAME_FOR_DECLINED, label="Declined-consent URL", url=True),
        _str("attention_failed_code", _SAME_FOR_FAILED, label="Failed-attention code"),
        _str("attention_failed_url", _SAME_FOR_FAILED, label="Failed-attention URL", url=True),
        Field(
            "redirect_seconds",
            "int",
            10,
            "Judges see the code and a countdown they can stop; 0: a button only.",
            label="Seconds before the redirect",
            lo=0,
            hi=120,
        ),
        _str("pay", "For the record and the consent page.", label="Pay (for the record)"),
        Field(
            "estimated_minutes",
            "int",
            0,
            "For the record and the consent page.",
            label="Estimated minutes",
            lo=0,
            hi=24 * 60,
        ),
        Field(
            "demographics",
            "list",
            [],
            "Optional questions about the judge, asked on the closing page.",
            label="Demographic questions",
            choices=DEMOGRAPHICS,
            noun="question",
        ),
    ),
)

ANALYSIS = Section(
    "analysis",
    (
        Field(
            "alpha",
            "float",
            0.05,
            "Significance level.",
            label="Alpha",
            lo=0.0,
            hi=0.5,
            lo_open=True,
        ),
        Field(
            "equivalence_margin",
            "float",
            0.05,
            "The equivalence (TOST) margin around 50 % accuracy.",
            label="Equivalence margin",
            lo=0.0,
            hi=0.5,
            lo_open=True,
        ),
        Field(
            "exclude_failed_attention",
            "bool",
            True,
            "Leave out judges who failed an attention check.",
            label="Exclude judges who fail an attention check",
        ),
        Field(
            "exclude_looked_up",
            "bool",
            True,
            "Leave out judges who say they looked things up.",
            label="Exclude judges who looked things up",
        ),
        Field(
            "exclude_seen_before",
            "bool",
            False,
            "Leave out judges who had seen an article before.",
            label="Exclude judges who had seen the articles",
        ),
        Field(
            "min_ms_per_word",
            "int",
            0,
            "Flag answers faster than this per word shown; 0: none.",
            label="Minimum ms per word",
            lo=0,
            hi=60_000,
        ),
    ),
)

GENERATION = Section(
    "generation",
    (
        Field(
            "batch_size",
            "int",
            8,
            "Candidates decoded together.",
            label="Batch size",
            lo=1,
            hi=256,
        ),
        Field(
            "min_words_ratio",
            "float",
            0.5,
            "Reject a candidate shorter than this share of target_words.",
            label="Minimum length ratio",
            lo=0.0,
            hi=1.0,
        ),
        Field(
            "min_distinct_4gram",
            "float",
            0.5,
            "Reject a candidate whose share of distinct word 4-grams is lower (repetition).",
            label="Minimum distinct 4-grams",
            lo=0.0,
            hi=1.0,
        ),
    ),
)

DETECTION = Section(
    "detection",
    (
        Field(
            "detectors",
            "list",
            [],
            "Machine detectors that score the shown texts; empty: none.",
            more="Zero-shot: `loglik`, `logrank`, `entropy`, `fast_detectgpt`, `binoculars`; "
            "supervised: `lr_features`, `lr_ngrams`.",
            choices=ALL_DETECTORS,
            noun="detector",
            form=False,
        ),
        Field(
            "model",
            "model",
            "",
            "The scoring model (a registry name); empty: the registry's default.",
            form=False,
        ),
        Field(
            "observer",
            "model",
            "",
            "Binoculars' observer model; empty: a registry model with other weights and the "
            "same tokenizer.",
            more="Without one, `binoculars` is skipped and the reason recorded.",
            form=False,
        ),
        Field(
            "training_articles",
            "int",
            20,
            "Corpus articles outside the study on which the supervised detectors are trained.",
            more="Each condition's own generation settings make the training texts from them.",
            lo=2,
            hi=10_000,
            form=False,
        ),
        Field("batch_size", "int", 8, "Texts scored together.", lo=1, hi=256, form=False),
        Field(
            "max_tokens",
            "int",
            512,
            "Tokens scored per text; longer texts are cut for scoring only.",
            lo=16,
            hi=32_768,
            form=False,
        ),
    ),
)

TEXTS = Section(
    "texts",
    (
        _text(
            "consent",
            "Simple Markdown. Empty: the built-in text, in the judges' language.",
            more="Replaces the built-in information text of the consent page; time and pay "
            "are still listed.",
            label="Consent text",
        ),
        _text(
            "instructions",
            "Shown above the answer scale. Empty: the built-in text.",
            more="Replaces the built-in introduction; the scale and the rules below it stay.",
            label="Instructions",
        ),
        _text(
            "debrief",
            "Shown above the list of which texts were machine-made. Empty: built-in.",
            label="Debrief",
        ),
        _text(
            "researcher_contact",
            "E.g. a name and an email address.",
            more="Shown on the consent page and the debrief.",
            label="Researcher contact",
        ),
        _text(
            "ethics_approval",
            "The ethics approval id, shown with the contact.",
            label="Ethics approval id",
        ),
    ),
)

CLOSING_QUESTIONS = Section(
    "closing_questions",
    (
        Field(
            "name",
            "str",
            None,
            "Lowercase letters, digits and _; not the name of a built-in question.",
            required=True,
        ),
        Field(
            "kind",
            "choice",
            "text",
            "text (free text), choice (one of options) or scale (1 to scale_points).",
            choices=QUESTION_KINDS,
        ),
        Field(
            "prompt",
            "str",
            "",
            "The question, shown as plain text.",
            required=True,
            required_hint="the question as judges read it",
        ),
        Field("options", "list", [], "For a choice: the options, at least two."),
        # Not in the dashboard's one-line-per-question field: 5 points there.
        Field("scale_points", "int", 5, "For a scale: how many points.", lo=2, hi=11, form=False),
        _str("low_label", "For a scale: the words at its low end."),
        _str("high_label", "For a scale: the words at its high end."),
        Field("required", "bool", False, "Whether an answer is needed to finish."),
    ),
    many=True,
    identity=("name",),
)

CONDITIONS = Section(
    "conditions",
    (
        Field(
            "name",
            "str",
            None,
            "The condition's name in exports and the report.",
            more="Letters, digits, `-`, `_` and `.`.",
            required=True,
        ),
        Field(
            "model",
            "model",
            None,
            "A name in the model registry.",
            more="The registry is `generator/models.toml` unless the operator set another.",
            required=True,
        ),
        Field(
            "params",
            "int",
            None,
            "Parameter count; empty: the registry's.",
            more="Overriding the registry's count gives a warning.",
            lo=1,
            hi=MAX_PARAMS,
            default_doc="the registry's",
        ),
        Field(
            "context_articles",
            "int",
            3,
            "Few-shot articles before the title (0 for the control).",
            lo=0,
            hi=20,
        ),
        Field(
            "prompt_format",
            "choice",
            "plain",
            "plain: Title:/Subtitle:/Article: blocks (the paper's); chat: one user message "
            "through the chat template.",
            choices=PROMPT_FORMATS,
        ),
        Field("temperature", "float", 0.8, "Sampling temperature.", lo=0.0, hi=10.0),
        Field(
            "top_p",
            "float",
            0.95,
            "Nucleus sampling: the probability mass kept; 1.0: off.",
            lo=0.0,
            hi=1.0,
            lo_open=True,
        ),
        Field("top_k", "int", 0, "Keep the k likeliest tokens; 0: off.", lo=0, hi=1_000_000),
        Field(
            "repetition_penalty",
            "float",
            1.0,
            "Penalty on tokens already in the prompt or the text so far; 1.0: none.",
            lo=0.0,
            hi=10.0,
            lo_open=True,
        ),
        Field(
            "max_new_tokens",
            "int",
            0,
            "The length limit of each candidate, in tokens; 0: 2.5 per target word.",
            more="The 0 default becomes 2.5 x `target_words` + 16 when parsed.",
            lo=0,
            hi=8192,
        ),
        Field(
            "candidates",
            "int",
            5,
            "Best of n: the candidate closest to the human article's length is kept.",
            lo=1,
            hi=50,
        ),
        Field(
            "control",
            "bool",
            False,
            "Marks the deliberately bad reference condition; at most one.",
            more="A warning if it has context articles or no higher temperature than the others.",
        ),
    ),
    many=True,
    identity=("name", "model"),
)

# Every table of the spec, in the order parse_spec checks them.
TABLES: tuple[Section, ...] = (
    ARTICLES,
    PRACTICE,
    ATTENTION_CHECKS,
    RECRUITMENT,
    ANALYSIS,
    GENERATION,
    DETECTION,
    TEXTS,
)
SECTIONS: tuple[Section, ...] = (TOP, *TABLES, CLOSING_QUESTIONS, CONDITIONS)
BY_NAME: Mapping[str, Section] = MappingProxyType({s.name: s for s in SECTIONS})


def keep_unformed(formed: dict[str, Any], stored: dict[str, Any]) -> dict[str, Any]:
    """``formed`` (a spec built from the dashboard's form) with the stored spec's values for
    the keys the form does not show, so editing a study in the form keeps what its spec
    file set there (``[detection]``, the paragraph rule, a question's scale points, ...)."""
    spec = {**formed}
    for section in SECTIONS:
        hidden = [f.key for f in section.fields if not f.form]
        if not hidden:
            continue
        if section.many:
            name = section.identity[0]
            before = {t.get(name): t for t in stored.get(section.name) or []}
            tables = []
            for table in spec.get(section.name) or []:
                old = before.get(table.get(name), {})
                tables.append(table | {k: old[k] for k in hidden if k in old})
            spec[section.name] = tables
        elif section.name:
            old = stored.get(section.name) or {}
            spec[section.name] = {**(spec.get(section.name) or {})} | {
                k: old[k] for k in hidden if k in old
            }
        else:
            spec |= {k: stored[k] for k in hidden if k in stored}
    return spec
