"""Fixtures for the generator tests: a tiny random model (fast) and, via
tests.model_fixtures, the shared SmolLM2 backend (slow)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

CORPUS = Path(
    os.environ.get(
        "NEWSEVAL_CORPUS",
        Path(__file__).resolve().parents[3] / "shared" / "data" / "news" / "articles.jsonl",
    )
)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    from generator.testing import make_tiny_model

    return make_tiny_model(tmp_path_factory.mktemp("tiny") / "model")


@pytest.fixture(scope="session")
def tiny_registry(tiny_model_dir, tmp_path_factory):
    from generator.testing import tiny_registry_toml

    path = tmp_path_factory.mktemp("registry") / "models.toml"
    path.write_text(tiny_registry_toml(tiny_model_dir))
    return path


@pytest.fixture(scope="session")
def tiny_entry(tiny_registry):
    from generator import load_registry

    return load_registry(tiny_registry)["tiny"]


@pytest.fixture(scope="session")
def tiny_backend(tiny_entry):
    from generator import open_backend

    return open_backend(tiny_entry, device="cpu")


@pytest.fixture(scope="session")
def corpus():
    """The shared news corpus (read in place, never copied into the repository)."""
    if not CORPUS.exists():
        pytest.skip(f"shared corpus not found at {CORPUS}")
    with CORPUS.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]
