"""Newseval's generator: article bodies from language models, in batches, with provenance.

A plain library (no Django). The study side calls it like this::

    from generator import (
        load_registry, open_backend, Target, ContextArticle, choose_context, plan_batches,
        run_batch, select_candidate, DecodingSettings, SelectionSettings,
    )

    entry = load_registry()["smollm2-135m"]              # ModelEntry: name, backend, params, ...
    backend = open_backend(entry, threads=2)               # loaded once per process
    context = choose_context(pool, exclude_keys=study_keys, k=3, seed=study_seed)
    batches = plan_batches(targets, candidates=5, batch_size=8, seed=study_seed)
    for batch in batches:                                  # skip batches already stored
        candidates = run_batch(backend, batch, targets_by_key=by_key, context=context,
                               prompt_format="plain", decoding=DecodingSettings(temperature=0.8))
        # store all candidates of the batch in one transaction
    selection = select_candidate(candidates_of_one_target, human_body=target.human_body,
                                 selection=SelectionSettings(target_words=200))
    # selection.chosen / .machine_text / .human_text / .rejections / .failed_reason

Public API
----------
Registry: :func:`load_registry`, :func:`get_model`, :func:`default_model_name`,
:class:`ModelEntry`, :func:`resolve_model_path`, :func:`file_sha256`.
Backends: :func:`open_backend` (``transformers`` or ``openai``), :class:`Completion`,
:class:`BackendError`.
Prompts: :class:`Target`, :class:`ContextArticle`, :func:`choose_context`,
:func:`build_prompt` (formats ``plain`` and ``chat``).
Plan and run: :func:`plan_batches`, :class:`Batch`, :class:`WorkUnit`, :func:`run_batch`,
:class:`Candidate`.
Settings: :class:`DecodingSettings`, :class:`SelectionSettings`.
Selection and text: :func:`select_candidate`, :class:`Selection`, :func:`rejection_reason`,
:func:`cut_to_sentences`, :func:`word_count`, :func:`truncate_at_next_article`.
Contamination: :func:`contamination_warnings`, :class:`ContaminationReport`.
Tests: :mod:`generator.testing` (``make_tiny_model``).

Models: ``smollm2-135m`` (default, float32), ``smollm2-135m-bf16`` (same weights in bfloat16,
about twice as fast on this CPU, perplexity within 0.01%), ``gemma3-270m``; see models.toml and
README.md. ``open_backend(threads=N)`` sets torch's thread count for the whole process.

Importing this package does not import torch or transformers; they load with the first local
backend (or with :mod:`generator.decoding` / :mod:`generator.sampling`).
"""

from __future__ import annotations

from .backends import open_backend
from .backends.base import BackendError, Completion
from .contamination import ContaminationReport, contamination_warnings
from .plan import Batch, WorkUnit, candidate_seed, plan_batches
from .prompts import ContextArticle, Prompt, Target, build_prompt, choose_context
from .registry import (
    ModelEntry,
    RegistryError,
    default_model_name,
    file_sha256,
    get_model,
    load_registry,
    resolve_model_path,
)
from .run import Candidate, run_batch
from .selection import Selection, rejection_reason, select_candidate
from .settings import DecodingSettings, SelectionSettings
from .text import (
    body_without_subtitle,
    cut_text,
    cut_to_sentences,
    truncate_at_next_article,
    word_count,
)

__all__ = [
    "BackendError",
    "Batch",
    "Candidate",
    "Completion",
    "ContaminationReport",
    "ContextArticle",
    "DecodingSettings",
    "ModelEntry",
    "Prompt",
    "RegistryError",
    "Selection",
    "SelectionSettings",
    "Target",
    "WorkUnit",
    "body_without_subtitle",
    "build_prompt",
    "candidate_seed",
    "choose_context",
    "contamination_warnings",
    "cut_text",
    "cut_to_sentences",
    "default_model_name",
    "file_sha256",
    "get_model",
    "load_registry",
    "open_backend",
    "plan_batches",
    "rejection_reason",
    "resolve_model_path",
    "run_batch",
    "select_candidate",
    "truncate_at_next_article",
    "word_count",
]
