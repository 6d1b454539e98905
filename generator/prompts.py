"""Prompts in the paper's layout: few-shot context articles, then the target's title and subtitle.

``plain`` (the default) is the raw ``Title: / Subtitle: / Article:`` layout that a base model
continues. ``chat`` puts the same text into one user message and renders it with the model's
chat template (transformers backend) or sends it as a chat request (openai backend).

A prompt is kept in two parts, :attr:`Prompt.context_text` (shared by every target of a
condition) and :attr:`Prompt.target_text`, so the shared part can be prefilled once and its
key-value cache reused.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable
from dataclasses import dataclass

from .text import body_without_subtitle

PROMPT_FORMATS = ("plain", "chat")


@dataclass(frozen=True)
class Target:
    """An article to generate a body for. ``human_body`` is the body judges see (no subtitle)."""

    key: str
    title: str
    subtitle: str
    human_body: str = ""


@dataclass(frozen=True)
class ContextArticle:
    """A real article shown as a few-shot example. ``body`` may still start with the subtitle;
    the prompt drops that repetition (see :func:`article_block`)."""

    key: str
    title: str
    subtitle: str
    body: str


@dataclass(frozen=True)
class Prompt:
    """A prompt split into the shared context and the per-target part."""

    format: str
    context_text: str
    target_text: str
    context_keys: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        """The whole user text (plain layout)."""
        return self.context_text + self.target_text

    @property
    def context_sha256(self) -> str:
        return hashlib.sha256(self.context_text.encode()).hexdigest()


def _one_line(text: str) -> str:
    return " ".join(text.split())


def article_block(article: ContextArticle) -> str:
    """One context article in the paper's layout, ending with a blank line."""
    body = body_without_subtitle(article.body, article.subtitle)
    return (
        f"Title: {_one_line(article.title)}\n"
        f"Subtitle: {_one_line(article.subtitle)}\n"
        f"Article: {body.strip()}\n\n"
    )


def context_text(context: Iterable[ContextArticle]) -> str:
    """The shared few-shot part: every context article's block, in order ('' for no context)."""
    return "".join(article_block(a) for a in context)


def target_text(target: Target) -> str:
    """The target's title and subtitle; the model continues after ``Article:``."""
    return f"Title: {_one_line(target.title)}\nSubtitle: {_one_line(target.subtitle)}\nArticle:"


def build_prompt(target: Target, context: Iterable[ContextArticle], prompt_format: str) -> Prompt:
    """The prompt for one target. Both formats share the same text; ``chat`` only changes how a
    backend wraps it."""
    if prompt_format not in PROMPT_FORMATS:
        raise ValueError(f"prompt_format must be one of {PROMPT_FORMATS}, got {prompt_format!r}")
    context = list(context)
    return Prompt(
        format=prompt_format,
        context_text=context_text(context),
        target_text=target_text(target),
        context_keys=tuple(a.key for a in context),
    )


def choose_context(
    pool: Iterable[ContextArticle], exclude_keys: Iterable[str], k: int, seed: int
) -> list[ContextArticle]:
    """Draw ``k`` context articles with the study seed from ``pool`` minus ``exclude_keys``.

    Pure: the result depends only on the set of eligible keys, ``k`` and ``seed`` (not on the
    order of ``pool``). Raises ``ValueError`` when fewer than ``k`` articles are eligible.

    >>> pool = [ContextArticle(str(i), "t", "s", "b") for i in range(10)]
    >>> [a.key for a in choose_context(pool, {"1", "2"}, 3, seed=1)]
    ['0', '6', '3']
    """
    if k < 0:
        raise ValueError(f"k must be >= 0, got {k}")
    excluded = set(exclude_keys)
    eligible = sorted((a for a in pool if a.key not in excluded), key=lambda a: a.key)
    if len({a.key for a in eligible}) != len(eligible):
        raise ValueError("context pool has duplicate keys")
    if len(eligible) < k:
        raise ValueError(f"need {k} context articles, only {len(eligible)} eligible")
    rng = random.Random(f"newseval-context:{seed}")
    return rng.sample(eligible, k)
