"""A judge who attacks the blinding, with everything a judge can hold, does no better than chance.

The attacker holds their own cookies, every URL and page they were served, the design record the
researcher publishes while the study runs, and the debriefs of other judges who finished before
them. From these the strategies below predict, for each item of the attacker's own queue, whether
its text is machine-made (single protocol) or which side the human text is on (paired). Among them
is the attack on the old code: the judge token (from the cookie, or leaked) plus the published
seed recompute the lists and the queue order.
"""

from __future__ import annotations

import base64
import json
import random
import re
import zlib
from collections import Counter, defaultdict

import pytest
from django.test import Client
from scipy.stats import binomtest

from studies import design as design_lib
from studies.models import Article, Judge
from studies.services.studies import design_record
from tests.webapp.test_judge_leaks import item_token

N_JUDGES = 20


def cookie_strings(client: Client) -> set[str]:
    """Every string inside the (signed, not encrypted) session cookie, read without the key."""
    out: set[str] = set()
    for morsel in client.cookies.values():
        payload = morsel.value.split(":")[0]
        compressed = payload.startswith(".")
        raw = payload.lstrip(".")
        try:
            data = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
            data = zlib.decompress(data) if compressed else data
            decoded = json.loads(data)
        except (ValueError, zlib.error):
            out.add(morsel.value)
            continue
        stack = [decoded]
        while stack:
            value = stack.pop()
            if isinstance(value, dict):
                stack += list(value.values())
            elif isinstance(value, list):
                stack += value
            elif isinstance(value, str):
                out.add(value)
    return out


class Attacker:
    """One judge's whole session, recorded."""

    def __init__(self, study, pid: str):
        self.study, self.client = study, Client()
        self.urls: list[str] = []
        self.titles: list[str] = []  # the queue as the judge sees it, in order
        self.tokens: set[str] = set()
        slug = study.slug
        self.get(f"/take/{slug}/?PROLIFIC_PID={pid}&STUDY_ID=s&SESSION_ID=x{pid}")
        self.post(f"/take/{slug}/consent/", {"agree": "on", "decision": "agree"})
        response = self.post(f"/take/{slug}/instructions/")
        while response.request["PATH_INFO"].endswith("/item/"):
            body = response.content.decode()
            title = re.search(r'<h1 id="item-title" class="headline">([^<]*)</h1>', body)
            self.titles.append(title.group(1) if title else "")
            self.tokens |= cookie_strings(self.client)
            answer = (
                {"rating": "3"}
                if study.protocol == "single"
                else {"choice": "left", "confidence": "3"}
            )
            assert len(self.titles) <= 50, "the item page never moved on"
            response = self.post(f"/take/{slug}/item/", {"item": item_token(body), **answer})
        self.post(f"/take/{slug}/closing/", {"seen_before": "no", "looked_up": "no"})
        self.debrief = self.client.get(f"/take/{slug}/debrief/").content.decode()

    def get(self, url):
        self.urls.append(url)
        return self.client.get(url, follow=True)

    def post(self, url, data=None):
        self.urls.append(url)
        return self.client.post(url, data or {}, follow=True)


def debrief_truths(body: str, protocol: str) -> dict[str, bool]:
    """Title -> machine-made (single) or human-on-the-left (paired), from a debrief page."""
    out = {}
    for title, cell in re.findall(r"<tr><td>([^<]*)</td><td>(.*?)</td></tr>", body, flags=re.S):
        if protocol == "single":
            out[title] = "tag machine" in cell
        else:
            out[title] = "Text A: a human" in cell
    return out


def old_list_index(n_lists: int, quota: int, seed, arrivals: int) -> int:
    """The list the old code gave the judge who arrived ``arrivals``-th (0-based): the old
    rule drew among the least-filled open lists with ``random.Random(f"assign:{seed}:{n}")``,
    so with every earlier judge finishing it replays from the published seed alone."""
    counts = [0] * n_lists
    pick = 0
    for n in range(arrivals + 1):
        open_lists = [i for i in range(n_lists) if counts[i] < quota]
        fewest = min(counts[i] for i in open_lists)
        tied = [i for i in open_lists if counts[i] == fewest]
        pick = random.Random(f"assign:{seed}:{n}").choice(tied)
        counts[pick] += 1
    return pick


def old_attack(
    study, record, titles: list[str], tokens: set[str], by_title, arrivals: int | None = None
) -> list[bool] | None:
    """The attack on the old code: lists from the published seed, the queue from the token,
    and (when the judge knows how many arrived before them) the list from the old draw."""
    spec = record["public"]["spec"]
    keys = sorted(by_title[t] for t in titles if t in by_title)
    plans = design_lib.build_lists(
        articles=sorted(set(keys) | set(_study_keys(study))),
        conditions=[c["name"] for c in spec["conditions"]],
        protocol=spec["protocol"],
        design=spec["design"],
        items_per_judge=spec["items_per_judge"],
        seed=spec["seed"],
    )
    observed = [by_title.get(t) for t in titles]
    if arrivals is not None:
        mine = old_list_index(len(plans), spec["judges_per_list"], spec["seed"], arrivals)
        plans = [plans[mine]] + [p for i, p in enumerate(plans) if i != mine]
    for token in tokens:
        for plan in plans:
            order, _ = design_lib.queue_order(
                len(plan.entries), attention_positions=[], seed=f"queue:{spec['seed']}:{token}"
            )
            queue = [plan.entries[i] for i in order]
            if [e.article for e in queue] == observed:
                if spec["protocol"] == "single":
                    return [bool(e.is_machine) for e in queue]
                return [e.human_side == "left" for e in queue]
    return None


def _study_keys(study) -> list[str]:
    return list(study.study_articles.values_list("article__key", flat=True))


def truths_of(study, attacker: Attacker) -> list[bool]:
    judge = Judge.objects.get(study=study, external_id=attacker.pid)
    items = judge.items.select_related("entry__text").order_by("position")
    if study.protocol == "single":
        return [i.entry.text.is_machine for i in items]
    return [i.entry.human_side == "left" for i in items]


def strategies(study, record, me: Attacker, others: list[Attacker], by_title, guess):
    """Each strategy's predictions for ``me``'s queue."""
    n = len(me.titles)
    votes: dict[str, Counter] = defaultdict(Counter)
    for other in others:
        for title, truth in debrief_truths(other.debrief, study.protocol).items():
            votes[title][truth] += 1
    old = old_attack(
        study, record, me.titles, me.tokens | {me.true_token}, by_title, arrivals=len(others)
    )
    return {
        "old attack: token + published seed": old or [guess.random() < 0.5 for _ in range(n)],
        "majority of other judges' debriefs": [
            votes[t][True] > votes[t][False] if votes[t] else guess.random() < 0.5
            for t in me.titles
        ],
        "minority of other judges' debriefs": [
            votes[t][True] < votes[t][False] if votes[t] else guess.random() < 0.5
            for t in me.titles
        ],
        "first half of the queue": [i < n / 2 for i in range(n)],
        "alternating positions": [i % 2 == 0 for i in range(n)],
    }


@pytest.mark.parametrize("protocol", ["single", "paired"])
def test_an_attacking_judge_predicts_no_better_than_chance(make_live_study, protocol):
    study = make_live_study(
        slug=f"attack-{protocol}",
        protocol=protocol,
        judges_per_list=N_JUDGES,
        articles={"count": 8},
    )
    record = design_record(study=study)
    assert "design" not in record and "secret" not in record
    by_title = {}
    for article in Article.objects.filter(corpus=study.corpus):
        by_title[re.sub(r"\s+", " ", article.title).strip()] = article.key
    attackers = []
    for i in range(N_JUDGES):
        attacker = Attacker.__new__(Attacker)
        attacker.pid = f"attacker{i}"
        Attacker.__init__(attacker, study, attacker.pid)
        attacker.true_token = Judge.objects.get(study=study, external_id=attacker.pid).token
        attackers.append(attacker)
    guess = random.Random(0)
    # A judge's items all follow from their list, so they are not independent: each judge
    # counts once, as a win when most of their items were predicted right, a loss when most
    # were wrong (ties count for neither).
    wins: dict[str, list[bool]] = defaultdict(list)
    for index, me in enumerate(attackers):
        truth = truths_of(study, me)
        assert len(truth) == len(me.titles) > 0
        for name, predicted in strategies(
            study, record, me, attackers[:index], by_title, guess
        ).items():
            right = sum(p == t for p, t in zip(predicted, truth, strict=True))
            if 2 * right != len(truth):
                wins[name].append(2 * right > len(truth))
    for name, outcomes in wins.items():
        k, n = sum(outcomes), len(outcomes)
        assert binomtest(k, n, 0.5).pvalue > 1e-4, f"{name}: {k} of {n} judges predicted"


@pytest.mark.parametrize("protocol", ["single", "paired"])
def test_the_old_attack_recovers_queues_built_the_old_way(make_live_study, protocol):
    """The self-check: the strategies above would have caught the old code.

    Queues are built here the old way (lists from the published seed, the order shuffled by
    ``random.Random(f"queue:{seed}:{token}")`` with the cookie-readable token, each judge's
    list drawn by the old rule) for judges who got lists over the same articles with other
    machine/human layouts, so the attack must find the judge's own list, not just any list
    holding their articles, to predict well.
    """
    study = make_live_study(slug=f"old-{protocol}", protocol=protocol, articles={"count": 8})
    record = design_record(study=study)
    spec = record["public"]["spec"]
    title_of = {
        a.key: re.sub(r"\s+", " ", a.title).strip()
        for a in Article.objects.filter(corpus=study.corpus)
    }
    by_title = {title: key for key, title in title_of.items()}
    plans = design_lib.build_lists(
        articles=sorted(_study_keys(study)),
        conditions=[c["name"] for c in spec["conditions"]],
        protocol=spec["protocol"],
        design=spec["design"],
        items_per_judge=spec["items_per_judge"],
        seed=spec["seed"],
    )

    def kind(entry) -> bool:
        return bool(entry.is_machine) if protocol == "single" else entry.human_side == "left"

    def layout(plan) -> dict:
        return {(e.article, e.condition): kind(e) for e in plan.entries}

    used = []
    right = total = 0
    for arrivals in range(12):
        plan = plans[old_list_index(len(plans), spec["judges_per_list"], spec["seed"], arrivals)]
        used.append(plan)
        token = f"old-judge-token-{arrivals}"
        order, _ = design_lib.queue_order(
            len(plan.entries), attention_positions=[], seed=f"queue:{spec['seed']}:{token}"
        )
        queue = [plan.entries[j] for j in order]
        titles = [title_of[e.article] for e in queue]
        predicted = old_attack(study, record, titles, {token}, by_title, arrivals=arrivals)
        assert predicted is not None, "the old attack found no list matching an old queue"
        right += sum(p == kind(e) for p, e in zip(predicted, queue, strict=True))
        total += len(queue)
    # Meaningful only if some judges got lists over the same articles with other layouts.
    assert any(
        layout(a).keys() == layout(b).keys() and layout(a) != layout(b) for a in used for b in used
    )
    assert binomtest(right, total, 0.5, alternative="greater").pvalue < 1e-9, (right, total)
    assert right >= 0.9 * total, (right, total)
