"""The judging services and selectors on their own: rendering, practice, rate limits."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ImproperlyConfigured

from studies.models import EntryAttempt
from studies.selectors.judging import practice_item, text_paragraphs
from studies.services import judging
from studies.services.assignment import judge_enter


def test_every_text_is_split_and_normalised_the_same_way():
    human = "\u201cWe won,\u201d she said.\r\n\r\nIt was  close\u2026\n  \n<b>Really</b>.\n"
    machine = '"We won," she said.\n\nIt was close...\n\n<b>Really</b>.'
    assert (
        text_paragraphs(human)
        == text_paragraphs(machine)
        == ('"We won," she said.', "It was close...", "<b>Really</b>.")
    )
    assert text_paragraphs("one\nline") == ("one line",)
    assert text_paragraphs("  \n\n ") == ()


@pytest.mark.parametrize("protocol", ["single", "paired"])
def test_practice_uses_articles_outside_the_study(make_study, protocol):
    study = make_study(protocol=protocol, practice={"enabled": True, "items": 4})
    inside = set(study.study_articles.values_list("article__key", flat=True))
    items = [practice_item(study=study, position=i) for i in range(4)]
    assert practice_item(study=study, position=4) is None
    assert all(i.article.key not in inside | set(study.context_keys) for i in items)
    if protocol == "single":
        assert {i.is_machine for i in items} == {True, False}
        assert all(len(i.view.bodies) == 1 for i in items)
    else:
        assert {i.human_side for i in items} == {"left", "right"}
        assert all(len(i.view.bodies) == 2 for i in items)
    again = practice_item(study=study, position=0)
    assert again.view == items[0].view, "the same practice set for every judge"


def test_parse_rate():
    assert judging.parse_rate("20/m") == (20, dt.timedelta(minutes=1))
    assert judging.parse_rate("100/5m") == (100, dt.timedelta(minutes=5))
    assert judging.parse_rate("") is None and judging.parse_rate("0") is None
    with pytest.raises(ImproperlyConfigured):
        judging.parse_rate("lots")


def test_entry_attempts_are_limited_per_key(db):
    key = judging.entry_key(study_id=1, external_id="p", address="10.0.0.1")
    assert [judging.entry_attempt_allow(key=key, rate="3/h") for _ in range(4)] == [
        True,
        True,
        True,
        False,
    ]
    other = judging.entry_key(study_id=1, external_id="q", address="10.0.0.1")
    assert judging.entry_attempt_allow(key=other, rate="3/h")
    assert EntryAttempt.objects.count() == 4


def test_answer_service_refuses_and_clamps(make_live_study):
    study = make_live_study()
    judge = judge_enter(study_id=study.pk, platform="link", external_id=None).judge
    judge = judging.judge_consent(judge=judge)
    judge = judging.judge_instructions_done(judge=judge)
    assert judge.stage == "items" and judge.consent_version == "1"
    first = judging.item_serve(judge=judge).item
    second = judge.items.get(position=1)
    with pytest.raises(judging.AnswerRefused) as info:
        judging.item_answer(judge=judge, item_token=second.token, rating=1)
    assert info.value.reason == "not_current"
    with pytest.raises(ValueError):
        judging.item_answer(judge=judge, item_token=first.token, choice="left", confidence=2)
    later = first.served_at + dt.timedelta(seconds=3)
    stored = judging.item_answer(
        judge=judge, item_token=first.token, rating=5, visible_ms=10**8, pastes=10**6, now=later
    )
    assert stored.server_ms == 3000 and stored.visible_ms == 3000 + judging.VISIBLE_SLACK_MS
    assert stored.paste_count == judging.MAX_COUNT_PER_REQUEST
    with pytest.raises(judging.AnswerRefused) as info:
        judging.item_answer(judge=judge, item_token=first.token, rating=1)
    assert info.value.reason == "answered"
    with pytest.raises(judging.AnswerRefused) as info:
        judging.item_answer(judge=judge, item_token=second.token, rating=1)
    assert info.value.reason == "not_served"
    with pytest.raises(judging.AnswerRefused):
        judging.judge_complete(judge=judge, closing={})
