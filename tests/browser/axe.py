"""axe-core accessibility checks for the browser tests.

axe-core comes from the npm registry (``package.json``; ``bin/setup`` runs ``npm ci``) and is
evaluated in the page under test by Playwright. ``assert_accessible(page, label)`` runs the
WCAG 2.x A/AA rules and best practices on the page as it is now and fails with one line per
violated rule, naming the first few offending nodes.
"""

from __future__ import annotations

from pathlib import Path

AXE_JS = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]


def axe_violations(page) -> list[dict]:
    """The axe-core violations on ``page`` (a list of axe's violation objects)."""
    if not AXE_JS.exists():
        raise AssertionError(f"axe-core is missing at {AXE_JS}: run `npm ci` (bin/setup does)")
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        # Evaluated over the DevTools protocol, which the pages' Content-Security-Policy
        # (script-src 'self') does not govern; a script tag would be refused, as it should be.
        page.evaluate(AXE_JS.read_text(encoding="utf-8"))
    result = page.evaluate(
        "async (tags) => await window.axe.run(document, {runOnly: {type: 'tag', values: tags}})",
        TAGS,
    )
    return result["violations"]


def describe(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        targets = [" ".join(map(str, node["target"])) for node in v["nodes"][:3]]
        lines.append(f"{v['id']} ({v['impact']}, {len(v['nodes'])} nodes): {'; '.join(targets)}")
    return "\n".join(lines)


def assert_accessible(page, label: str = "") -> None:
    """Fail when axe-core finds any violation on ``page``; ``label`` names the page."""
    violations = axe_violations(page)
    where = label or page.url
    assert not violations, f"axe-core violations on {where}:\n{describe(violations)}"
