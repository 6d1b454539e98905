"""The study in the researcher's words: consent, instructions, debrief, closing questions,
contact and ethics approval, from the spec and the form, frozen at launch, shown to judges
as sanitised simple Markdown."""

from __future__ import annotations

import html

import pytest

from studies.markup import markdown_html
from studies.models import Judge
from studies.spec import SpecError
from tests.webapp.test_judge_flow import answer_all, take

pytestmark = pytest.mark.django_db

TEXTS = {
    "consent": "Our **own** consent.\n\n<script>window.x=1</script> [more](javascript:alert(1))",
    "instructions": "Read *carefully*.",
    "debrief": "Thanks from [our lab](https://lab.example.org).",
    "researcher_contact": "Dr Ada, ada@example.org",
    "ethics_approval": "IRB-2026-042",
}
QUESTIONS = [
    {
        "name": "enjoyed",
        "kind": "scale",
        "prompt": "Did you enjoy it?",
        "low_label": "not at all",
        "high_label": "very much",
        "required": True,
    },
    {
        "name": "device",
        "kind": "choice",
        "prompt": "Your device <b>?</b>",
        "options": ["phone", "computer"],
    },
    {"name": "advice", "kind": "text", "prompt": "Advice for us?"},
]


def test_markdown_is_simple_and_sanitised():
    out = markdown_html("**a** <img src=x onerror=alert(1)> [l](javascript:x) [m](https://e.org)")
    assert "<strong>a</strong>" in out and "<img" not in out and "javascript" not in out
    assert '<a href="https://e.org" rel="noopener noreferrer">m</a>' in out
    assert markdown_html("   ") == ""


def test_spec_checks_texts_and_questions(make_study):
    with pytest.raises(SpecError) as err:
        make_study(
            texts={"consent": 3, "nonsense": "x"},
            closing_questions=[
                {"name": "looked_up", "kind": "text", "prompt": "x"},
                {"name": "pick", "kind": "choice", "prompt": "x", "options": ["one"]},
                {"name": "rate", "kind": "slider", "prompt": ""},
            ],
            language="fr",
        )
    problems = "\n".join(err.value.problems)
    for expected in (
        "[texts].consent: must be a string",
        "[texts]: unknown key 'nonsense'",
        "'looked_up' is taken",
        "a choice needs at least two options",
        "kind: must be one of text, choice, scale",
        "prompt: required",
        "language: must be one of",
    ):
        assert expected in problems
    study = make_study(language="zh_Hans", texts=TEXTS, closing_questions=QUESTIONS)
    assert study.spec["language"] == "zh-hans" and study.spec["texts"] == TEXTS
    assert study.spec["closing_questions"][0]["scale_points"] == 5


def test_judges_read_the_researchers_words_and_answer_their_questions(make_live_study, client):
    study = make_live_study(texts=TEXTS, closing_questions=QUESTIONS)
    assert study.frozen["spec"]["texts"] == TEXTS, "frozen at launch"
    consent = take(client, f"/take/{study.slug}/").content.decode()
    assert "Our <strong>own</strong> consent." in consent
    assert "<script>window.x=1</script>" not in consent and "javascript:" not in consent
    assert "Dr Ada, ada@example.org" in consent and "IRB-2026-042" in consent
    assert "how people read news articles" not in consent, "the built-in text is replaced"
    client.post(f"/take/{study.slug}/consent/", {"agree": "on", "decision": "agree"})
    instructions = client.get(f"/take/{study.slug}/instructions/").content.decode()
    assert "Read <em>carefully</em>." in instructions
    assert "very likely written by a human" in instructions, "the scale is always explained"
    response = client.post(f"/take/{study.slug}/instructions/", follow=True)
    response, _ = answer_all(client, study.slug, "single", response)
    page = response.content.decode()
    assert "Did you enjoy it?" in page and "1 - not at all" in page and "5 - very much" in page
    assert "Your device &lt;b&gt;?&lt;/b&gt;" in page
    base = {"seen_before": "no", "looked_up": "no"}
    missing = client.post(f"/take/{study.slug}/closing/", base)
    assert missing.status_code == 400 and "Please answer this question." in html.unescape(
        missing.content.decode()
    )
    done = client.post(
        f"/take/{study.slug}/closing/",
        {**base, "q_enjoyed": "4", "q_device": "phone", "q_advice": "more <i>news</i>"},
        follow=True,
    )
    judge = Judge.objects.get()
    assert judge.status == Judge.Status.COMPLETED
    assert judge.closing["questions"] == {
        "enjoyed": 4,
        "device": "phone",
        "advice": "more <i>news</i>",
    }
    debrief = done.content.decode()
    assert 'Thanks from <a href="https://lab.example.org" rel="noopener noreferrer">' in debrief
    assert "IRB-2026-042" in debrief


def test_built_in_texts_are_the_default(make_live_study, client):
    study = make_live_study()
    consent = take(client, f"/take/{study.slug}/").content.decode()
    assert "how people read news articles" in consent and "Ethics approval" not in consent
