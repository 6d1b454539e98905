import datetime as dt

import pytest

from generator import (
    ContextArticle,
    Target,
    build_prompt,
    choose_context,
    contamination_warnings,
    plan_batches,
)

POOL = [ContextArticle(f"k{i:02d}", f"T{i}", f"S{i}.", f"S{i}. Body {i}.") for i in range(20)]


def test_plain_layout_matches_the_paper():
    ctx = [ContextArticle("c", "Old news", "It happened.", "It happened. Then more.\n\nEnd.")]
    prompt = build_prompt(Target("t", "New  title", "Sub line.", "body"), ctx, "plain")
    assert prompt.text == (
        "Title: Old news\nSubtitle: It happened.\nArticle: Then more.\n\nEnd.\n\n"
        "Title: New title\nSubtitle: Sub line.\nArticle:"
    )
    assert prompt.context_keys == ("c",)
    no_context = build_prompt(Target("t", "A", "B", ""), [], "chat")
    assert no_context.context_text == "" and no_context.text == "Title: A\nSubtitle: B\nArticle:"
    with pytest.raises(ValueError, match="prompt_format"):
        build_prompt(Target("t", "A", "B", ""), [], "markdown")


def test_choose_context_is_pure_and_excludes_study_articles():
    first = choose_context(POOL, {"k01", "k02"}, 3, seed=7)
    again = choose_context(list(reversed(POOL)), ["k02", "k01"], 3, seed=7)
    assert [a.key for a in first] == [a.key for a in again]
    assert not {"k01", "k02"} & {a.key for a in first}
    assert [a.key for a in choose_context(POOL, (), 3, seed=8)] != [a.key for a in first]
    assert choose_context(POOL, (), 0, seed=1) == []
    with pytest.raises(ValueError, match="only 18 eligible"):
        choose_context(POOL, {"k00", "k01"}, 19, seed=1)


def test_plan_is_deterministic_and_seeds_do_not_depend_on_batching():
    targets = [Target(k, "t", "s") for k in ("b", "a", "c")]
    plan = plan_batches(targets, candidates=5, batch_size=4, seed=3)
    assert [b.index for b in plan] == [0, 1, 2, 3]
    assert [b.size for b in plan] == [4, 4, 4, 3]
    assert plan == plan_batches(list(reversed(targets)), candidates=5, batch_size=4, seed=3)
    units = [u for b in plan for u in b.units]
    assert [(u.target_key, u.candidate_index) for u in units][:6] == [
        ("a", 0),
        ("a", 1),
        ("a", 2),
        ("a", 3),
        ("a", 4),
        ("b", 0),
    ]
    other = [u for b in plan_batches(targets, candidates=5, batch_size=7, seed=3) for u in b.units]
    assert units == other
    assert len({u.seed for u in units}) == 15
    assert (
        plan_batches(targets, candidates=5, batch_size=4, seed=4)[0].units[0].seed != units[0].seed
    )


def test_contamination_warnings_and_summary():
    report = contamination_warnings(
        {"old": "2019-01-04", "same": dt.date(2024, 8, 1), "new": "2025-02-01", "nodate": None},
        dt.date(2024, 8, 1),
    )
    assert report.status == {
        "old": "predates_cutoff",
        "same": "predates_cutoff",
        "new": "clear",
        "nodate": "unknown",
    }
    assert set(report.warnings) == {"old", "same", "nodate"}
    assert (report.n_predates, report.n_unknown, report.n_clear) == (2, 1, 1)
    assert "2 dated before the cutoff" in report.summary
    unknown = contamination_warnings({"a": "2020-01-01"}, None)
    assert unknown.status == {"a": "unknown"} and "cutoff unknown" in unknown.warnings["a"]
