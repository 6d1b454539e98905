"""The dashboard's study form is generated from the spec's schema, and shows every key it
exposes; the spec's own checks, not the form's, judge the values."""

import pytest
from django import forms
from django.urls import reverse

from studies import spec_schema
from studies.spec import ModelInfo, parse_spec
from tests.factories import TEST_MODELS
from webapp.forms.dashboard import (
    SPEC_FIELDS,
    ClosingQuestionsField,
    ConditionForm,
    StudyForm,
    form_name,
)

STUDY_SECTIONS = (spec_schema.TOP, *spec_schema.TABLES)
# The form's own fields for the keys it words its own way: slug and title with a length
# limit, corpus as a menu of the user's corpora, the closing questions one per line.
FORM_OWN = {"slug", "title", "corpus", "closing_questions"}


def _exposed(section):
    return [f for f in section.fields if f.form]


def test_every_key_the_form_exposes_comes_from_the_schema():
    fields = StudyForm.base_fields
    expected = {form_name(s.name, f.key) for s in STUDY_SECTIONS for f in _exposed(s)}
    assert set(fields) == expected | {"closing_questions"}
    for section in STUDY_SECTIONS:
        for f in _exposed(section):
            name = form_name(section.name, f.key)
            assert SPEC_FIELDS[name] == (section.name, f.key)
            field = fields[name]
            assert field.help_text == f.help, name
            if name not in FORM_OWN:
                assert field.label == f.form_label and field.initial == f.default, name
                assert field.required == f.required, name
            if f.kind == "choice" and name not in FORM_OWN:
                assert [c for c, _ in field.choices] == list(f.choices), name
    assert set(ConditionForm.base_fields) == set(spec_schema.CONDITIONS.keys)
    for f in spec_schema.CONDITIONS.fields:
        assert ConditionForm.base_fields[f.key].help_text == f.help


def test_numbers_carry_the_schema_bounds_as_hints_only():
    field = StudyForm.base_fields["target_words"]
    assert field.widget.attrs == {"min": 20, "max": 5000}
    assert field.clean("5") == 5  # out of bounds: parse_spec says so, in its words
    assert "min" not in ConditionForm.base_fields["top_p"].widget.attrs  # (0, 1]: 0 is out


def test_the_closing_questions_line_carries_every_key_it_exposes():
    questions = [
        {
            "name": "device",
            "kind": "choice",
            "prompt": "Which?",
            "options": ["a", "b"],
            "required": True,
        },
        {
            "name": "mood",
            "kind": "scale",
            "prompt": "How?",
            "low_label": "sad",
            "high_label": "glad",
        },
    ]
    field = ClosingQuestionsField(required=False)
    assert field.to_python(field.prepare_value(questions)) == questions
    carried = {key for q in questions for key in q}
    exposed = {f.key for f in _exposed(spec_schema.CLOSING_QUESTIONS)}
    assert exposed == carried


@pytest.mark.django_db
def test_the_page_shows_every_field_of_the_form(client, django_user_model, monkeypatch):
    monkeypatch.setattr("studies.registry.registry_models", lambda: dict(TEST_MODELS))
    client.force_login(django_user_model.objects.create_user("sam", password="pw-sam-12345"))
    page = client.get(reverse("dashboard:study-new")).content.decode()
    for name in StudyForm.base_fields:
        assert f'name="{name}"' in page, name
    for name in ConditionForm.base_fields:
        assert f'name="cond-0-{name}"' in page, name
    for section in STUDY_SECTIONS:
        for f in _exposed(section):
            if f.help and form_name(section.name, f.key) not in {"closing_questions"}:
                assert f.help.replace("'", "&#x27;").replace('"', "&quot;") in page, f.key


@pytest.mark.django_db
def test_the_form_as_first_shown_submits_the_spec_defaults():
    # A browser posting the page untouched (but for the three required keys) describes
    # the same study as a spec file holding only those keys: initial values are defaults.
    shown = StudyForm(initial={"slug": "as-shown", "title": "T", "corpus": "news"})
    data = {}
    for name, field in shown.fields.items():
        value = shown[name].value()
        if isinstance(field, forms.BooleanField):
            if value:
                data[name] = "on"
        elif isinstance(field, forms.MultipleChoiceField):
            data[name] = value or []
        elif value not in (None, "", []):
            data[name] = field.prepare_value(value) if isinstance(value, list) else str(value)
    form = StudyForm(data)
    form.fields["corpus"].choices = [("news", "news")]
    assert form.is_valid(), form.errors
    conditions = [{"name": "m", "model": "m"}]
    models = {"m": ModelInfo(params=1)}
    from_form, _ = parse_spec(
        {**form.spec_dict(), "seed": 1, "conditions": conditions}, models=models
    )
    from_file, _ = parse_spec(
        {"slug": "as-shown", "title": "T", "corpus": "news", "seed": 1, "conditions": conditions},
        models=models,
    )
    assert from_form == from_file
