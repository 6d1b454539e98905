"""Every judge-facing string has a translation in each shipped catalogue (zh-hans, es, de),
with the same placeholders; the compiled catalogues match their sources; judges read their
study's language, and the launch record keeps the scale's wording."""

from __future__ import annotations

import ast
import gettext
import re
from pathlib import Path

import pytest
from django.utils.translation import templatize

from studies.wording import JUDGE_LANGUAGES, scale_wording
from tests.webapp.test_judge_flow import take

ROOT = Path(__file__).resolve().parents[2]
LOCALE = ROOT / "webapp" / "locale"
CATALOGUES = {"zh-hans": "zh_Hans", "es": "es", "de": "de"}
JUDGE_TEMPLATES = sorted((ROOT / "webapp" / "templates" / "judge").glob("*.html"))
JUDGE_PYTHON = [
    *sorted((ROOT / "webapp" / "views" / "judge").glob("*.py")),
    ROOT / "webapp" / "forms" / "judge.py",
    ROOT / "studies" / "wording.py",
    ROOT / "studies" / "services" / "assignment.py",
]
GETTEXT_NAMES = {"_", "gettext", "gettext_lazy", "ngettext", "ngettext_lazy"}
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _call_name(node: ast.Call) -> str:
    func = node.func
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def _strings_in_python(source: str) -> set[tuple[str, ...]]:
    """(msgid,) or (singular, plural) for every gettext call with literal arguments."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and _call_name(node) in GETTEXT_NAMES:
            args = [a.value for a in node.args if isinstance(a, ast.Constant)]
            if args and all(isinstance(a, str) for a in args):
                plural = _call_name(node).startswith("ngettext")
                found.add(tuple(args[:2]) if plural else (args[0],))
    return found


def _strings_in_template(source: str) -> set[tuple[str, ...]]:
    # Django's own extraction: a template becomes gettext()/ngettext() calls amid filler.
    code = templatize(source)
    calls = re.findall(r"\b(n?gettext)\((u'(?:[^'\\]|\\.)*'(?:, u'(?:[^'\\]|\\.)*')?)", code)
    found = set()
    for name, args in calls:
        values = ast.literal_eval(f"({args},)")
        found.add(tuple(values[:2]) if name == "ngettext" else (values[0],))
    return found


def judge_facing_strings() -> set[tuple[str, ...]]:
    strings: set[tuple[str, ...]] = set()
    for path in JUDGE_TEMPLATES:
        strings |= _strings_in_template(path.read_text(encoding="utf-8"))
    for path in JUDGE_PYTHON:
        strings |= _strings_in_python(path.read_text(encoding="utf-8"))
    return strings


def _po_entries(path: Path) -> dict[str, list[str]]:
    """msgid -> msgstr forms, from a .po file (enough of the format for ours)."""
    entries: dict[str, list[str]] = {}
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        fields: dict[str, str] = {}
        key = None
        for line in block.splitlines():
            if line.startswith("#") or not line.strip():
                continue
            m = re.match(r'^(msgid|msgid_plural|msgstr(?:\[\d+\])?) (".*")$', line)
            if m:
                key = m.group(1)
                fields[key] = ast.literal_eval(m.group(2))
            elif key:
                fields[key] += ast.literal_eval(line)
        if fields.get("msgid"):
            forms = [v for k, v in sorted(fields.items()) if k.startswith("msgstr")]
            entries[fields["msgid"]] = forms
    return entries


def test_the_extraction_finds_the_judge_pages_strings():
    strings = judge_facing_strings()
    assert ("very likely written by a human",) in strings
    assert ("Information and consent",) in strings
    assert (
        "It takes about %(minutes)s minute.",
        "It takes about %(minutes)s minutes.",
    ) in strings
    assert len(strings) > 150


@pytest.mark.parametrize("language", sorted(CATALOGUES))
def test_every_judge_facing_string_is_translated(language):
    directory = LOCALE / CATALOGUES[language] / "LC_MESSAGES"
    with open(directory / "django.mo", "rb") as handle:
        catalogue = gettext.GNUTranslations(handle)._catalog  # type: ignore[attr-defined]
    missing, broken = [], []
    for msg in sorted(judge_facing_strings()):
        if len(msg) == 2:
            forms = [v for k, v in catalogue.items() if isinstance(k, tuple) and k[0] == msg[0]]
        else:
            forms = [catalogue.get(msg[0], "")]
        if not forms or not all(forms):
            missing.append(msg[0])
            continue
        wanted = set(PLACEHOLDER.findall(msg[0]))
        if any(set(PLACEHOLDER.findall(f)) != wanted for f in forms):
            broken.append(msg[0])
    assert not missing, f"{language}: untranslated judge-facing strings: {missing}"
    assert not broken, f"{language}: placeholders differ: {broken}"


@pytest.mark.parametrize("language", sorted(CATALOGUES))
def test_the_compiled_catalogue_matches_its_source(language):
    directory = LOCALE / CATALOGUES[language] / "LC_MESSAGES"
    with open(directory / "django.mo", "rb") as handle:
        compiled = gettext.GNUTranslations(handle)._catalog  # type: ignore[attr-defined]
    for msgid, forms in _po_entries(directory / "django.po").items():
        if len(forms) == 1 and (msgid, 0) not in compiled:
            assert compiled.get(msgid) == forms[0], f"{language}: stale .mo for {msgid!r}"
        else:
            assert [compiled.get((msgid, i)) for i in range(len(forms))] == forms, msgid


def test_scale_wording_is_recorded_per_language():
    assert set(JUDGE_LANGUAGES) == {"en", *CATALOGUES}
    assert scale_wording("en")["rating"]["1"] == "very likely written by a human"
    de = scale_wording("de")["rating"]
    assert de["1"] == "sehr wahrscheinlich von einem Menschen geschrieben"
    assert de["5"] == "sehr wahrscheinlich von einer Maschine geschrieben"
    assert scale_wording("zh-hans")["rating"]["3"] == "我不知道"
    assert len(set(scale_wording("es")["rating"].values())) == 5


@pytest.mark.django_db
def test_a_study_in_chinese_speaks_chinese_to_judges(make_live_study, client):
    study = make_live_study(language="zh_Hans", attention_checks={"count": 1, "positions": [1]})
    assert study.frozen["wording"]["rating"]["1"] == "很可能由人撰写"
    check = study.lists.first().entries.get(is_attention=True).attention
    assert check["title"] == "注意力检查" and "很可能由人撰写" in check["body"]
    page = take(client, f"/take/{study.slug}/", HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert '<html lang="zh-hans">' in page and "研究说明与知情同意" in page
    client.post(f"/take/{study.slug}/consent/", {"agree": "on", "decision": "agree"})
    item = client.post(f"/take/{study.slug}/instructions/", follow=True).content.decode()
    assert "很可能由机器撰写" in item and "注意力检查" in item
    english = client.get("/take/no-such-study/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Study not found" in english
