"""Generating one planned batch: prompts in, candidates with full provenance out."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .backends.base import Backend
from .plan import Batch
from .prompts import ContextArticle, Target, build_prompt
from .settings import DecodingSettings
from .text import truncate_at_next_article


@dataclass(frozen=True)
class Candidate:
    """One generated body. ``text`` is the cleaned text (cut at a new ``Title:`` line, outer
    white space removed); ``provenance`` is JSON-serialisable and says how it was made."""

    target_key: str
    candidate_index: int
    text: str
    provenance: dict[str, Any] = field(default_factory=dict)


def run_batch(
    backend: Backend,
    batch: Batch,
    *,
    targets_by_key: Mapping[str, Target],
    context: Sequence[ContextArticle],
    prompt_format: str = "plain",
    decoding: DecodingSettings | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[Candidate]:
    """Generate every work unit of ``batch``; one :class:`Candidate` per unit, in plan order.

    The texts are a function of the inputs alone (model, targets, context, format, settings,
    the batch's units and seeds), given the same thread count and library versions, so a
    batch lost to an interruption can be regenerated as it was. Provenance also records timings,
    which naturally differ between runs.
    """
    decoding = decoding if decoding is not None else DecodingSettings()
    prompts = [
        build_prompt(targets_by_key[u.target_key], context, prompt_format) for u in batch.units
    ]
    seeds = [u.seed for u in batch.units]
    if progress is None:
        completions = backend.complete(prompts, seeds, decoding)
    else:
        completions = backend.complete(prompts, seeds, decoding, progress=progress)
    shared = backend.describe()
    candidates = []
    for unit, prompt, completion in zip(batch.units, prompts, completions, strict=True):
        text, truncated = truncate_at_next_article(completion.text.strip())
        extra = {k: v for k, v in completion.extra.items() if k != "token_ids"}
        provenance = {
            **shared,
            "prompt_format": prompt_format,
            "context_article_ids": list(prompt.context_keys),
            "context_sha256": prompt.context_sha256,
            "decoding": decoding.as_dict(),
            "seed": unit.seed,
            "candidate_index": unit.candidate_index,
            "batch_index": batch.index,
            "batch_size": batch.size,
            "batch_units": [[u.target_key, u.candidate_index] for u in batch.units],
            "prompt_tokens": completion.prompt_tokens,
            "new_tokens": completion.new_tokens,
            "finish_reason": completion.finish_reason,
            "seconds": round(completion.seconds, 4),
            "truncated_at_next_title": truncated,
            "raw_text": completion.text,
            "rejection": None,
            **extra,
        }
        candidates.append(Candidate(unit.target_key, unit.candidate_index, text, provenance))
    return candidates
