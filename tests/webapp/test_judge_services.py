"""The judging services and selectors on their own: rendering, practice, rate limits."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ImproperlyConfigured

from studies.models import EntryAttempt, Judge, JudgeItem, ListEntry, Study, Text
from studies.selectors.judging import (
    current_item_view,
    entry_content,
    judge_for_session,
    practice_item,
    text_paragraphs,
)
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
    assert judging.rate_parse("20/m") == (20, dt.timedelta(minutes=1))
    assert judging.rate_parse("100/5m") == (100, dt.timedelta(minutes=5))
    assert judging.rate_parse("") is None and judging.rate_parse("0") is None
    with pytest.raises(ImproperlyConfigured):
        judging.rate_parse("lots")


def test_entry_attempts_are_limited_per_key(db):
    key = judging.entry_key(study_id=1, address="10.0.0.1")
    assert [judging.entry_attempt_allow(key=key, rate="3/h") for _ in range(4)] == [
        True,
        True,
        True,
        False,
    ]
    other = judging.entry_key(study_id=1, address="10.0.0.2")
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


def _judge_at_items(study):
    judge = judge_enter(study_id=study.pk, platform="link", external_id=None).judge
    judge = judging.judge_consent(judge=judge)
    return judging.judge_instructions_done(judge=judge)


def test_serving_again_keeps_the_first_time(make_live_study):
    judge = _judge_at_items(make_live_study())
    first = judging.item_serve(judge=judge)
    again = judging.item_serve(judge=judge, now=first.item.served_at + dt.timedelta(minutes=5))
    assert again.item.pk == first.item.pk and again.item.served_at == first.item.served_at
    assert first.total == judge.item_count == judge.items.count()


def test_a_report_and_an_answer_both_count(make_live_study):
    judge = _judge_at_items(make_live_study())
    item = judging.item_serve(judge=judge).item
    later = item.served_at + dt.timedelta(seconds=20)
    # The page's report (on hide) arrives, then the answer: neither is lost.
    assert judging.item_signal(
        judge=judge, item_token=item.token, visible_ms=4000, pastes=2, now=later
    )
    stored = judging.item_answer(
        judge=judge, item_token=item.token, rating=2, visible_ms=6000, pastes=1, now=later
    )
    row = JudgeItem.objects.get(pk=item.pk)
    assert (row.visible_ms, row.paste_count, row.rating, row.server_ms) == (10000, 3, 2, 20000)
    assert (stored.visible_ms, stored.paste_count) == (10000, 3)


def test_the_last_answer_moves_the_judge_on_and_nothing_else_writes_the_judge(make_live_study):
    judge = _judge_at_items(make_live_study())
    seen = Judge.objects.get(pk=judge.pk).last_seen_at
    for _ in range(judge.item_count - 1):
        item = judging.item_serve(judge=judge).item
        judging.item_answer(judge=judge, item_token=item.token, rating=3)
        assert Judge.objects.get(pk=judge.pk).stage == "items" == judge.stage
    assert Judge.objects.get(pk=judge.pk).last_seen_at == seen
    item = judging.item_serve(judge=judge).item
    judging.item_answer(judge=judge, item_token=item.token, rating=3)
    assert Judge.objects.get(pk=judge.pk).stage == "closing" == judge.stage
    assert judging.item_serve(judge=judge) is None
    assert JudgeItem.objects.filter(judge=judge, answered_at__isnull=False).count() == (
        judge.item_count
    )


def test_a_judge_who_left_the_items_stage_cannot_answer(make_live_study):
    judge = _judge_at_items(make_live_study())
    item = judging.item_serve(judge=judge).item
    judge.status = Judge.Status.WITHDRAWN
    with pytest.raises(judging.AnswerRefused) as info:
        judging.item_answer(judge=judge, item_token=item.token, rating=3)
    assert info.value.reason == "stage"
    assert JudgeItem.objects.filter(judge=judge, answered_at__isnull=False).count() == 0


def test_the_session_judge_comes_with_a_fresh_status_and_its_own_copy_of_the_study(
    make_live_study,
):
    study = make_live_study()
    other = make_live_study(slug="other-study")
    judge = _judge_at_items(study)
    elsewhere = _judge_at_items(other)
    tokens = [elsewhere.session_key, 7, judge.session_key]  # a cookie can hold anything
    found = judge_for_session(slug=study.slug, keys=tokens)
    assert found.pk == judge.pk and found.study.pk == study.pk
    assert found.study.status == Study.Status.LIVE and found.study.slug == study.slug
    assert judge_for_session(slug=other.slug, keys=tokens).pk == elsewhere.pk
    assert judge_for_session(slug="no-such-study", keys=tokens) is None
    assert judge_for_session(slug=study.slug, keys=[]) is None
    found.study.spec["recruitment"]["pay"] = "changed in place"
    Study.objects.filter(pk=study.pk).update(status=Study.Status.PAUSED)
    again = judge_for_session(slug=study.slug, keys=tokens)
    assert again.study.status == Study.Status.PAUSED  # read with the judge, never cached
    assert again.study.spec["recruitment"].get("pay") != "changed in place"
    assert "frozen" in again.study.get_deferred_fields()


def test_entry_content_is_kept_per_launch_digest(make_live_study):
    study = make_live_study()
    judge = _judge_at_items(study)
    item = judging.item_serve(judge=judge).item
    entry = ListEntry.objects.select_related("text").get(pk=item.entry_id)
    shown = current_item_view(item=item, study=study, total=1)
    assert shown.bodies == entry_content(entry=entry, protocol=study.protocol).bodies
    Text.objects.filter(pk=entry.text_id).update(body="Changed <b>after</b> launch.")
    assert current_item_view(item=item, study=study, total=1).bodies == shown.bodies
    study.design_hash = "another launch"
    changed = current_item_view(item=item, study=study, total=1)
    assert changed.bodies == (("Changed <b>after</b> launch.",),)
    assert changed.bodies_html == ("<p>Changed &lt;b&gt;after&lt;/b&gt; launch.</p>",)


@pytest.mark.django_db(transaction=True)
def test_a_burst_of_simultaneous_entries_stays_within_the_limit():
    import threading

    from django.db import connection

    barrier, allowed = threading.Barrier(12), []

    def attempt() -> None:
        try:
            barrier.wait()
            allowed.append(judging.entry_attempt_allow(key="burst", rate="3/h"))
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(allowed) == [False] * 9 + [True] * 3
    assert EntryAttempt.objects.filter(key="burst").count() == 3
