"""Practice items: chosen once, at launch, and frozen in the study's record.

Practice texts come from corpus articles outside the study and its few-shot context, where
no model output exists; the machine-made text is a word-trigram chain over other articles,
honestly "written by a machine" and needing no model. Every choice is drawn from the study's
secret, and the result is stored, so a corpus upload after launch changes nothing a live
study shows, and judges cannot recompute which practice text is which.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from generator.text import (
    apply_paragraph_rule,
    cut_text,
    normalize_typography,
    split_sentences,
    word_count,
)
from studies.models import Article, Study
from studies.protocol import Protocol
from studies.randomness import derived_rng


def _markov_text(*, training: list[str], length: int, rng, opening: str = "") -> str:
    """About ``length`` words of a word-trigram chain over ``training``, ending on a sentence."""
    follow: dict[tuple[str, str], list[str]] = defaultdict(list)
    starts: list[tuple[str, str]] = []
    for body in training:
        words = body.split()
        for i in range(len(words) - 2):
            follow[(words[i], words[i + 1])].append(words[i + 2])
            if words[i][:1].isupper() and (i == 0 or words[i - 1][-1:] in '.!?"'):
                starts.append((words[i], words[i + 1]))
    if not starts:
        return ""
    first = tuple(opening.split()[:2])
    state = first if len(first) == 2 and first in follow else rng.choice(starts)
    out = list(state)
    # Run past the target so that the sentence cut below still leaves enough words.
    while len(out) < length * 2:
        nxt = follow.get(state)
        if not nxt:
            state = rng.choice(starts)
            out.extend(state)
            continue
        word = rng.choice(nxt)
        out.append(word)
        state = (state[1], word)
    text = " ".join(out)
    sentences = split_sentences(text)
    return " ".join(sentences[:-1]) if len(sentences) > 1 else text


def _pool(study: Study) -> list[Article]:
    excluded = set(study.study_articles.values_list("article_id", flat=True))
    return list(
        Article.objects.filter(corpus_id=study.corpus_id)
        .exclude(pk__in=excluded)
        .exclude(key__in=study.context_keys)
        .order_by("key")
    )


def practice_build(*, study: Study) -> list[dict[str, Any]]:
    """The study's practice items as plain data (what launch freezes)."""
    spec = study.spec
    practice = spec.get("practice", {})
    n = practice.get("items", 0) if practice.get("enabled", True) else 0
    if not n:
        return []
    rng = derived_rng(study.secret, "practice")
    pool = _pool(study)
    chosen = rng.sample(pool, min(len(pool), n + 6))
    articles, training = chosen[:n], [a.shown_body for a in chosen[n:]]
    target = spec.get("target_words", 200)
    rule = spec.get("paragraphs", "match")
    kinds = rng.random() < 0.5  # alternate the kinds, starting at random
    items = []
    for position, article in enumerate(articles):
        human_body = normalize_typography(article.shown_body)
        machine_body = normalize_typography(
            _markov_text(
                training=training or [article.shown_body],
                length=min(target, word_count(human_body)),
                rng=derived_rng(study.secret, "practice", position),
                opening=human_body,
            )
        )
        budget = min(target, word_count(machine_body))
        human, machine = cut_text(human_body, budget).text, cut_text(machine_body, budget).text
        human, machine = apply_paragraph_rule(human, machine, rule)
        first_kind = (position % 2 == 0) != kinds
        items.append(
            {
                "article_id": article.pk,
                "article": article.key,
                "title": article.title,
                "subtitle": article.subtitle,
                "human": human,
                "machine": machine,
                "is_machine": first_kind if study.protocol == Protocol.SINGLE else None,
                "human_side": ""
                if study.protocol == Protocol.SINGLE
                else ("left" if first_kind else "right"),
            }
        )
    return items
