"""Forms of the researcher's dashboard. They validate input and build plain data; the
services do the writing.

The study form is the spec file as a form: it builds the same spec dict a TOML file
would hold, leaving out fields left empty so the spec's own defaults apply, and the spec
then goes through the same validation as ``create_study`` (``parse_spec``).
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.forms import formset_factory

from studies import spec as spec_lib
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


def _choices(values: tuple[str, ...]) -> list[tuple[str, str]]:
    return [(v, v) for v in values]


D = spec_lib.DEFAULTS
A = spec_lib.ARTICLE_DEFAULTS
R = spec_lib.RECRUITMENT_DEFAULTS
N = spec_lib.ANALYSIS_DEFAULTS
G = spec_lib.GENERATION_DEFAULTS
C = spec_lib.CONDITION_DEFAULTS

# Form field name -> (spec section or None for top level, spec key).
SPEC_FIELDS: dict[str, tuple[str | None, str]] = {
    "slug": (None, "slug"),
    "title": (None, "title"),
    "corpus": (None, "corpus"),
    "protocol": (None, "protocol"),
    "design": (None, "design"),
    "seed": (None, "seed"),
    "target_words": (None, "target_words"),
    "items_per_judge": (None, "items_per_judge"),
    "judges_per_list": (None, "judges_per_list"),
    "expiry_minutes": (None, "expiry_minutes"),
    "consent_version": (None, "consent_version"),
    "exclude_judges_from": (None, "exclude_judges_from"),
    "articles_count": ("articles", "count"),
    "articles_ids": ("articles", "ids"),
    "articles_sources": ("articles", "sources"),
    "articles_date_from": ("articles", "date_from"),
    "articles_date_to": ("articles", "date_to"),
    "articles_exclude_containing": ("articles", "exclude_containing"),
    "articles_min_words": ("articles", "min_words"),
    "practice_enabled": ("practice", "enabled"),
    "practice_items": ("practice", "items"),
    "attention_count": ("attention_checks", "count"),
    "attention_positions": ("attention_checks", "positions"),
    "recruitment_platform": ("recruitment", "platform"),
    "recruitment_completion_code": ("recruitment", "completion_code"),
    "recruitment_completion_url": ("recruitment", "completion_url"),
    "recruitment_declined_code": ("recruitment", "declined_code"),
    "recruitment_declined_url": ("recruitment", "declined_url"),
    "recruitment_attention_failed_code": ("recruitment", "attention_failed_code"),
    "recruitment_attention_failed_url": ("recruitment", "attention_failed_url"),
    "recruitment_redirect_seconds": ("recruitment", "redirect_seconds"),
    "recruitment_pay": ("recruitment", "pay"),
    "recruitment_estimated_minutes": ("recruitment", "estimated_minutes"),
    "recruitment_demographics": ("recruitment", "demographics"),
    "language": (None, "language"),
    "texts_consent": ("texts", "consent"),
    "texts_instructions": ("texts", "instructions"),
    "texts_debrief": ("texts", "debrief"),
    "texts_researcher_contact": ("texts", "researcher_contact"),
    "texts_ethics_approval": ("texts", "ethics_approval"),
    "closing_questions": (None, "closing_questions"),
    "analysis_alpha": ("analysis", "alpha"),
    "analysis_equivalence_margin": ("analysis", "equivalence_margin"),
    "analysis_exclude_failed_attention": ("analysis", "exclude_failed_attention"),
    "analysis_exclude_looked_up": ("analysis", "exclude_looked_up"),
    "analysis_exclude_seen_before": ("analysis", "exclude_seen_before"),
    "analysis_min_ms_per_word": ("analysis", "min_ms_per_word"),
    "generation_batch_size": ("generation", "batch_size"),
    "generation_min_words_ratio": ("generation", "min_words_ratio"),
    "generation_min_distinct_4gram": ("generation", "min_distinct_4gram"),
}
# Checkboxes always send a value (unticked is False), so they are always written.
BOOLEAN_FIELDS = {
    "practice_enabled",
    "analysis_exclude_failed_attention",
    "analysis_exclude_looked_up",
    "analysis_exclude_seen_before",
}


class StudyForm(forms.Form):
    slug = forms.CharField(max_length=79, help_text="Lowercase letters, digits, hyphens.")
    title = forms.CharField(max_length=200)
    corpus = forms.ChoiceField(choices=[])
    protocol = forms.ChoiceField(
        choices=_choices(spec_lib.PROTOCOLS),
        initial=D["protocol"],
        help_text="single: one text at a time, 5-point scale (the paper's). paired: human and "
        "generated side by side.",
    )
    design = forms.ChoiceField(
        choices=_choices(spec_lib.DESIGNS),
        initial=D["design"],
        help_text="between: each judge sees one condition (the paper's). within: mixed.",
    )
    seed = forms.IntegerField(required=False, initial=D["seed"])
    target_words = forms.IntegerField(required=False, initial=D["target_words"])
    items_per_judge = forms.IntegerField(
        required=False, initial=D["items_per_judge"], help_text="0: every article of the study."
    )
    judges_per_list = forms.IntegerField(
        required=False, initial=D["judges_per_list"], help_text="Quota per condition-list cell."
    )
    expiry_minutes = forms.IntegerField(required=False, initial=D["expiry_minutes"])
    consent_version = forms.CharField(required=False, initial=D["consent_version"])
    exclude_judges_from = ListField(
        required=False, help_text="Slugs of earlier studies whose judges may not take part."
    )

    articles_count = forms.IntegerField(required=False, initial=A["count"], label="Articles")
    articles_ids = ListField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="Explicit article ids",
        help_text="Instead of a seeded sample.",
    )
    articles_sources = ListField(required=False, label="Only from sources")
    articles_date_from = forms.DateField(
        required=False, label="Dated from", widget=forms.DateInput(attrs={"type": "date"})
    )
    articles_date_to = forms.DateField(
        required=False, label="Dated to", widget=forms.DateInput(attrs={"type": "date"})
    )
    articles_exclude_containing = ListField(required=False, label="Leave out articles containing")
    articles_min_words = forms.IntegerField(
        required=False, initial=A["min_words"], label="Minimum words"
    )

    practice_enabled = forms.BooleanField(
        required=False, label="Practice round", initial=spec_lib.PRACTICE_DEFAULTS["enabled"]
    )
    practice_items = forms.IntegerField(
        required=False, label="Practice items", initial=spec_lib.PRACTICE_DEFAULTS["items"]
    )
    attention_count = forms.IntegerField(
        required=False, label="Attention checks", initial=spec_lib.ATTENTION_DEFAULTS["count"]
    )
    attention_positions = IntListField(
        required=False, label="At positions", help_text="Empty: spread evenly."
    )

    recruitment_platform = forms.ChoiceField(
        choices=_choices(spec_lib.PLATFORMS), initial=R["platform"], label="Platform"
    )
    recruitment_completion_code = forms.CharField(required=False, label="Completion code")
    recruitment_completion_url = forms.CharField(required=False, label="Completion URL")
    recruitment_declined_code = forms.CharField(required=False, label="Declined-consent code")
    recruitment_declined_url = forms.CharField(required=False, label="Declined-consent URL")
    recruitment_attention_failed_code = forms.CharField(
        required=False, label="Failed-attention code"
    )
    recruitment_attention_failed_url = forms.CharField(required=False, label="Failed-attention URL")
    recruitment_redirect_seconds = forms.IntegerField(
        required=False,
        initial=R["redirect_seconds"],
        label="Seconds before the redirect",
        help_text="Judges see the code and a countdown they can stop.",
    )
    recruitment_pay = forms.CharField(required=False, label="Pay (for the record)")
    recruitment_estimated_minutes = forms.IntegerField(
        required=False, initial=R["estimated_minutes"], label="Estimated minutes"
    )
    recruitment_demographics = forms.MultipleChoiceField(
        required=False,
        choices=_choices(spec_lib.DEMOGRAPHICS),
        widget=forms.CheckboxSelectMultiple,
        label="Demographic questions",
    )

    language = forms.ChoiceField(
        choices=[
            ("en", "English"),
            ("zh-hans", "Chinese (Simplified)"),
            ("es", "Spanish"),
            ("de", "German"),
        ],
        initial=D["language"],
        required=False,
        label="Judges' language",
    )
    texts_consent = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        label="Consent text",
        help_text="Simple Markdown. Empty: the built-in text, in the judges' language.",
    )
    texts_instructions = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        label="Instructions",
        help_text="Shown above the answer scale. Empty: the built-in text.",
    )
    texts_debrief = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        label="Debrief",
        help_text="Shown above the list of which texts were machine-made. Empty: built-in.",
    )
    texts_researcher_contact = forms.CharField(
        required=False, label="Researcher contact", help_text="E.g. a name and an email address."
    )
    texts_ethics_approval = forms.CharField(required=False, label="Ethics approval id")
    closing_questions = ClosingQuestionsField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        label="Closing questions",
        help_text="One per line: name | text, choice or scale | question | options "
        "separated by ; (choice) or low; high labels (scale). End with | required to require.",
    )

    analysis_alpha = forms.FloatField(required=False, initial=N["alpha"], label="Alpha")
    analysis_equivalence_margin = forms.FloatField(
        required=False, initial=N["equivalence_margin"], label="Equivalence margin"
    )
    analysis_exclude_failed_attention = forms.BooleanField(
        required=False,
        initial=N["exclude_failed_attention"],
        label="Exclude judges who fail an attention check",
    )
    analysis_exclude_looked_up = forms.BooleanField(
        required=False, initial=N["exclude_looked_up"], label="Exclude judges who looked things up"
    )
    analysis_exclude_seen_before = forms.BooleanField(
        required=False,
        initial=N["exclude_seen_before"],
        label="Exclude judges who had seen the articles",
    )
    analysis_min_ms_per_word = forms.IntegerField(
        required=False, initial=N["min_ms_per_word"], label="Minimum ms per word"
    )

    generation_batch_size = forms.IntegerField(
        required=False, initial=G["batch_size"], label="Batch size"
    )
    generation_min_words_ratio = forms.FloatField(
        required=False, initial=G["min_words_ratio"], label="Minimum length ratio"
    )
    generation_min_distinct_4gram = forms.FloatField(
        required=False, initial=G["min_distinct_4gram"], label="Minimum distinct 4-grams"
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
            target = spec if section is None else spec.setdefault(section, {})
            target[key] = value
        return spec


class ConditionForm(forms.Form):
    name = forms.CharField(max_length=80)
    model = forms.CharField(max_length=120, help_text="A name in the model registry.")
    params = forms.IntegerField(required=False, help_text="Empty: the registry's.")
    context_articles = forms.IntegerField(required=False, initial=C["context_articles"])
    prompt_format = forms.ChoiceField(
        choices=_choices(spec_lib.PROMPT_FORMATS), initial=C["prompt_format"]
    )
    temperature = forms.FloatField(required=False, initial=C["temperature"])
    top_p = forms.FloatField(required=False, initial=C["top_p"])
    top_k = forms.IntegerField(required=False, initial=C["top_k"])
    repetition_penalty = forms.FloatField(required=False, initial=C["repetition_penalty"])
    max_new_tokens = forms.IntegerField(
        required=False, initial=C["max_new_tokens"], help_text="0: 2.5 tokens per target word."
    )
    candidates = forms.IntegerField(required=False, initial=C["candidates"])
    control = forms.BooleanField(required=False)

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
            if key == "control":
                out[key] = bool(value)
            elif value not in (None, ""):
                out[key] = value
        return out


ConditionFormSet = formset_factory(ConditionForm, extra=0, min_num=1, validate_min=True)

INITIAL_CONDITIONS = [
    {"name": "model", "context_articles": 3, "temperature": 0.8, "candidates": 5},
    {
        "name": "control",
        "context_articles": 0,
        "temperature": 1.2,
        "candidates": 5,
        "control": True,
    },
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
        source = spec if section is None else spec.get(section) or {}
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
            name = _SPEC_TO_FIELD.get((None, m["key"]))
            if name:
                out.add(name)
    return out
