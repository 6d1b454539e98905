"""The small interface every backend implements."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..prompts import Prompt
from ..registry import ModelEntry
from ..settings import DecodingSettings


class BackendError(RuntimeError):
    """A backend could not produce a completion (after its retries, where it retries)."""


@dataclass(frozen=True)
class Completion:
    """One raw completion, before cleaning and selection.

    ``finish_reason``: ``"eos"`` | ``"length"`` | ``"stop_text"`` (or what a server reports).
    ``extra`` holds backend-specific provenance (request ids, prefix-cache timings...).
    """

    text: str
    prompt_tokens: int | None  # None where a server does not say
    new_tokens: int | None
    finish_reason: str
    seconds: float
    extra: dict[str, Any] = field(default_factory=dict)


class Backend(Protocol):
    """What :func:`generator.run.run_batch` needs from a backend."""

    entry: ModelEntry

    def describe(self) -> dict[str, Any]:
        """Provenance shared by all completions: model, weights hash, versions, device, threads."""
        ...

    def complete(
        self,
        prompts: Sequence[Prompt],
        seeds: Sequence[int],
        decoding: DecodingSettings,
        progress: Callable[[int, int], None] | None = None,
    ) -> list[Completion]:
        """One completion per prompt, drawn with the matching seed. All prompts of one call
        share their context (one condition), which lets local backends reuse its cache.
        ``progress(tokens, finished)``, when given, is called as texts are drawn (tokens so
        far over all prompts, prompts finished); it may raise to abandon the call."""
        ...
