"""Shared fixtures: the shared corpus, and studies built on it.

``make_live_study`` fills the texts with a plain transformation of the human body
(sentences in reverse order), standing in for generation where a test is about
designs, assignment or judging and not about language models. Tests of generation
itself use real (tiny or SmolLM2) models.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from studies.models import Study
from studies.spec import ModelInfo

SHARED_CORPUS = Path(
    os.environ.get(
        "NEWSEVAL_DEFAULT_CORPUS",
        Path(__file__).resolve().parents[1].parent / "shared" / "data" / "news" / "articles.jsonl",
    )
)
TEST_MODELS = {
    "model-small": ModelInfo(params=125_000_000),
    "model-large": ModelInfo(params=1_300_000_000),
    "model-bad": ModelInfo(params=125_000_000),
}


@pytest.fixture(scope="session")
def shared_corpus_path() -> Path:
    assert SHARED_CORPUS.exists(), f"the shared corpus is missing at {SHARED_CORPUS}"
    return SHARED_CORPUS


@pytest.fixture(scope="session")
def tiny_registry(tmp_path_factory):
    """A model registry holding only a tiny random-weight model built here, named "tiny"."""
    from generator.testing import make_tiny_model, tiny_registry_toml

    folder = make_tiny_model(tmp_path_factory.mktemp("tiny") / "model")
    path = tmp_path_factory.mktemp("registry") / "models.toml"
    path.write_text(tiny_registry_toml(folder, name="tiny"), encoding="utf-8")
    return path


@pytest.fixture
def corpus(db, shared_corpus_path):
    from studies.services.corpora import corpus_import

    return corpus_import(path=shared_corpus_path, name="news").corpus


def spec_text(**overrides) -> str:
    """A small valid spec; keyword overrides replace top-level keys or whole sections."""
    from studies.services.studies import spec_to_toml

    spec = {
        "slug": "test-study",
        "title": "Test study",
        "corpus": "news",
        "protocol": "single",
        "design": "between",
        "seed": 7,
        "target_words": 120,
        "judges_per_list": 3,
        "articles": {"count": 8},
        "conditions": [
            {"name": "small", "model": "model-small", "context_articles": 1, "temperature": 0.7},
            {
                "name": "control",
                "model": "model-bad",
                "context_articles": 0,
                "temperature": 1.2,
                "control": True,
            },
        ],
    }
    spec.update(overrides)
    return spec_to_toml(spec)


def tiny_condition(name: str = "tiny", **overrides) -> dict:
    """A spec condition on the tiny random-weight model (``tiny_registry``'s "tiny")."""
    condition = {
        "name": name,
        "model": "tiny",
        "context_articles": 1,
        "candidates": 2,
        "temperature": 0.8,
        "max_new_tokens": 24,
    }
    condition.update(overrides)
    return condition


def generation_spec(*, articles: int, batch_size: int, **overrides) -> str:
    """A spec for generation tests: short targets, no candidate rejected for its length, and
    tiny-model conditions unless ``conditions`` is given."""
    options = dict(
        target_words=20,
        articles={"count": articles},
        generation={"batch_size": batch_size, "min_words_ratio": 0.0},
        conditions=[tiny_condition(control=True)],
    )
    options.update(overrides)
    return spec_text(**options)


def stand_in_machine_text(human: str) -> str:
    sentences = [s for s in human.replace("\n\n", " ").split(". ") if s]
    return ". ".join(reversed(sentences))


def fill_texts(study: Study) -> None:
    from studies.services.texts import text_store

    for cond in study.conditions.all():
        for sa in study.study_articles.select_related("article"):
            human = " ".join(sa.article.shown_body.split()[: study.spec["target_words"]])
            text_store(
                condition=cond,
                article=sa.article,
                is_machine=False,
                body=human,
                provenance={"kind": "human"},
            )
            text_store(
                condition=cond,
                article=sa.article,
                is_machine=True,
                body=stand_in_machine_text(human),
                provenance={"kind": "test stand-in", "condition": cond.name},
            )
    study.status = Study.Status.READY
    study.save(update_fields=["status"])


@pytest.fixture
def make_study(corpus):
    from studies.services.studies import study_create

    def make(**overrides) -> Study:
        study, _ = study_create(spec_text=spec_text(**overrides), models=TEST_MODELS)
        return study

    return make


@pytest.fixture
def make_live_study(make_study):
    from studies.services.studies import study_launch

    def make(**overrides) -> Study:
        study = make_study(**overrides)
        fill_texts(study)
        return study_launch(study=study)

    return make
