"""Validation of everything a judge posts. Forms validate; services store."""

from __future__ import annotations

from dataclasses import dataclass

from django import forms
from django.utils.translation import gettext_lazy as _

from studies.wording import CONFIDENCE_CHOICES, RATING_CHOICES, SIDE_CHOICES  # noqa: E402

__all__ = ["CONFIDENCE_CHOICES", "RATING_CHOICES", "SIDE_CHOICES"]

MAX_MS = 24 * 3600 * 1000


class _Signals(forms.Form):
    """What the page measured since its last report: visible time and event counts."""

    item = forms.CharField(max_length=40)
    visible_ms = forms.IntegerField(min_value=0, max_value=MAX_MS, required=False)
    pastes = forms.IntegerField(min_value=0, max_value=10_000, required=False)
    copies = forms.IntegerField(min_value=0, max_value=10_000, required=False)
    tabaways = forms.IntegerField(min_value=0, max_value=10_000, required=False)

    def signals(self) -> dict[str, int]:
        return {
            k: self.cleaned_data.get(k) or 0 for k in ("visible_ms", "pastes", "copies", "tabaways")
        }


class SignalForm(_Signals):
    pass


class SingleAnswerForm(_Signals):
    rating = forms.TypedChoiceField(
        choices=RATING_CHOICES,
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Please choose one of the five answers."),
            "invalid_choice": _("Please choose one of the five answers."),
        },
    )

    def answer(self) -> dict:
        return {"rating": self.cleaned_data["rating"]}


class PairedAnswerForm(_Signals):
    choice = forms.ChoiceField(
        choices=SIDE_CHOICES,
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Please choose the text you think a human wrote."),
            "invalid_choice": _("Please choose text A or text B."),
        },
    )
    confidence = forms.TypedChoiceField(
        choices=CONFIDENCE_CHOICES,
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Please say how confident you are, from 1 to 5."),
            "invalid_choice": _("Please say how confident you are, from 1 to 5."),
        },
    )

    def answer(self) -> dict:
        return {
            "choice": self.cleaned_data["choice"],
            "confidence": self.cleaned_data["confidence"],
        }


def answer_form(protocol: str, *args, **kwargs) -> SingleAnswerForm | PairedAnswerForm:
    return (SingleAnswerForm if protocol == "single" else PairedAnswerForm)(*args, **kwargs)


@dataclass(frozen=True)
class Option:
    value: str
    label: str
    checked: bool


def answer_options(form: forms.Form | None = None) -> dict[str, list[Option]]:
    """The answer's radio buttons; when a refused answer is shown again, what the judge
    chose stays checked. (Built here rather than from the form's fields in the template:
    the item page is the most requested page, and this is ten times cheaper.)"""
    data = form.data if form is not None else {}

    def options(name: str, choices: list) -> list[Option]:
        chosen = data.get(name)
        return [Option(str(v), str(label), chosen == str(v)) for v, label in choices]

    return {
        "rating_options": options("rating", RATING_CHOICES),
        "side_options": options("choice", SIDE_CHOICES),
        "confidence_options": options("confidence", CONFIDENCE_CHOICES),
    }


class ConsentForm(forms.Form):
    agree = forms.BooleanField(
        required=False,
        label=_("I have read the information above and agree to take part."),
    )
    decision = forms.ChoiceField(choices=[("agree", "agree"), ("decline", "decline")])

    def clean(self):
        data = super().clean()
        if data.get("decision") == "agree" and not data.get("agree"):
            raise forms.ValidationError(
                _("Please tick the box to confirm that you agree, or choose not to take part.")
            )
        return data


YES_NO_UNSURE = [("yes", _("Yes")), ("no", _("No")), ("unsure", _("Not sure"))]
YES_NO = [("yes", _("Yes")), ("no", _("No"))]
PREFER_NOT = ("", _("Prefer not to say"))

DEMOGRAPHIC_FIELDS = {
    "age": lambda: forms.ChoiceField(
        label=_("Your age"),
        required=False,
        choices=[
            PREFER_NOT,
            ("18-24", "18-24"),
            ("25-34", "25-34"),
            ("35-44", "35-44"),
            ("45-54", "45-54"),
            ("55-64", "55-64"),
            ("65+", _("65 or older")),
        ],
    ),
    "gender": lambda: forms.ChoiceField(
        label=_("Your gender"),
        required=False,
        choices=[
            PREFER_NOT,
            ("woman", _("Woman")),
            ("man", _("Man")),
            ("non-binary", _("Non-binary")),
            ("other", _("Another gender")),
        ],
    ),
    "education": lambda: forms.ChoiceField(
        label=_("Your highest completed education"),
        required=False,
        choices=[
            PREFER_NOT,
            ("secondary", _("Secondary school or less")),
            ("vocational", _("Vocational or some college")),
            ("bachelor", _("Bachelor's degree")),
            ("graduate", _("Graduate degree")),
        ],
    ),
    "country": lambda: forms.CharField(
        label=_("The country you live in"),
        required=False,
        max_length=80,
    ),
    "native_language": lambda: forms.CharField(
        label=_("Your first language"),
        required=False,
        max_length=80,
    ),
    "news_reading": lambda: forms.ChoiceField(
        label=_("How often do you read news articles?"),
        required=False,
        choices=[
            PREFER_NOT,
            ("daily", _("Every day")),
            ("weekly", _("A few times a week")),
            ("monthly", _("A few times a month")),
            ("rarely", _("Rarely or never")),
        ],
    ),
}


class ClosingForm(forms.Form):
    seen_before = forms.ChoiceField(
        label=_("Had you seen any of these articles before this study?"),
        choices=YES_NO_UNSURE,
        widget=forms.RadioSelect,
        error_messages={"required": _("Please answer whether you had seen any before.")},
    )
    looked_up = forms.ChoiceField(
        label=_(
            "Did you look anything up while answering (for example, search the web for "
            "an article or ask a chatbot)? An honest answer does not affect your pay."
        ),
        choices=YES_NO,
        widget=forms.RadioSelect,
        error_messages={"required": _("Please answer whether you looked anything up.")},
    )
    comments = forms.CharField(
        label=_("Any comments? (optional)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )

    def __init__(
        self,
        *args,
        demographics: list[str] | tuple[str, ...] = (),
        questions: list[dict] | tuple[dict, ...] = (),
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.demographics = [d for d in demographics if d in DEMOGRAPHIC_FIELDS]
        for name in self.demographics:
            self.fields[name] = DEMOGRAPHIC_FIELDS[name]()
        self.questions = list(questions)
        for q in self.questions:
            self.fields[f"q_{q['name']}"] = question_field(q)

    def closing(self) -> dict:
        data = {k: self.cleaned_data[k] for k in ("seen_before", "looked_up", "comments")}
        data["demographics"] = {k: self.cleaned_data.get(k, "") for k in self.demographics}
        if self.questions:
            data["questions"] = {
                q["name"]: self.cleaned_data.get(f"q_{q['name']}", "") for q in self.questions
            }
        return data


def question_field(q: dict) -> forms.Field:
    """A researcher's closing question (spec ``[[closing_questions]]``) as a form field.

    The prompt and options are the researcher's words, shown as plain text."""
    required = bool(q.get("required"))
    errors = {"required": _("Please answer this question.")}
    label = q["prompt"]
    if q["kind"] == "choice":
        return forms.ChoiceField(
            label=label,
            required=required,
            choices=[(o, o) for o in q["options"]],
            widget=forms.RadioSelect,
            error_messages=errors,
        )
    if q["kind"] == "scale":
        points = int(q.get("scale_points") or 5)
        choices = []
        for value in range(1, points + 1):
            text = str(value)
            if value == 1 and q.get("low_label"):
                text = f"{value} - {q['low_label']}"
            elif value == points and q.get("high_label"):
                text = f"{value} - {q['high_label']}"
            choices.append((value, text))
        return forms.TypedChoiceField(
            label=label,
            required=required,
            choices=choices,
            coerce=int,
            empty_value=None,
            widget=forms.RadioSelect,
            error_messages=errors,
        )
    return forms.CharField(
        label=label,
        required=required,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages=errors,
    )
