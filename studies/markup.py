"""The researcher's texts as judges see them: simple Markdown, sanitised.

Researchers write consent, instructions, debrief and questions in Markdown. Raw HTML is
not Markdown's business here: it is escaped before conversion, and the converted HTML is
cleaned by nh3 (an allow-list of a few formatting tags; links only to http, https and
mailto, opened without the referrer). Nothing a researcher writes can run a script.
"""

from __future__ import annotations

import functools
import html

import markdown
import nh3

TAGS = {"p", "br", "strong", "em", "ul", "ol", "li", "a", "code", "blockquote", "h2", "h3"}
ATTRIBUTES = {"a": {"href"}}


@functools.lru_cache(maxsize=256)
def markdown_html(text: str) -> str:
    """Safe HTML for ``text`` (Markdown); the empty string for blank text."""
    if not text or not text.strip():
        return ""
    converted = markdown.markdown(html.escape(text, quote=False), output_format="html")
    return nh3.clean(
        converted,
        tags=TAGS,
        attributes=ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
    )


def plain_text(text: str) -> str:
    """One-line text with no markup at all (question prompts, contact lines)."""
    return " ".join(str(text).split())


def judge_texts(spec: dict) -> dict[str, str]:
    """The study's own texts for the judge's pages, ready for a template: Markdown ones as
    safe HTML (empty when the built-in text applies), the others as plain lines."""
    from django.utils.safestring import mark_safe

    texts = spec.get("texts", {})
    out: dict[str, str] = {
        key: mark_safe(markdown_html(texts.get(key, "")))  # noqa: S308 - sanitised by nh3
        for key in ("consent", "instructions", "debrief")
    }
    out["researcher_contact"] = mark_safe(markdown_html(texts.get("researcher_contact", "")))  # noqa: S308
    out["ethics_approval"] = plain_text(texts.get("ethics_approval", ""))
    return out
