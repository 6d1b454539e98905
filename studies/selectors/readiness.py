"""Whether a generated study's design can launch, and if not, why and what to change.

Generation ends ``ready`` only when this says the design can launch; otherwise the study
``needs attention`` and the overview shows these problems and advice, so the problem
surfaces before the researcher reaches the Launch button, not at launch.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from studies.models import Study, StudyArticle, Text

# A news text takes about 1.3 tokens a word in the usual BPE vocabularies; 2 leaves room
# for a model that spends tokens on punctuation, numbers and names.
TOKENS_PER_WORD = 2.0


@dataclass
class Readiness:
    can_launch: bool
    usable: int
    needed: int
    problems: list[str] = field(default_factory=list)
    advice: list[str] = field(default_factory=list)


# A generation drop reads "CONDITION: all candidates rejected: 0: too_short: 3 words < 10;
# 1: repetition: ..."; the rule names after each candidate number are what to count.
_RULE = re.compile(r"(?:^|[:;] )\d+: ([a-z_]+)")


def _reason_kinds(reasons: list[str]) -> Counter:
    """How many articles each rule dropped (an article counts once per rule)."""
    kinds: Counter = Counter()
    for reason in reasons:
        found = set(_RULE.findall(reason))
        if not found:
            found = {"human_unshowable" if "human text" in reason else "other"}
        kinds.update(found)
    return kinds


def study_readiness(study: Study) -> Readiness:
    """Can ``study`` launch as generated? The same test as ``study_launch`` makes."""
    conditions = list(study.conditions.order_by("position"))
    articles = list(StudyArticle.objects.filter(study=study).select_related("article"))
    kept = [sa for sa in articles if not sa.dropped]
    have = set(
        Text.objects.filter(study=study).values_list("condition_id", "article_id", "is_machine")
    )
    usable = [
        sa
        for sa in kept
        if all((c.pk, sa.article_id, m) in have for c in conditions for m in (False, True))
    ]
    groups = 2 * (len(conditions) if study.design == "within" else 1)
    per_judge = min(study.spec.get("items_per_judge") or len(usable), len(usable))
    out = Readiness(can_launch=per_judge >= groups, usable=len(usable), needed=groups)
    if out.can_launch:
        return out
    failed = [sa for sa in articles if sa.dropped and sa.drop_kind == "failed"]
    excluded = [sa for sa in articles if sa.dropped and sa.drop_kind == "excluded"]
    out.problems.append(
        f"Only {len(usable)} of {len(articles)} articles have texts for every condition; "
        f"this {study.design} design needs at least {groups}."
    )
    if failed:
        kinds = _reason_kinds([sa.drop_reason for sa in failed])
        listed = ", ".join(
            f"{n} {_KIND_WORDS.get(k, k)}"
            for k, n in sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0]))
        )
        out.problems.append(f"Generation dropped {len(failed)}: {listed}.")
        if kinds.get("too_short") or kinds.get("too_short_after_cut"):
            out.advice.append(_too_short_advice(study, conditions))
        if kinds.get("repetition"):
            out.advice.append(
                "Texts repeated themselves: raise repetition_penalty or temperature, or "
                "allow more candidates per article."
            )
        if set(kinds) - {"too_short", "too_short_after_cut", "repetition"}:  # read them
            out.advice.append(
                "Read the dropped texts on the Texts page; more candidates per article give "
                "each one more chances."
            )
    if excluded:
        out.problems.append(f"You excluded {len(excluded)} at review.")
        out.advice.append("Undo exclusions on the Texts page if some were not needed.")
    out.advice.append(
        "Edit the study (Edit spec) and generate again, or restore excluded articles."
    )
    return out


_KIND_WORDS = {
    "too_short": "too short",
    "too_short_after_cut": "too short after the cut",
    "repetition": "repetitive",
    "empty": "empty",
    "prompt_echo": "repeating the prompt",
    "human_unshowable": "with a human text that cannot be shown",
    "other": "for other reasons",
}


def word_floor(spec: dict) -> float:
    return spec["target_words"] * spec["generation"]["min_words_ratio"]


def _too_short_advice(study: Study, conditions) -> str:
    floor = word_floor(study.spec)
    need = int(floor * TOKENS_PER_WORD) + 16
    tokens = ", ".join(f"{c.name} {c.settings.get('max_new_tokens')}" for c in conditions)
    return (
        f"Texts came out shorter than the floor of {floor:g} words (target_words "
        f"{study.spec['target_words']} x min_words_ratio "
        f"{study.spec['generation']['min_words_ratio']:g}). Raise max_new_tokens (now {tokens}) "
        f"to about {need} or more, or set it to 0 for the automatic 2.5 tokens a target word; "
        "or lower target_words or min_words_ratio."
    )


def token_budget_warnings(spec: dict) -> list[str]:
    """Conditions whose ``max_new_tokens`` cannot reach the word floor: every text would be
    dropped as too short. Checked when the study is created or edited."""
    floor = word_floor(spec)
    out = []
    for cond in spec["conditions"]:
        tokens = cond.get("max_new_tokens") or 0
        if tokens and tokens < floor * TOKENS_PER_WORD:
            out.append(
                f"condition {cond['name']!r}: max_new_tokens = {tokens} gives about "
                f"{tokens / TOKENS_PER_WORD:.0f} words, but texts under {floor:g} words "
                f"(target_words x min_words_ratio) are dropped; raise it to at least "
                f"{int(floor * TOKENS_PER_WORD) + 16}, or 0 for the automatic value"
            )
    return out
