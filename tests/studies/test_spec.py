import pytest

from studies.spec import ModelInfo, SpecError, parse_spec_text

MODELS = {"m": ModelInfo(params=125_000_000), "big": ModelInfo(params=1_000_000_000)}

GOOD = """
slug = "gpt3-short"
title = "Short articles"
corpus = "news"

[[conditions]]
name = "m"
model = "m"

[[conditions]]
name = "control"
model = "m"
context_articles = 0
temperature = 1.5
control = true
"""


def test_defaults_are_filled_in():
    spec, warnings = parse_spec_text(GOOD, models=MODELS)
    assert spec["protocol"] == "single" and spec["design"] == "between"
    assert spec["articles"]["count"] == 25 and spec["target_words"] == 200
    assert spec["analysis"] == {
        "alpha": 0.05,
        "equivalence_margin": 0.05,
        "exclude_failed_attention": True,
        "exclude_looked_up": True,
        "exclude_seen_before": False,
        "min_ms_per_word": 0,
    }
    cond = spec["conditions"][0]
    assert cond["context_articles"] == 3 and cond["candidates"] == 5
    assert cond["params"] == 125_000_000 and cond["prompt_format"] == "plain"
    assert cond["max_new_tokens"] == 516
    assert warnings == []


def test_every_problem_is_listed():
    text = """
slug = "Bad Slug"
protocol = "triple"
target_words = "many"
colour = "blue"

[analysis]
alpha = 2

[[conditions]]
name = "x"
model = "unknown"
temperature = -1
"""
    with pytest.raises(SpecError) as info:
        parse_spec_text(text, models=MODELS)
    problems = "\n".join(info.value.problems)
    for expected in [
        "unknown key 'colour'",
        "title: required",
        "corpus: required",
        "slug: use",
        "protocol: must be one of single, paired",
        "target_words: must be an integer",
        "[analysis].alpha: must be in (0.0, 0.5]",
        "'unknown' is not in the model registry",
        "temperature: must be in [0.0, 10.0]",
    ]:
        assert expected in problems


def test_control_warnings_and_param_override():
    text = GOOD.replace(
        "context_articles = 0\ntemperature = 1.5", "context_articles = 2\ntemperature = 0.5"
    )
    text = text.replace('name = "m"\nmodel = "m"', 'name = "m"\nmodel = "m"\nparams = 7')
    spec, warnings = parse_spec_text(text, models=MODELS)
    joined = "\n".join(warnings)
    assert "has 2 context articles" in joined
    assert "no higher than the other conditions'" in joined
    assert "overrides the registry's 125000000" in joined
    assert spec["conditions"][0]["params"] == 7


def test_broken_toml():
    with pytest.raises(SpecError, match="not valid TOML"):
        parse_spec_text("slug = ", models=MODELS)


def test_items_per_judge_checks():
    text = GOOD.replace(
        'corpus = "news"', 'corpus = "news"\ndesign = "within"\nitems_per_judge = 3'
    )
    with pytest.raises(SpecError, match="needs at least 4 items per judge"):
        parse_spec_text(text, models=MODELS)
