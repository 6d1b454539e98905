"""Forms of the researcher's dashboard. They validate input and build plain data; the
services do the writing.

The study form is the spec file as a form, its fields generated from the spec's schema
(``studies.spec_schema``): it builds the same spec dict a TOML file would hold, leaving out
fields left empty so the spec's own defaults apply, and the spec then goes through the same
validation as ``create_study`` (``parse_spec``).
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.forms import formset_factory

from studies import spec_schema
from studies.access import corpora_for_user


def _split(value: str) -> list[str]:
    return [part for part in re.split(r"[\s,]+", value or "") if part]


class ListField(forms.CharField):
    """Words separated by commas or whitespace, as a list of strings."""

    def to_python(self, value: Any) -> list[str]:  # type: ignore[override]
        return _split(super().to_python(value))

    def prepare_value(self, value: Any) -> str:
        return ", ".join(value) if isinstance(value, list | tuple) else (value or "")


class IntListField(ListField):
    def to_python(self, value: Any) -> list[int]:  # type: ignore[override]
        out = []
        for part in super().to_python(value):
            try:
                out.append(int(part))
            except ValueError:
                raise forms.ValidationError(f"{part!r} is not a whole number") from None
        return out


class ClosingQuestionsField(forms.CharField):
    """``name | kind | question | options | required``, one question per line."""

    def to_python(self, value: Any) -> list[dict[str, Any]]:  # type: ignore[override]
        questions = []
        for n, line in enumerate(str(value or "").splitlines(), start=1):
            if not line.strip():
                continue
            parts = [p.strip() for p in line.split("|")]
            if len(parts) < 3:
                raise forms.ValidationError(
                    f"line {n}: write name | kind | question (| options)(| required)"
                )
            required = parts[-1].lower() == "required" and len(parts) > 3
            if required:
                parts = parts[:-1]
            name, kind, prompt = parts[:3]
            extra = [o.strip() for o in parts[3].split(";")] if len(parts) > 3 else []
            q: dict[str, Any] = {"name": name, "kind": kind, "prompt": prompt}
            if kind == "choice":
                q["options"] = [o for o in extra if o]
            elif kind == "scale" and extra:
                q["low_label"] = extra[0]
                q["high_label"] = extra[-1] if len(extra) > 1 else ""
            if required:
                q["required"] = True
            questions.append(q)
        return questions

    def prepare_value(self, value: Any) -> str:
        if not isinstance(value, list):
            return value or ""
        lines = []
        for q in value:
            extra = ""
            if q.get("kind") == "choice":
                extra = "; ".join(q.get("options", []))
            elif q.get("kind") == "scale" and (q.get("low_label") or q.get("high_label")):
                extra = f"{q.get('low_label', '')}; {q.get('high_label', '')}"
            parts = [q.get("name", ""), q.get("kind", ""), q.get("prompt", "")]
            if extra or q.get("required"):
                parts.append(extra)
            if q.get("required"):
                parts.append("required")
            lines.append(" | ".join(parts))
        return "\n".join(lines)


# Form field names: the spec key, after its table's name ("articles_count").
_PREFIXES = {"attention_checks": "attention"}


def form_name(section: str, key: str) -> str:
    """The study form's field for ``key`` of ``section`` ("" for the top level)."""
    return f"{_PREFIXES.get(section, section)}_{key}" if section else key


def spec_form_field(f: spec_schema.Field, **extra: Any) -> forms.Field:
    """A form field for a spec key: label, help, initial and choices from the schema.

    Bounds become the input's min and max, as hints only: the form checks types, and
    parse_spec checks values, so a value out of bounds gets the spec's own message.
    """
    kwargs: dict[str, Any] = {
        "required": f.required,
        "label": f.form_label,
        "help_text": f.help,
        "initial": f.default,
        **extra,
    }
    choices = [(c, f.choice_labels.get(c, c)) for c in f.choices]
    if f.kind in ("int", "float"):
        attrs = {"max": f.hi} if f.lo_open else {"min": f.lo, "max": f.hi}
        number = forms.IntegerField if f.kind == "int" else forms.FloatField
        return number(widget=forms.NumberInput(attrs=attrs), **kwargs)
    if f.kind == "bool":
        return forms.BooleanField(**kwargs)
    if f.kind == "choice":
        return forms.ChoiceField(choices=choices, **kwargs)
    if f.kind == "list" and choices:
        return forms.MultipleChoiceField(
            choices=choices, widget=forms.CheckboxSelectMultiple, **kwargs
        )
    if f.kind == "list":
        return ListField(**kwargs)
    if f.kind == "positions":
        return IntListField(**kwargs)
    if f.kind == "date":
        return forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), **kwargs)
    return forms.CharField(**kwargs)


def _spec_form(name: str, sections: tuple[spec_schema.Section, ...], **widgets: Any) -> type:
    """A form class with a field for each key of ``sections`` that the dashboard shows.

    A ``many`` section's form is one table of a formset: its fields are named by key."""
    fields: dict[str, Any] = {}
    for section in sections:
        for f in section.fields:
            field_name = f.key if section.many else form_name(section.name, f.key)
            if f.form:
                extra = {"widget": widgets[field_name]} if field_name in widgets else {}
                fields[field_name] = spec_form_field(f, **extra)
    return type(name, (forms.Form,), {"__module__": __name__, **fields})


STUDY_SECTIONS = (spec_schema.TOP, *spec_schema.TABLES)
# Form field name -> (spec table, "" for the top level; spec key).
SPEC_FIELDS: dict[str, tuple[str, str]] = {
    form_name(section.name, f.key): (section.name, f.key)
    for section in STUDY_SECTIONS
    for f in section.fields
    if f.form
} | {"closing_questions": ("", "closing_questions")}
# Checkboxes always send a value (unticked is False), so they are always written.
BOOLEAN_FIELDS = {
    form_name(section.name, f.key)
    for section in STUDY_SECTIONS
    for f in section.fields
    if f.form and f.kind == "bool"
}

_StudySpecFields = _spec_form(
    "_StudySpecFields",
    STUDY_SECTIONS,
    articles_ids=forms.Textarea(attrs={"rows": 2}),
    texts_consent=forms.Textarea(attrs={"rows": 5}),
    texts_instructions=forms.Textarea(attrs={"rows": 4}),
    texts_debrief=forms.Textarea(attrs={"rows": 4}),
)


class StudyForm(_StudySpecFields):
    """The spec's fields (from ``studies.spec_schema``), and the form's own few."""

    slug = forms.CharField(max_length=79, help_text=spec_schema.TOP["slug"].help)
    title = forms.CharField(max_length=200, help_text=spec_schema.TOP["title"].help)
    corpus = forms.ChoiceField(choices=[], help_text=spec_schema.TOP["corpus"].help)
    closing_questions = ClosingQuestionsField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        label="Closing questions",
        help_text="One per line: name | text, choice or scale | question | options "
        "separated by ; (choice) or low; high labels (scale). End with | required to require.",
    )

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        names = sorted(set(corpora_for_user(user).values_list("name", flat=True)))
        self.fields["corpus"].choices = [(n, n) for n in names]
        if names and not self.initial.get("corpus"):
            self.fields["corpus"].initial = names[0]

    def spec_dict(self) -> dict[str, Any]:
        """The spec from the fields that validated; empty fields are left to the defaults."""
        data = getattr(self, "cleaned_data", {})
        spec: dict[str, Any] = {}
        for name, (section, key) in SPEC_FIELDS.items():
            if name not in data:
                continue
            value = data[name]
            if name not in BOOLEAN_FIELDS and value in (None, "", []):
                continue
            target = spec.setdefault(section, {}) if section else spec
            target[key] = value
        return spec


_ConditionSpecFields = _spec_form("_ConditionSpecFields", (spec_schema.CONDITIONS,))


class ConditionForm(_ConditionSpecFields):
    name = forms.CharField(max_length=80, help_text=spec_schema.CONDITIONS["name"].help)
    model = forms.CharField(max_length=120, help_text=spec_schema.CONDITIONS["model"].help)

    def __init__(self, *args, models: list[str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if models:
            # A menu of the registry's models; the value is still checked by parse_spec,
            # so an unknown name gets the spec's own message.
            self.fields["model"].widget = forms.Select(
                choices=[("", "choose a model")] + [(m, m) for m in models]
            )

    def condition_dict(self) -> dict[str, Any] | None:
        data = getattr(self, "cleaned_data", {})
        if not data or (not data.get("name") and not data.get("model")):
            return None
        out: dict[str, Any] = {}
        for key, value in data.items():
            if isinstance(self.fields[key], forms.BooleanField):
                out[key] = bool(value)
            elif value not in (None, ""):
                out[key] = value
        return out


ConditionFormSet = formset_factory(ConditionForm, extra=0, min_num=1, validate_min=True)

# The page starts with a model condition and the paper's deliberately bad control; the
# fields left out take the spec's defaults.
INITIAL_CONDITIONS = [
    {"name": "model"},
    {"name": "control", "context_articles": 0, "temperature": 1.2, "control": True},
]


def spec_from_forms(study_form: StudyForm, conditions: Any) -> dict[str, Any]:
    """The spec dict the forms describe (only what validated)."""
    spec = study_form.spec_dict()
    spec["conditions"] = [
        c for c in (f.condition_dict() for f in conditions.forms) if c is not None
    ]
    return spec


def form_initial(spec: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The form's initial values for a stored spec, to edit it in the form."""
    initial: dict[str, Any] = {}
    for name, (section, key) in SPEC_FIELDS.items():
        source = spec.get(section) or {} if section else spec
        if key in source and source[key] is not None:
            initial[name] = source[key]
    fields = set(ConditionForm.base_fields)
    conditions = [
        {k: v for k, v in cond.items() if k in fields and v is not None}
        for cond in spec.get("conditions", [])
    ]
    return initial, conditions


class SpecEditForm(forms.Form):
    spec_text = forms.CharField(
        label="Spec (TOML)",
        widget=forms.Textarea(attrs={"rows": 24, "spellcheck": "false", "class": "mono"}),
    )


class SpecUploadForm(forms.Form):
    spec_file = forms.FileField(required=False, label="Spec file (.toml)")
    spec_text = forms.CharField(
        required=False,
        label="or paste it",
        widget=forms.Textarea(attrs={"rows": 14, "spellcheck": "false"}),
    )

    def clean(self):
        data = super().clean()
        upload = data.get("spec_file")
        if upload:
            if upload.size > 1_000_000:
                raise forms.ValidationError("a spec file is small; this one is over 1 MB")
            try:
                data["text"] = upload.read().decode("utf-8")
            except UnicodeDecodeError:
                raise forms.ValidationError("the spec file is not UTF-8 text") from None
        elif data.get("spec_text", "").strip():
            data["text"] = data["spec_text"]
        else:
            raise forms.ValidationError("choose a spec file or paste one")
        return data


class CorpusUploadForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        help_text="Importing into an existing corpus adds "
        "its new articles; unchanged ones are not duplicated.",
    )
    file = forms.FileField(help_text="JSONL or CSV with title and body; see the README.")

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if not upload.name.lower().endswith((".jsonl", ".csv")):
            raise forms.ValidationError("use a .jsonl or .csv file")
        return upload


class ExcludeForm(forms.Form):
    article = forms.CharField(widget=forms.HiddenInput)
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        strip=True,
        min_length=3,
        help_text="Why this text is broken or harmful. Not for picking the better texts.",
    )


class ShareForm(forms.Form):
    username = forms.CharField(max_length=150)


class ConfirmForm(forms.Form):
    confirm = forms.BooleanField(required=True)


class WithdrawForm(forms.Form):
    judge = forms.CharField(max_length=64, widget=forms.HiddenInput)
    confirm = forms.BooleanField(required=True, label="Delete this judge's data")


class CopyForm(forms.Form):
    new_slug = forms.SlugField(max_length=79, label="New slug")


class PowerForm(forms.Form):
    """The planner's question: which condition, which test, and the assumed effects.

    The design (conditions, articles, margin) comes from one of the researcher's studies, or
    from the numbers below when none is chosen. Accuracy and both SDs (logit scale, as the
    mixed model estimates them) come from these fields or from a closed pilot study.
    """

    study = forms.ChoiceField(
        required=False,
        label="Design of study",
        help_text="Empty: a control and one condition, with the articles below.",
    )
    condition = forms.CharField(
        max_length=80,
        initial="model",
        label="Condition to plan for",
        help_text="A model condition of that study (not the control).",
    )
    test = forms.ChoiceField(
        choices=[
            ("t", "Student t (the paper's)"),
            ("welch", "Welch t"),
            ("mixed", "mixed model z (slow)"),
        ],
        initial="t",
        label="Difference test",
        help_text="Against the control, Holm-adjusted; equivalence to chance is TOST.",
    )
    pilot = forms.ChoiceField(
        required=False,
        label="Estimate from a closed study (pilot)",
        help_text="Empty: use the stated values below.",
    )
    accuracy = forms.FloatField(
        initial=0.55,
        min_value=0.01,
        max_value=0.99,
        help_text="The condition's: typical judge on a typical article.",
    )
    control_accuracy = forms.FloatField(
        initial=0.86, min_value=0.01, max_value=0.99, label="Control accuracy"
    )
    sd_judge = forms.FloatField(
        initial=0.5, min_value=0, max_value=5, label="SD of judges", help_text="Logit scale."
    )
    sd_article = forms.FloatField(
        initial=0.5, min_value=0, max_value=5, label="SD of articles", help_text="Logit scale."
    )
    articles = forms.IntegerField(initial=25, min_value=2, max_value=2000)
    margin = forms.FloatField(
        initial=0.05, min_value=0.005, max_value=0.25, label="Equivalence margin"
    )
    judges_per_list = IntListField(initial="5, 10, 20, 40, 80", label="Judges per list to try")
    target = forms.FloatField(initial=0.8, min_value=0.5, max_value=0.99, label="Target power")
    alpha = forms.FloatField(initial=0.05, min_value=0.001, max_value=0.2)
    n_sims = forms.IntegerField(
        initial=200, min_value=20, max_value=2000, label="Simulations per size"
    )

    def __init__(
        self,
        *args,
        pilots: list[str] | None = None,
        designs: dict[str, list[str]] | None = None,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.designs = designs or {}
        self.fields["pilot"].choices = [("", "none")] + [(s, s) for s in pilots or []]
        self.fields["study"].choices = [("", "none")] + [(s, s) for s in self.designs]

    def clean(self):
        data = super().clean()
        values = data.get("judges_per_list") or []
        if not values or len(values) > 8 or any(v < 1 or v > 1000 for v in values):
            self.add_error("judges_per_list", "give 1 to 8 whole numbers between 1 and 1000")
        study, condition = data.get("study"), data.get("condition")
        if study and condition and condition not in self.designs.get(study, []):
            names = ", ".join(self.designs.get(study, [])) or "none"
            self.add_error("condition", f"choose one of the study's model conditions: {names}")
        if not study and condition == "control":
            self.add_error("condition", "plan for a model condition, not the control")
        if data.get("test") == "mixed" and (data.get("n_sims") or 0) > 200:
            self.add_error("n_sims", "the mixed-model test allows at most 200 simulations")
        return data


_SPEC_TO_FIELD = {(section, key): name for name, (section, key) in SPEC_FIELDS.items()}
_PROBLEM = re.compile(
    r"^(?:\[\[conditions\]\] (?P<cond>#\d+|[^.:]+)\.(?P<ckey>\w+)"
    r"|\[(?P<section>\w+)\]\.(?P<skey>\w+)"
    r"|(?:spec\.)?(?P<key>\w+))"
)


def problem_fields(problems: list[str], spec: dict[str, Any]) -> set[str]:
    """The form fields a list of spec problems points at, to mark them in the page."""
    names = [c.get("name") for c in spec.get("conditions") or []]
    out = set()
    for problem in problems:
        m = _PROBLEM.match(problem)
        if not m:
            continue
        if m["cond"]:
            ref = m["cond"]
            index = (
                int(ref[1:]) - 1
                if ref.startswith("#")
                else (names.index(ref) if ref in names else None)
            )
            if index is not None:
                out.add(f"cond-{index}-{m['ckey']}")
        elif m["section"]:
            name = _SPEC_TO_FIELD.get((m["section"], m["skey"]))
            if name:
                out.add(name)
        elif m["key"]:
            name = _SPEC_TO_FIELD.get(("", m["key"]))
            if name:
                out.add(name)
    return out
