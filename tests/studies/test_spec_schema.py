"""The spec's schema is the one home of its keys: parse_spec and the docs agree with it."""

import copy
import dataclasses
import subprocess
import sys

import pytest

from studies import spec_doc, spec_schema
from studies.spec import ModelInfo, SpecError, parse_spec
from studies.spec_schema import BY_NAME, CLOSING_QUESTIONS, CONDITIONS, TABLES, TOP

MODELS = {"m": ModelInfo(params=125_000_000)}
BASE = {
    "slug": "schema-test",
    "title": "Schema",
    "corpus": "news",
    "conditions": [
        {"name": "m", "model": "m"},
        {
            "name": "control",
            "model": "m",
            "context_articles": 0,
            "temperature": 1.5,
            "control": True,
        },
    ],
    "closing_questions": [{"name": "device", "prompt": "Your device?"}],
}
# Values for the keys whose default is none, or is replaced when parsed (0 tokens: derived).
VALUES = {
    "seed": 7,
    "params": 5,
    "date_from": "2020-01-01",
    "date_to": "2020-12-31",
    "max_new_tokens": 300,
}


def _with(section, key, value):
    raw = copy.deepcopy(BASE)
    if section is TOP:
        raw[key] = value
    elif section.many:
        raw[section.name][0][key] = value
    else:
        raw[section.name] = {key: value}
    return raw


def _parsed_table(spec, section):
    if section is TOP:
        return spec
    return spec[section.name][0] if section.many else spec[section.name]


def _every_field(where=lambda f: True):
    return [
        pytest.param(section, f, id=f"{section.name or 'top'}.{f.key}")
        for section in spec_schema.SECTIONS
        for f in section.fields
        if where(f)
    ]


def test_the_parsed_spec_has_exactly_the_schema_keys():
    spec, _ = parse_spec(BASE, models=MODELS)
    assert set(spec) == {*TOP.keys, *(s.name for s in (*TABLES, CLOSING_QUESTIONS, CONDITIONS))}
    for section in (*TABLES, CLOSING_QUESTIONS, CONDITIONS):
        assert set(_parsed_table(spec, section)) == set(section.keys), section.name


@pytest.mark.parametrize(("section", "f"), _every_field())
def test_every_schema_key_is_accepted_with_its_default(section, f):
    value = VALUES.get(f.key, f.default)
    if f.required:
        value = _parsed_table(BASE, section)[f.key]
    spec, _ = parse_spec(_with(section, f.key, value), models=MODELS)
    if f.kind != "date":  # dates come back as ISO strings
        assert _parsed_table(spec, section)[f.key] == value


@pytest.mark.parametrize(
    "section", [TOP, *TABLES, CLOSING_QUESTIONS, CONDITIONS], ids=lambda s: s.name or "top"
)
def test_a_key_outside_the_schema_is_refused(section):
    with pytest.raises(SpecError, match="unknown key 'colour'"):
        parse_spec(_with(section, "colour", "blue"), models=MODELS)


@pytest.mark.parametrize(("section", "f"), _every_field(lambda f: f.kind in ("int", "float")))
def test_parse_spec_holds_every_number_to_the_schema_bounds(section, f):
    step = 1 if f.kind == "int" else 0.001
    for bad in (f.lo - step, f.hi + step) + ((f.lo,) if f.lo_open else ()):
        with pytest.raises(SpecError) as info:
            parse_spec(_with(section, f.key, bad), models=MODELS)
        assert any(f".{f.key}: must be" in p for p in info.value.problems), info.value.problems


@pytest.mark.parametrize(("section", "f"), _every_field(lambda f: bool(f.choices)))
def test_choices_outside_the_schema_are_refused(section, f):
    value = ["nope"] if f.kind == "list" else "nope"
    with pytest.raises(SpecError, match=f"{f.key}: (must be one of|unknown)"):
        parse_spec(_with(section, f.key, value), models=MODELS)


def test_every_field_has_help_and_a_form_label():
    for section in spec_schema.SECTIONS:
        for f in section.fields:
            assert f.help and f.help.strip() == f.help and "\n" not in f.help, f.key
            assert f.form_label


def test_docs_are_in_step_with_the_schema():
    text = spec_doc.DOC.read_text(encoding="utf-8")
    assert spec_doc.render(text) == text, "run: python -m studies.spec_doc"
    for section in spec_schema.SECTIONS:
        for f in section.fields:
            assert f"`{f.key}`" in text or f"`{section.name}.{f.key}`" in text, f.key


def test_the_docs_check_fails_when_the_schema_changes(tmp_path, capsys):
    # The check above is only worth having if a schema change makes it fail.
    text = spec_doc.DOC.read_text(encoding="utf-8")
    changed = dataclasses.replace(TOP["target_words"], default=250, hi=6000)
    top = dataclasses.replace(
        TOP, fields=tuple(changed if f.key == "target_words" else f for f in TOP.fields)
    )
    rendered = spec_doc.render(text, {**BY_NAME, "": top})
    assert rendered != text
    assert "| `target_words` | integer | `250` | 20 to 6,000 |" in rendered
    stale = tmp_path / "spec.md"
    stale.write_text(rendered, encoding="utf-8")
    assert spec_doc.main([str(stale), "--check"]) == 1
    assert "out of step" in capsys.readouterr().err
    assert spec_doc.main([str(stale)]) == 0  # rewritten from the real schema
    assert stale.read_text(encoding="utf-8") == text


def test_a_marker_naming_no_section_is_an_error():
    with pytest.raises(ValueError, match="no spec section"):
        spec_doc.render("<!-- spec-schema: nothing -->\n<!-- /spec-schema -->")


def test_the_schema_and_its_docs_do_not_import_django():
    code = (
        "import sys, studies.spec_schema, studies.spec_doc, studies.spec; "
        "assert not any(m.split('.')[0] == 'django' for m in sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_title_longer_than_its_column_is_refused_with_a_message():
    with pytest.raises(SpecError, match="title: at most 200 characters"):
        parse_spec(
            {
                "slug": "long-title",
                "title": "x" * 201,
                "corpus": "news",
                "conditions": [{"name": "m", "model": "m"}],
            },
            models={"m": ModelInfo(params=1)},
        )
