"""Simulated judges that take a study over real HTTP, as a browser would.

They use only what a judge's browser gets (pages, cookies, forms) plus the researcher
API, with a researcher token, to learn the truth for each opaque item; the token on the
entry request is what marks them as simulated on the server. Nothing here touches the
database: it runs against any server, local or remote.
"""

from __future__ import annotations

import json
import random
import re
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx

from studies.simulation_model import JudgeModel

_CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
_ITEM = re.compile(r'name="item" value="([^"]+)"')
_DEMOGRAPHIC_TEXT = re.compile(r'<input type="text" name="([a-z_]+)"')


class SimulationError(RuntimeError):
    pass


@dataclass
class JudgeRun:
    index: int
    outcome: str = "started"
    answers: list[dict] = field(default_factory=list)
    reloads: int = 0
    retries: int = 0
    attempted: list[str] = field(default_factory=list)
    completion: str = ""


@dataclass
class Report:
    runs: list[JudgeRun]
    seconds: float

    def summary(self) -> dict:
        outcomes = Counter(r.outcome for r in self.runs)
        per_condition = Counter(
            a["condition"] for r in self.runs for a in r.answers if a.get("condition")
        )
        return {
            "judges": len(self.runs),
            "outcomes": dict(outcomes),
            "answers_sent": sum(len(r.answers) for r in self.runs),
            "answers_by_condition": dict(per_condition),
            "reloads": sum(r.reloads for r in self.runs),
            "retries_after_errors": sum(r.retries for r in self.runs),
            "seconds": round(self.seconds, 2),
        }


def _practice_answer(html: str, rng: random.Random) -> dict:
    """Any answer to a practice item: it is not part of the data."""
    return {
        "item": _ITEM.search(html).group(1),
        "rating": rng.randint(1, 5),
        "choice": rng.choice(["left", "right"]),
        "confidence": 3,
    }


def _closing_answers(html: str, index: int) -> dict:
    """The closing questions answered "no", and every demographic text field left blank."""
    data = {"seen_before": "no", "looked_up": "no", "comments": f"simulated judge {index}"}
    for name in _DEMOGRAPHIC_TEXT.findall(html):
        data.setdefault(name, "")
    return data


class Simulator:
    def __init__(
        self,
        *,
        base_url: str,
        slug: str,
        token: str,
        models: dict[str, JudgeModel],
        default: JudgeModel,
        seed: int = 0,
        platform: str = "link",
        timeout: float = 30.0,
        max_retries: int = 50,
    ):
        self.base_url = base_url.rstrip("/")
        self.slug = slug
        self.token = token
        self.models = models
        self.default = default
        self.seed = seed
        self.platform = platform
        self.timeout = timeout
        self.max_retries = max_retries

    # -- one judge -------------------------------------------------------------------

    def _truth(self, api: httpx.Client, item: str) -> dict:
        for attempt in range(self.max_retries):
            try:
                response = api.get(f"/api/studies/{self.slug}/items/{item}")
            except httpx.TransportError:
                time.sleep(0.2 * (attempt + 1))
                continue
            if response.status_code < 500:
                break
            time.sleep(0.2 * (attempt + 1))
        if response.status_code != 200:
            raise SimulationError(
                f"truth for item {item}: HTTP {response.status_code} {response.text[:200]}"
            )
        return response.json()

    def _get(self, client: httpx.Client, url: str) -> httpx.Response:
        for attempt in range(self.max_retries):
            try:
                return client.get(url)
            except httpx.TransportError:
                time.sleep(0.2 * (attempt + 1))
        raise SimulationError(f"cannot reach {url}")

    def _post(
        self,
        client: httpx.Client,
        url: str,
        html: str,
        data: dict,
        headers: dict | None = None,
        follow: bool = True,
    ) -> httpx.Response:
        match = _CSRF.search(html)
        if not match:
            if "<form" not in html:
                return self._get(client, url)  # an error page: reload
            raise SimulationError(f"no CSRF token on {url}")
        try:
            return client.post(
                url,
                data={"csrfmiddlewaretoken": match.group(1), **data},
                headers={"Referer": self.base_url + url, **(headers or {})},
                follow_redirects=follow,
            )
        except httpx.TransportError:
            return self._get(client, url)

    def run_judge(self, index: int) -> JudgeRun:
        run = JudgeRun(index)
        rng = random.Random(f"{self.seed}:judge:{index}")
        auth = {"Authorization": f"Bearer {self.token}"}
        with (
            httpx.Client(
                base_url=self.base_url, follow_redirects=True, timeout=self.timeout
            ) as client,
            httpx.Client(base_url=self.base_url, headers=auth, timeout=self.timeout) as api,
        ):
            page = self._enter(client, index, auth)
            for _ in range(10_000):
                page = self._act(client, api, page, run, rng, auth)
                if page is None:
                    return run
        raise SimulationError("judge did not finish in 10000 steps")

    def _enter(self, client: httpx.Client, index: int, auth: dict) -> httpx.Response:
        """Open the entry link (with platform ids on Prolific) and press the welcome
        page's button if there is one."""
        entry = f"/take/{self.slug}/"
        params = (
            {
                "PROLIFIC_PID": f"sim{self.seed}x{index}",
                "STUDY_ID": "sim",
                "SESSION_ID": f"s{index}",
            }
            if self.platform == "prolific"
            else None
        )
        page = client.get(entry, params=params, headers=auth)
        if page.status_code == 200 and urlsplit(str(page.url)).path == entry:
            page = self._post(client, entry, page.text, {}, headers=auth)
            if page.status_code == 403:
                raise SimulationError("entry refused: " + page.text[:200])
        return page

    def _act(
        self,
        client: httpx.Client,
        api: httpx.Client,
        page: httpx.Response,
        run: JudgeRun,
        rng: random.Random,
        auth: dict,
    ) -> httpx.Response | None:
        """Do what the page asks, as a judge would; None once the judge is done
        (``run.outcome`` says how)."""
        entry = f"/take/{self.slug}/"
        path = urlsplit(str(page.url)).path
        step = path[len(entry) :].strip("/")
        if page.status_code >= 500 and page.status_code != 503:
            # A server error: like a person, reload the page and go on.
            run.retries += 1
            if run.retries > self.max_retries:
                raise SimulationError(f"HTTP {page.status_code} at {path}, {run.retries} times")
            time.sleep(0.2)
            return self._get(client, path)
        if page.status_code in (410, 503, 404, 403, 429):
            run.outcome = f"stopped:{page.status_code}"
            return None
        if step == "consent":
            return self._post(client, path, page.text, {"agree": "on", "decision": "agree"})
        if step in ("instructions", "practice/feedback"):
            return self._post(client, path, page.text, {})
        if step == "practice":
            return self._post(client, path, page.text, _practice_answer(page.text, rng))
        if step == "item":
            page = self._answer(client, api, page, path, run, rng)
            if page is None:
                run.outcome = "dropped"
            return page
        if step == "closing":
            return self._post(client, path, page.text, _closing_answers(page.text, run.index))
        if step in ("debrief", "finish"):
            run.outcome = "completed"
            code = re.search(r'id="completion-code">([^<]+)<', page.text)
            run.completion = code.group(1).strip() if code else ""
            return None
        if step == "" and 'id="begin-form"' in page.text:
            # The anonymous link's welcome page (again, after a failed entry).
            return self._post(client, entry, page.text, {}, headers=auth)
        if step == "":
            if "full" in page.text.lower():
                run.outcome = "full"
                return None
            raise SimulationError(f"unexpected page at {path}: {page.status_code}")
        raise SimulationError(f"unexpected step {step!r} (HTTP {page.status_code})")

    def _answer(self, client, api, page, path, run: JudgeRun, rng: random.Random):
        item = _ITEM.search(page.text)
        if not item:
            raise SimulationError(f"no item on {path}")
        token = item.group(1)
        truth = self._truth(api, token)
        condition = truth.get("condition", "")
        model = self.models.get(condition, self.default)
        if rng.random() < model.drop_out:
            return None
        if rng.random() < model.reload:
            page = client.get(path)
            run.reloads += 1
            if _ITEM.search(page.text).group(1) != token:
                raise SimulationError("a reload changed the current item")
        if model.read_ms:
            time.sleep(model.read_ms / 1000 * rng.uniform(0.5, 1.5))
        # The draw depends on the judge, condition and article, not on arrival order.
        draw = random.Random(f"{self.seed}:{run.index}:{condition}:{truth.get('article', token)}")
        data: dict = {"item": token, "visible_ms": model.read_ms}
        if truth.get("is_attention"):
            fail = draw.random() < model.attention_fail
            if "expected_rating" in truth:
                expected = truth["expected_rating"]
                data["rating"] = (6 - expected) if fail else expected
            else:
                expected = truth["expected_choice"]
                other = "right" if expected == "left" else "left"
                data.update(choice=other if fail else expected, confidence=5)
        elif "human_side" in truth:
            side, confidence = model.choose(truth["human_side"], draw)
            data.update(choice=side, confidence=confidence)
        else:
            data["rating"] = model.rate(bool(truth["is_machine"]), draw)
        run.attempted.append(token)
        response = self._post(client, path, page.text, data, follow=False)
        if response.status_code in (302, 303):
            # Stored: the server answers with a redirect only after the commit.
            run.answers.append(
                {
                    "item": token,
                    "condition": condition,
                    **{k: v for k, v in data.items() if k != "visible_ms"},
                }
            )
            return self._get(client, response.headers["Location"])
        if response.status_code >= 500:
            run.retries += 1
            return self._get(client, path)  # not stored: the same item comes back
        if response.status_code == 200 and urlsplit(str(response.url)).path != path:
            return response  # followed already (a transport retry)
        raise SimulationError(f"answer refused: HTTP {response.status_code}")

    # -- many judges -----------------------------------------------------------------

    def run(self, judges: int, concurrency: int = 1) -> Report:
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
            runs = list(pool.map(self.run_judge, range(judges)))
        return Report(runs, time.monotonic() - started)


def write_log(report: Report, path) -> None:
    with open(path, "w", encoding="utf-8") as handle:
        for run in report.runs:
            handle.write(
                json.dumps({"judge": run.index, "outcome": run.outcome, "answers": run.answers})
                + "\n"
            )
