"""Fuzzing the dashboard's upload forms (specs and corpora) over HTTP, as the judge
endpoints are fuzzed in test_judge_flow.py: no input gives a 500, and a refused input
stores nothing (no study, no corpus or article, no file kept under the uploads folder)."""

from __future__ import annotations

import itertools
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from studies.models import Article, Corpus, Study
from tests.factories import TEST_MODELS, spec_text

FUZZ = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
_names = itertools.count()


@pytest.fixture(autouse=True)
def _test_models(monkeypatch):
    monkeypatch.setattr("studies.registry.registry_models", lambda: dict(TEST_MODELS))
    monkeypatch.setattr("studies.services.studies._models_or_none", lambda: dict(TEST_MODELS))


@pytest.fixture
def researcher(django_user_model, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    user = django_user_model.objects.create_user("fuzzer", password="pw-fuzz-123")
    client = Client()
    client.force_login(user)
    return client


def _kept_files(settings) -> int:
    root = settings.VAR_DIR / "uploads"
    return sum(1 for p in root.rglob("*") if p.is_file()) if root.exists() else 0


# TOML values a hostile or careless spec might hold, as TOML source.
HOSTILE_NUMBERS = ["10000000000", "100000000000000000000", "-1", "0", "nan", "inf", "1e20"]
TOML_VALUES = st.one_of(
    st.sampled_from(HOSTILE_NUMBERS),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr).filter(lambda r: "e" not in r),
    st.sampled_from(["nan", "inf", "-inf", "1e20", "1e308", "-0.0", "true", "false"]),
    st.text(max_size=30).map(json.dumps),
    st.sampled_from(['"' + "x" * 5000 + '"', "[]", "[1, 2]", '["a", 1]', "{}", "{a = 1}"]),
    st.integers(min_value=1, max_value=60).map(lambda n: "[" * n + "]" * n),
    st.sampled_from(["1979-05-27", "1979-05-27T07:32:00Z", "07:32:00"]),
)
BASE_LINES = spec_text(
    conditions=[
        {"name": "small", "model": "model-small", "params": 125_000_000, "top_k": 0},
        {"name": "control", "model": "model-bad", "temperature": 1.2, "control": True},
    ],
    attention_checks={"count": 1, "positions": [3]},
    expiry_minutes=90,
    items_per_judge=8,
    min_length_ratio=0.85,
    recruitment={"platform": "link", "estimated_minutes": 5},
).splitlines()
VALUE_LINES = [i for i, line in enumerate(BASE_LINES) if " = " in line]
NUMBER_LINES = [i for i in VALUE_LINES if BASE_LINES[i].split(" = ", 1)[1][:1].isdigit()]


@FUZZ
@given(
    changes=st.lists(
        st.tuples(st.sampled_from(NUMBER_LINES) | st.sampled_from(VALUE_LINES), TOML_VALUES),
        max_size=4,
    ),
    as_file=st.booleans(),
)
def test_fuzzed_spec_uploads_never_fail_or_store_refused_specs(
    researcher, corpus, changes, as_file
):
    lines = list(BASE_LINES)
    for index, value in changes:
        key = lines[index].split(" = ", 1)[0]
        lines[index] = f"{key} = {value}"
    slug = f"fuzz-{next(_names)}"
    lines = [f'slug = "{slug}"' if line.startswith("slug = ") else line for line in lines]
    text = "\n".join(lines) + "\n"
    if as_file:
        data = {"spec_file": SimpleUploadedFile("s.toml", text.encode())}
    else:
        data = {"spec_text": text}
    before = Study.objects.count()
    response = researcher.post(reverse("dashboard:study-upload"), data)
    assert response.status_code in (302, 400), response.status_code
    if response.status_code == 400:
        assert Study.objects.count() == before
    else:
        assert Study.objects.filter(slug=slug).exists() or Study.objects.count() == before + 1


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False)
    | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)
RECORDS = st.fixed_dictionaries(
    {},
    optional={
        "id": JSON_VALUES,
        "title": st.text(max_size=40) | JSON_VALUES,
        "body": st.text(max_size=300) | st.just("One sentence. And another one here."),
        "subtitle": st.text(max_size=30) | JSON_VALUES,
        "date": st.sampled_from(["2020-01-31", "31/01/2020", ""]) | JSON_VALUES,
        "url": st.text(max_size=20) | JSON_VALUES,
        "extra": JSON_VALUES,
    },
)
RAW_LINES = st.one_of(
    RECORDS.map(lambda r: json.dumps(r, allow_nan=True)),
    st.text(max_size=80),
    st.sampled_from(["NaN", "[" * 5000, '{"id": Infinity}', "\x00", "\ufeff{}"]),
)


@FUZZ
@given(lines=st.lists(RAW_LINES, min_size=1, max_size=6), suffix=st.sampled_from(["jsonl", "csv"]))
def test_fuzzed_corpus_uploads_never_fail_or_keep_refused_files(
    researcher, settings, lines, suffix
):
    name = f"fuzz{next(_names)}"
    if suffix == "csv":
        content = "id,title,body,date\n" + "\n".join(
            ",".join(json.dumps(part) for part in line.split(" ", 3)) for line in lines
        )
    else:
        content = "\n".join(lines)
    kept = _kept_files(settings)
    upload = SimpleUploadedFile(f"up.{suffix}", content.encode("utf-8", "surrogatepass"))
    response = researcher.post(reverse("dashboard:corpus-upload"), {"name": name, "file": upload})
    assert response.status_code in (302, 400), response.status_code
    if response.status_code == 400:
        assert not Corpus.objects.filter(name=name).exists()
        assert not Article.objects.filter(corpus__name=name).exists()
        assert _kept_files(settings) == kept
    else:
        assert Article.objects.filter(corpus__name=name).exists()
