"""Scoring a list of texts with any set of detectors, the scoring models loaded once."""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .supervised import SUPERVISED, train_and_score
from .zero_shot import PAIRED, ZERO_SHOT, DetectorResult, ScoringSettings, score_zero_shot

ALL_DETECTORS = ZERO_SHOT + PAIRED + SUPERVISED
DEFAULT_DETECTORS = ZERO_SHOT + PAIRED + SUPERVISED


@dataclass
class TrainingSet:
    """Labelled texts for the supervised detectors (1 = machine), outside the scored items."""

    texts: list[str] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    provenance: dict[str, Any] = field(default_factory=dict)


def _entry_path(entry) -> str | None:
    from generator import resolve_model_path

    try:
        return str(resolve_model_path(entry).resolve())
    except Exception:  # noqa: BLE001 - an entry that cannot be resolved is no candidate
        return None


@functools.lru_cache(maxsize=16)
def _vocab_signature(path: str) -> tuple[int, int]:
    from pathlib import Path

    from transformers import AutoTokenizer

    p = Path(path)
    kwargs = {"gguf_file": p.name} if p.suffix == ".gguf" else {}
    folder = str(p.parent) if kwargs else str(p)
    tok = AutoTokenizer.from_pretrained(folder, local_files_only=True, **kwargs)
    return hash(tuple(sorted(tok.get_vocab().items()))), len(tok)


def find_observer(model: str, registry: str | os.PathLike[str] | None = None) -> tuple[str, str]:
    """A registry model for Binoculars beside ``model``: other weights, the same tokenizer.

    Returns ``(name, "")`` or ``("", reason)``.
    """
    from generator import load_registry

    entries = load_registry(registry)
    own = entries[model]
    own_path = _entry_path(own)
    if own.backend != "transformers" or own_path is None:
        return "", f"{model} is not a local model"
    others = []
    for name, entry in entries.items():
        if name == model or entry.backend != "transformers":
            continue
        path = _entry_path(entry)
        if path is None or path == own_path:
            continue
        others.append(name)
        if _vocab_signature(path) == _vocab_signature(own_path):
            return name, ""
    if not others:
        return "", f"the registry has no second local model beside {model} (other weights)"
    return "", f"no registry model shares {model}'s tokenizer (checked {', '.join(others)})"


def score_texts(
    texts: Sequence[str],
    detectors: Sequence[str] = DEFAULT_DETECTORS,
    *,
    model: str | None = None,
    observer: str | None = None,
    registry: str | os.PathLike[str] | None = None,
    settings: ScoringSettings | None = None,
    training: TrainingSet | None = None,
    threads: int | None = None,
) -> list[DetectorResult]:
    """Every named detector's scores on ``texts`` (higher = more machine-like), in order.

    ``model`` is the scoring model's registry name (default: the registry's default);
    ``observer`` the Binoculars observer (default: found by :func:`find_observer`);
    ``training`` the labelled texts for the supervised detectors (skipped without them).
    """
    from generator import default_model_name, get_model, open_backend

    unknown = [d for d in detectors if d not in ALL_DETECTORS]
    if unknown:
        raise ValueError(f"unknown detectors {unknown}; known: {list(ALL_DETECTORS)}")
    results: dict[str, DetectorResult] = {}
    zero = [d for d in detectors if d in ZERO_SHOT + PAIRED]
    if zero:
        model = model or default_model_name(registry)
        backend = open_backend(get_model(model, registry), threads=threads)
        observer_backend, reason = None, ""
        if "binoculars" in zero:
            name, reason = (observer, "") if observer else find_observer(model, registry)
            if name:
                observer_backend = open_backend(get_model(name, registry), threads=threads)
        for r in score_zero_shot(
            backend,
            texts,
            zero,
            settings=settings,
            observer=observer_backend,
            observer_reason=reason,
        ):
            results[r.detector] = r
    for name in (d for d in detectors if d in SUPERVISED):
        if training is None or not training.texts:
            results[name] = DetectorResult(
                name,
                [float("nan")] * len(texts),
                {"detector": name, "scoring_model": None, "seconds": 0.0},
                "no training texts given",
            )
            continue
        results[name] = train_and_score(
            name, training.texts, training.labels, texts, train_provenance=training.provenance
        )
    return [results[d] for d in detectors]
