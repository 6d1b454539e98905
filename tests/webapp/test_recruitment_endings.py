"""Each ending hands the judge back to the platform: its own code and URL, shown and
redirected to (completed, declined consent, failed attention check); and the dashboard's
ready-to-paste links."""

from __future__ import annotations

import html

import pytest

from studies.models import Judge, JudgeItem
from studies.selectors.recruitment import recruitment_links
from studies.spec import SpecError
from tests.webapp.test_judge_flow import answer_all, finish_closing, take, walk_to_items

pytestmark = pytest.mark.django_db

ENDINGS = {
    "platform": "prolific",
    "completion_code": "DONE1",
    "completion_url": "https://app.prolific.com/submissions/complete",
    "declined_code": "NOPE2",
    "declined_url": "https://app.prolific.com/submissions/complete?cc=NOPE2",
    "attention_failed_code": "ATTN3",
    "attention_failed_url": "https://app.prolific.com/submissions/complete",
    "redirect_seconds": 5,
}
PROLIFIC = {"PROLIFIC_PID": "p1", "STUDY_ID": "s", "SESSION_ID": "x"}


def test_declining_consent_shows_its_own_code_and_redirects(make_live_study, client):
    study = make_live_study(recruitment=ENDINGS)
    take(client, f"/take/{study.slug}/", **PROLIFIC)
    response = client.post(f"/take/{study.slug}/consent/", {"decision": "decline"}, follow=True)
    body = html.unescape(response.content.decode())
    assert "not taking part" in body and "NOPE2" in body and "DONE1" not in body
    assert 'data-url="https://app.prolific.com/submissions/complete?cc=NOPE2"' in body
    assert 'data-seconds="5"' in body and 'id="return-stay"' in body
    assert Judge.objects.get().status == Judge.Status.WITHDRAWN


@pytest.mark.parametrize("attentive", [True, False])
def test_a_failed_attention_check_gets_its_own_code(make_live_study, client, attentive):
    study = make_live_study(recruitment=ENDINGS, attention_checks={"count": 1, "positions": [2]})
    response = walk_to_items(client, study.slug, **PROLIFIC)
    response, _ = answer_all(client, study.slug, "single", response)
    check = JudgeItem.objects.get(entry__is_attention=True)
    expected = check.entry.attention["expected_rating"]
    # answer_all gives rating n % 5 + 1 at position n; rewrite the check's answer to taste.
    JudgeItem.objects.filter(pk=check.pk).update(rating=expected if attentive else expected % 5 + 1)
    response = finish_closing(client, study.slug)
    body = html.unescape(response.content.decode())
    judge = Judge.objects.get()
    code = "DONE1" if attentive else "ATTN3"
    assert judge.completion_code == code and code in body
    assert f'data-url="https://app.prolific.com/submissions/complete?cc={code}"' in body
    assert ("attention_failed" in judge.flags) is not attentive
    done = client.get(f"/take/{study.slug}/finish/")
    assert done["Location"] == f"https://app.prolific.com/submissions/complete?cc={code}"


def test_link_judges_without_a_url_get_no_redirect(make_live_study, client):
    study = make_live_study()
    response = walk_to_items(client, study.slug)
    answer_all(client, study.slug, "single", response)
    body = finish_closing(client, study.slug).content.decode()
    assert 'id="completion-code"' in body and 'id="return"' not in body


def test_return_urls_are_checked(make_study):
    with pytest.raises(SpecError, match="declined_url: must start with http"):
        make_study(recruitment={"declined_url": "javascript:alert(1)"})
    with pytest.raises(SpecError, match="redirect_seconds"):
        make_study(recruitment={"redirect_seconds": -1})


def test_ready_to_paste_links(make_study):
    study = make_study(recruitment=ENDINGS)
    links = {link.key: link.value for link in recruitment_links(study=study, origin="https://h")}
    assert links["prolific"] == (
        "https://h/take/test-study/?PROLIFIC_PID={{%PROLIFIC_PID%}}"
        "&STUDY_ID={{%STUDY_ID%}}&SESSION_ID={{%SESSION_ID%}}"
    )
    assert "<ExternalURL>https://h/take/test-study/</ExternalURL>" in links["mturk"]
    assert links["link"] == "https://h/take/test-study/"
    assert links["declined-code"] == "NOPE2" and links["attention_failed-code"] == "ATTN3"
    assert next(iter(links)) == "prolific", "the study's own platform comes first"
