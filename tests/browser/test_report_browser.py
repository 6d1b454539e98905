"""The analysis report in a real browser: phone and desktop widths, no horizontal page scroll
(wide tables scroll inside their own box), axe-core clean, figures inline as SVG. The report is a
static file, so no server is needed. Runtime ~30 s on 2 idle cores (two small analyses)."""

from __future__ import annotations

import pytest

from analysis import analyze, write_report
from analysis.simulate import SimCondition, simulate_responses
from tests.browser.axe import assert_accessible
from tests.browser.conftest import DESKTOP, PHONE

CONDS = (
    SimCondition("control", None, 0.85, True),
    SimCondition("a-rather-long-condition-name-125m", 125e6, 0.7),
    SimCondition("m-175b", 175e9, 0.52),
)


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    out = {}
    for paired in (False, True):
        df = simulate_responses(CONDS, judges_per_condition=8, n_articles=8, paired=paired, seed=21)
        df["simulated"] = False
        folder = tmp_path_factory.mktemp("paired" if paired else "rating")
        write_report(analyze(df, n_boot=50, power_sims=10), folder)
        out["paired" if paired else "rating"] = folder / "report.html"
    return out


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["rating", "paired"])
def test_report_fits_phone_and_desktop_and_is_accessible(page, screenshot, reports, kind):
    page.goto(reports[kind].as_uri())
    for name, size in (("phone", PHONE), ("desktop", DESKTOP)):
        page.set_viewport_size(size)
        overflow = page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{kind} report scrolls sideways by {overflow}px at {name} width"
        screenshot(page, f"report-{kind}-{name}", full_page=False)
    first = page.locator("#findings li").first.inner_text()
    assert first and "judges remain" in first
    assert page.locator("figure svg").count() >= 2
    # the first screen (desktop) shows the findings
    box = page.locator("#findings").bounding_box()
    assert box is not None and box["y"] < DESKTOP["height"]
    if kind == "rating":  # same page template for both; axe on a long page is slow
        assert_accessible(page, f"{kind} report")
    assert not page.console_errors
