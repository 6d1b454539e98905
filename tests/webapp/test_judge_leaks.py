"""Nothing a judge receives before completion tells a generated text from a human one.

Judges in every list of a study (both protocols) are run through the whole flow while
every URL, status, header, cookie and body they receive is recorded; then (1) no
condition name, list name, model, article key, text hash, source URL or ground-truth
field appears anywhere in that record, and (2) every item page, human, generated or
attention check, is the same HTML once the item's own words, its opaque token, the
CSRF token and the progress counter are masked.
"""

from __future__ import annotations

import html
import re

import pytest
from django.test import Client

from studies.models import Article, Judge, JudgeItem, StudyList, Text

CONDITIONS = [
    {"name": "condxalpha", "model": "model-small", "context_articles": 1, "temperature": 0.7},
    {
        "name": "condxbravo",
        "model": "model-bad",
        "context_articles": 0,
        "temperature": 1.3,
        "control": True,
    },
]
GROUND_TRUTH_WORDS = [
    "is_machine",
    "machine_text",
    "human_side",
    "expected_rating",
    "expected_choice",
    "is_attention",
    "test stand-in",
    "model-small",
    "model-bad",
    "study_list",
]


class Recorder:
    """A test client that follows redirects itself so that every hop is recorded."""

    def __init__(self) -> None:
        self.client = Client()
        self.log: list[dict] = []
        self.path = ""

    def _record(self, method: str, url: str, response) -> None:
        self.log.append(
            {
                "method": method,
                "url": url,
                "status": response.status_code,
                "headers": dict(response.items()),
                "cookies": {k: v.value for k, v in response.cookies.items()},
                "body": response.content.decode(),
            }
        )

    def go(self, method: str, url: str, data: dict | None = None, follow: bool = True):
        response = getattr(self.client, method)(url, data or {})
        self._record(method, url, response)
        self.path = url.split("?")[0]
        while follow and response.status_code in (301, 302, 303):
            url = response["Location"]
            response = self.client.get(url)
            self._record("get", url, response)
            self.path = url
        return response


def item_token(body: str) -> str:
    return re.search(r'name="item" value="([^"]+)"', body).group(1)


def run_judge(study, pid: str, n_practice: int) -> Recorder:
    r = Recorder()
    slug = study.slug
    r.go("get", f"/take/{slug}/?PROLIFIC_PID={pid}&STUDY_ID=s1&SESSION_ID=x{pid}")
    r.go("post", f"/take/{slug}/consent/", {"agree": "on", "decision": "agree"})
    response = r.go("post", f"/take/{slug}/instructions/")
    for _ in range(n_practice):
        token = item_token(response.content.decode())
        answer = (
            {"rating": "2"} if study.protocol == "single" else {"choice": "left", "confidence": "2"}
        )
        r.go("post", f"/take/{slug}/practice/", {"item": token, **answer})
        response = r.go("post", f"/take/{slug}/practice/feedback/")
    n = 0
    while r.path == f"/take/{slug}/item/":
        body = response.content.decode()
        token = item_token(body)
        r.go("post", f"/take/{slug}/signal/", {"item": token, "visible_ms": "700"})
        # A reload in the middle: the same page again.
        if n == 2:
            response = r.go("get", f"/take/{slug}/item/")
            assert item_token(response.content.decode()) == token
        answer = (
            {"rating": str(n % 5 + 1)}
            if study.protocol == "single"
            else {"choice": ("left", "right")[n % 2], "confidence": "3"}
        )
        response = r.go("post", f"/take/{slug}/item/", {"item": token, **answer})
        n += 1
    assert r.path == f"/take/{slug}/closing/"
    # The closing answers complete the judge; what follows (the debrief) may tell the truth.
    r.go("post", f"/take/{slug}/closing/", {"seen_before": "no", "looked_up": "no"}, follow=False)
    return r


def masked_item_page(body: str) -> str:
    """The item page with its words, tokens and counter masked."""
    body = re.sub(r'(name="csrfmiddlewaretoken" value=")[^"]+', r"\1CSRF", body)
    body = re.sub(r'(name="item" value=")[^"]+', r"\1TOKEN", body)
    body = re.sub(r"Article \d+ of \d+", "Article N of M", body)
    body = re.sub(r'<progress value="\d+" max="\d+"', '<progress value="N" max="M"', body)
    body = re.sub(r'(<h1 id="item-title" class="headline">)[^<]*(</h1>)', r"\1TITLE\2", body)
    body = re.sub(r'(<p class="dek">)[^<]*(</p>)', r"\1SUBTITLE\2", body)

    def body_block(match: re.Match) -> str:
        inner = match.group(1)
        # Inside a body there is nothing but plain paragraphs: no attribute, no other tag.
        assert re.fullmatch(r"(\s*<p>[^<]*</p>)*\s*", inner), inner[:300]
        return '<div class="body">TEXT</div>'

    return re.sub(r'<div class="body">(.*?)</div>', body_block, body, flags=re.S)


@pytest.mark.parametrize("protocol", ["single", "paired"])
def test_nothing_judges_receive_reveals_which_texts_are_generated(make_live_study, protocol):
    study = make_live_study(
        slug=f"leak-{protocol}",
        protocol=protocol,
        conditions=CONDITIONS,
        judges_per_list=1,
        attention_checks={"count": 1, "positions": [4]},
        practice={"enabled": True, "items": 2},
        recruitment={
            "platform": "prolific",
            "completion_code": "DONE1",
            "completion_url": "https://app.prolific.com/submissions/complete",
            "demographics": ["age"],
        },
    )
    lists = list(StudyList.objects.filter(study=study))
    recorders = [run_judge(study, f"judge{i}", n_practice=2) for i in range(len(lists))]
    judges = Judge.objects.filter(study=study)
    assert {j.study_list_id for j in judges} == {sl.pk for sl in lists}, "every list is run"
    assert all(j.status == Judge.Status.COMPLETED for j in judges)
    if protocol == "single":
        kinds = set(
            JudgeItem.objects.filter(judge__study=study, entry__is_attention=False).values_list(
                "entry__text__is_machine", flat=True
            )
        )
        assert kinds == {True, False}, "both human and generated texts were shown"

    forbidden = set(GROUND_TRUTH_WORDS)
    forbidden |= {c["name"] for c in CONDITIONS} | {sl.name for sl in lists}
    texts = Text.objects.filter(study=study)
    forbidden |= {t.sha256 for t in texts}
    article_ids = set(texts.values_list("article_id", flat=True))
    for article in Article.objects.filter(pk__in=article_ids):
        forbidden |= {article.key, article.content_hash}
        if article.url:
            forbidden.add(article.url)
    forbidden.add(study.design_hash)

    item_pages, item_headers = [], []
    for rec in recorders:
        for hop in rec.log:
            record = " ".join(
                [
                    hop["url"],
                    str(hop["headers"]),
                    str(hop["cookies"]),
                    hop["body"],
                    html.unescape(hop["body"]),
                ]
            )
            for word in forbidden:
                assert word not in record, f"{word!r} leaked in {hop['method']} {hop['url']}"
            assert set(hop["cookies"]) <= {"newseval_judge", "csrftoken"}
            if hop["url"].endswith("/item/") and hop["method"] == "get":
                assert hop["status"] == 200
                item_pages.append(masked_item_page(hop["body"]))
                item_headers.append(
                    {k: v for k, v in hop["headers"].items() if k != "Content-Length"}
                )
        # After entry, no URL carries an id.
        assert all("PROLIFIC_PID" not in hop["url"] for hop in rec.log[1:])

    n_items = JudgeItem.objects.filter(judge__study=study).count()
    assert len(item_pages) >= n_items
    if len(set(item_pages)) != 1:
        import difflib

        a, b = sorted(set(item_pages))[:2]
        print("\n".join(difflib.unified_diff(a.splitlines(), b.splitlines(), lineterm="")))
    assert len(set(item_pages)) == 1, "item pages differ beyond their own words"
    assert all(h == item_headers[0] for h in item_headers)


def test_one_judge_cannot_read_or_answer_anothers_items(make_live_study):
    study = make_live_study()
    alice, bob = Recorder(), Recorder()
    tokens = {}
    for name, rec in (("alice", alice), ("bob", bob)):
        rec.go("get", f"/take/{study.slug}/")
        rec.go("post", f"/take/{study.slug}/")
        rec.go("post", f"/take/{study.slug}/consent/", {"agree": "on", "decision": "agree"})
        response = rec.go("post", f"/take/{study.slug}/instructions/")
        tokens[name] = item_token(response.content.decode())
    bob_judge = Judge.objects.get(items__token=tokens["bob"])
    bob_all = list(bob_judge.items.values_list("token", flat=True))
    for token in bob_all:
        response = alice.go("post", f"/take/{study.slug}/item/", {"item": token, "rating": "1"})
        assert response.status_code == 409
        alice.go("post", f"/take/{study.slug}/signal/", {"item": token, "visible_ms": "999"})
    # The only way to see an item is as the session's current one: no URL names an item.
    for hop in alice.log:
        for token in bob_all:
            assert token not in hop["body"] and token not in hop["url"]
    assert not JudgeItem.objects.filter(judge=bob_judge, answered_at__isnull=False).exists()
    assert not JudgeItem.objects.filter(judge=bob_judge, visible_ms__gt=0).exists()
    # Item tokens differ per judge and cannot be linked across judges.
    alice_all = set(
        Judge.objects.get(items__token=tokens["alice"]).items.values_list("token", flat=True)
    )
    assert not alice_all & set(bob_all)
