"""Load benchmark: the judge path under gunicorn, PostgreSQL and Redis, against a baseline.

    .venv/bin/python bench/load.py [--rounds 3] [--seconds 8] [--rate 200] [--connections 100]

It builds a fresh database (``newseval_bench``) with a live study, starts gunicorn with
2 workers (threaded, 4 threads each, as the README recommends), admits judges through
the real entry link, then measures in ``--rounds`` rounds, with the load generator
(aiohttp on uvloop) on this machine:

1. the baseline: ``--connections`` clients on a view that reads the judge's session,
   inserts one row and returns a short page (what an answer must do at least), closed
   loop, for ``--seconds``;
2. closed loop: the same clients each serve an item (GET) and store an answer (POST)
   back to back, for ``--seconds``;
3. open loop: (GET item, POST answer) pairs started at ``--rate`` per second.

It prints throughput, latency percentiles per request kind (a request waiting for a free
connection counts that wait), errors, answers acknowledged and answers stored (counted
in the database afterwards), and each round's ratio to the baseline.
The texts are stand-ins made from the human articles: serving does not depend on how
a text was made, and the benchmark should not wait for a model.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import aiohttp
import httpx
import uvloop

ROOT = Path(__file__).resolve().parents[1]
DB_NAME = "newseval_bench"
PG = "postgres://postgres@127.0.0.1:5432"
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
ITEM = re.compile(r'name="item" value="([^"]+)"')
SPEC = """
slug = "load"
title = "Load benchmark"
corpus = "news"
seed = 3
target_words = 120
judges_per_list = 100000
expiry_minutes = 600

[articles]
count = 24

[recruitment]
platform = "prolific"
completion_code = "LOAD"

[[conditions]]
name = "model"
model = "smollm2-135m"
context_articles = 0

[[conditions]]
name = "control"
model = "smollm2-135m"
context_articles = 0
temperature = 1.2
control = true
"""


def free_port() -> int:
    with closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def environment(port: int) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": f"{PG}/{DB_NAME}",
        "CELERY_BROKER_URL": "redis://127.0.0.1:6379/8",
        "DEBUG": "False",
        "SECRET_KEY": "load-benchmark-" + "k" * 40,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "False",
        "SECURE_COOKIES": "False",
        "SECURE_HSTS_SECONDS": "0",
        "NEWSEVAL_ENTRY_RATE": "1000000/m",
        "NEWSEVAL_BENCH_BASELINE": "True",
        "DATABASE_CONN_MAX_AGE": "600",
        "LOG_LEVEL": "WARNING",
    }


def prepare(env: dict[str, str]) -> None:
    """Fresh database, migrations, corpus, a launched study (run in a child process)."""
    subprocess.run(
        ["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", DB_NAME], check=True
    )
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", DB_NAME], check=True)
    py = sys.executable
    subprocess.run([py, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
    subprocess.run(
        [py, "manage.py", "collectstatic", "--no-input", "-v", "0"], cwd=ROOT, env=env, check=True
    )
    corpus = ROOT.parent / "shared" / "data" / "news" / "articles.jsonl"
    subprocess.run(
        [py, "manage.py", "import_corpus", str(corpus), "--name", "news"],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    script = f"""
from studies.models import Study
from studies.services.studies import study_create, study_launch
from studies.services.texts import text_store
study, _ = study_create(spec_text={SPEC!r})
for cond in study.conditions.all():
    for sa in study.study_articles.select_related("article"):
        words = sa.article.shown_body.split()[:120]
        text_store(condition=cond, article=sa.article, is_machine=False, body=" ".join(words),
                   provenance={{"kind": "human"}})
        text_store(condition=cond, article=sa.article, is_machine=True,
                   body=" ".join(reversed(words)),
                   provenance={{"kind": "load-benchmark stand-in"}})
study.status = Study.Status.READY
study.save()
study_launch(study=study)
"""
    subprocess.run([py, "manage.py", "shell", "-c", script], cwd=ROOT, env=env, check=True)


class Judge:
    def __init__(self, index: int):
        self.index = index
        self.cookies: dict[str, str] = {}
        self.done = False

    def header(self) -> dict[str, str]:
        return {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}

    def keep(self, response: aiohttp.ClientResponse) -> None:
        for key, morsel in response.cookies.items():
            self.cookies[key] = morsel.value


class Stats:
    def __init__(self) -> None:
        self.latency: dict[str, list[float]] = {}
        self.errors: dict[str, int] = {}
        self.answers_sent = 0
        self.answers_unknown = 0

    def add(self, kind: str, seconds: float) -> None:
        self.latency.setdefault(kind, []).append(seconds)

    def error(self, what: str) -> None:
        self.errors[what] = self.errors.get(what, 0) + 1

    def report(self, label: str, seconds: float) -> dict:
        total = sum(len(v) for v in self.latency.values())
        out = {
            "label": label,
            "requests_per_s": total / seconds,
            "answers_per_s": self.answers_sent / seconds,
            "answers_sent": self.answers_sent,
            "answers_unknown": self.answers_unknown,
            "errors": dict(self.errors),
        }
        print(
            f"\n{label}: {total / seconds:7.1f} requests/s, "
            f"{self.answers_sent / seconds:7.1f} answers/s, errors {self.errors or 0}"
        )
        for kind, values in self.latency.items():
            values = sorted(values)
            q = statistics.quantiles(values, n=100) if len(values) > 1 else values * 99
            print(
                f"  {kind:<8} n={len(values):6d}  p50 {q[49] * 1000:6.1f} ms  "
                f"p95 {q[94] * 1000:6.1f} ms  p99 {q[98] * 1000:6.1f} ms  "
                f"max {values[-1] * 1000:6.1f} ms"
            )
            out[f"{kind}_p95_ms"] = q[94] * 1000
        return out


class Reply:
    """What the load generator keeps of a response: its status and, for pages, the body."""

    __slots__ = ("status", "text", "location")

    def __init__(self, status: int, text: str, location: str):
        self.status, self.text, self.location = status, text, location


# A request that got no reply (refused, reset, timed out): it may or may not have been served.
TRANSPORT_ERRORS = (aiohttp.ClientError, asyncio.TimeoutError)


async def fetch(
    client: aiohttp.ClientSession,
    method: str,
    url: str,
    judge: Judge,
    data: dict | None = None,
    params: dict | None = None,
) -> Reply:
    async with client.request(
        method, url, data=data, params=params, headers=judge.header(), allow_redirects=False
    ) as response:
        text = await response.text()
        judge.keep(response)
        return Reply(response.status, text, response.headers.get("location", ""))


async def admit(client: aiohttp.ClientSession, judge: Judge, stats: Stats) -> None:
    params = {"PROLIFIC_PID": f"load{judge.index}", "STUDY_ID": "b", "SESSION_ID": "s"}
    r = await fetch(client, "GET", "/take/load/", judge, params=params)
    if r.status != 302:
        stats.error(f"admit entry {r.status}: {r.text[:300]}")
        return
    for step in ("consent", "instructions"):
        page = await fetch(client, "GET", f"/take/load/{step}/", judge)
        token = CSRF.search(page.text)
        if page.status != 200 or token is None:
            stats.error(f"admit {step} page {page.status}: {page.location or page.text[:200]}")
            return
        data = {"csrfmiddlewaretoken": token.group(1)}
        if step == "consent":
            data.update(agree="on", decision="agree")
        r = await fetch(client, "POST", f"/take/load/{step}/", judge, data=data)
        if r.status != 302:
            stats.error(f"admit {step} {r.status}")


async def answer_one(
    client: aiohttp.ClientSession, judge: Judge, stats: Stats, rng: random.Random
) -> None:
    t0 = time.perf_counter()
    try:
        page = await fetch(client, "GET", "/take/load/item/", judge)
    except TRANSPORT_ERRORS as exc:
        stats.error(f"serve {type(exc).__name__}")
        return
    stats.add("serve", time.perf_counter() - t0)
    if page.status == 302:
        judge.done = True  # no items left: off to the closing questions
        return
    item, token = ITEM.search(page.text), CSRF.search(page.text)
    if page.status != 200 or item is None or token is None:
        stats.error(f"serve {page.status}")
        return
    data = {
        "csrfmiddlewaretoken": token.group(1),
        "item": item.group(1),
        "rating": str(rng.randint(1, 5)),
        "visible_ms": str(rng.randint(1000, 30000)),
    }
    t0 = time.perf_counter()
    try:
        r = await fetch(client, "POST", "/take/load/item/", judge, data=data)
    except TRANSPORT_ERRORS as exc:
        # Sent, but no reply: it may or may not be stored.
        stats.error(f"answer {type(exc).__name__}")
        stats.answers_unknown += 1
        return
    stats.add("answer", time.perf_counter() - t0)
    if r.status in (302, 303):
        stats.answers_sent += 1
    else:
        stats.error(f"answer {r.status}")


def client_for(base: str, connections: int) -> aiohttp.ClientSession:
    # Each judge sends its own Cookie header, so the shared client keeps no cookies.
    return aiohttp.ClientSession(
        base_url=base,
        connector=aiohttp.TCPConnector(limit=connections),
        cookie_jar=aiohttp.DummyCookieJar(),
        timeout=aiohttp.ClientTimeout(total=30),
    )


def idle_judges(judges: list[Judge]) -> asyncio.Queue[Judge]:
    idle: asyncio.Queue[Judge] = asyncio.Queue()
    for judge in judges:
        if not judge.done:
            idle.put_nowait(judge)
    return idle


async def answer_next(
    client: aiohttp.ClientSession, idle: asyncio.Queue[Judge], stats: Stats, rng: random.Random
) -> None:
    """Take a judge who is not waiting for a reply, answer one item, put them back."""
    judge = await idle.get()
    await answer_one(client, judge, stats, rng)
    if not judge.done:
        idle.put_nowait(judge)


async def closed_loop(
    base: str,
    judges: list[Judge],
    seconds: float,
    connections: int,
    label: str,
    baseline: bool = False,
) -> dict:
    stats = Stats()
    idle = idle_judges(judges)
    deadline = time.perf_counter() + seconds
    rng = random.Random(1)

    async def worker(client: aiohttp.ClientSession) -> None:
        while time.perf_counter() < deadline:
            if baseline:
                judge = judges[rng.randrange(len(judges))]
                t0 = time.perf_counter()
                r = await fetch(client, "GET", "/bench/baseline", judge)
                stats.add("baseline", time.perf_counter() - t0)
                if r.status != 200:
                    stats.error(f"baseline {r.status}")
                continue
            if idle.empty():
                return
            await answer_next(client, idle, stats, rng)

    async with client_for(base, connections) as client:
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(connections)))
        elapsed = time.perf_counter() - started
    return stats.report(label, elapsed)


async def open_loop(
    base: str,
    judges: list[Judge],
    seconds: float,
    rate: float,
    connections: int,
    unanswered: int,
) -> dict:
    stats = Stats()
    idle = idle_judges(judges)
    rng = random.Random(2)
    late = 0
    tasks = []
    async with client_for(base, connections) as client:
        started = time.perf_counter()
        n = int(rate * seconds)
        if n > unanswered:  # every arrival needs an item, or it would wait for ever
            raise SystemExit(f"only {unanswered} items are left for {n} arrivals: raise --judges")
        for k in range(n):
            due = started + k / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            elif delay < -0.05:
                late += 1
            tasks.append(asyncio.create_task(answer_next(client, idle, stats, rng)))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - started
    result = stats.report(f"open loop at {rate:.0f} answers/s", elapsed)
    print(f"  arrivals started more than 50 ms late: {late} of {n}")
    return result


def sql(env: dict[str, str], query: str) -> str:
    out = subprocess.run(
        ["psql", f"{PG}/{DB_NAME}", "-tAc", query],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    return out.stdout.strip()


def stored_answers(env: dict[str, str]) -> int:
    return int(sql(env, "select count(*) from studies_judgeitem where answered_at is not null"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--judges", type=int, default=800)
    parser.add_argument("--seconds", type=float, default=8.0, help="per measurement")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--connections", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--worker-class", default="gthread")
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()

    port = free_port()
    env = environment(port)
    print("preparing a fresh database and a launched study ...")
    prepare(env)
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "webapp.wsgi",
            "-w",
            str(args.workers),
            "-k",
            args.worker_class,
            "--threads",
            str(args.threads),
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if httpx.get(base + "/health", timeout=1).status_code in (200, 503):
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        print(
            f"gunicorn: {args.workers} workers ({args.worker_class}, {args.threads} threads) "
            f"on {base}; {args.connections} connections"
        )
        judges = [Judge(i) for i in range(args.judges)]

        async def run() -> tuple[dict, dict, dict]:
            async with client_for(base, args.connections) as client:
                stats = Stats()
                gate = asyncio.Semaphore(16)  # arrivals are serialised per study anyway

                async def admit_one(judge: Judge) -> None:
                    async with gate:
                        await admit(client, judge, stats)

                await asyncio.gather(*(admit_one(j) for j in judges))
                if stats.errors:
                    raise SystemExit(f"admission failed: {stats.errors}")
            # A study that has run for a while has planner statistics; a fresh one not yet.
            sql(env, "ANALYZE")
            # This machine's speed drifts (other virtual machines share its host), so
            # the baseline and the judge path are measured in alternating rounds and
            # each ratio compares neighbours.
            rounds = []
            for r in range(1, args.rounds + 1):
                print(f"\n--- round {r} of {args.rounds}")
                base_result = await closed_loop(
                    base,
                    judges,
                    args.seconds,
                    args.connections,
                    "baseline (session + one insert), closed loop",
                    baseline=True,
                )
                closed = await closed_loop(
                    base,
                    judges,
                    args.seconds,
                    args.connections,
                    "judge path (serve + answer), closed loop",
                )
                unanswered = int(
                    sql(env, "select count(*) from studies_judgeitem where answered_at is null")
                )
                opened = await open_loop(
                    base, judges, args.seconds, args.rate, args.connections, unanswered
                )
                rounds.append((base_result, closed, opened))
            return rounds

        rounds = uvloop.run(run())
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(20)
    sent = sum(c["answers_sent"] + o["answers_sent"] for _, c, o in rounds)
    unknown = sum(c["answers_unknown"] + o["answers_unknown"] for _, c, o in rounds)
    errors = sum(sum(x["errors"].values()) for row in rounds for x in row)
    stored = stored_answers(env)
    verdict = "none lost" if sent <= stored <= sent + unknown else "MISMATCH"
    print(f"\n=== summary over {len(rounds)} rounds (gunicorn {args.workers} {args.worker_class})")
    print(f"answers acknowledged {sent}, sent without reply {unknown}, stored {stored}: {verdict}")
    print(f"errors: {errors}")
    for i, (b, c, o) in enumerate(rounds, 1):
        print(
            f"round {i}: baseline {b['requests_per_s']:5.0f} req/s, judge path "
            f"{c['requests_per_s']:5.0f} req/s ({c['answers_per_s']:4.0f} answers/s), "
            f"ratio {c['requests_per_s'] / b['requests_per_s']:.2f}; open loop at "
            f"{args.rate:.0f} answers/s: {o['answers_per_s']:4.0f} answers/s, p95 serve "
            f"{o.get('serve_p95_ms', float('nan')):5.1f} ms, answer "
            f"{o.get('answer_p95_ms', float('nan')):5.1f} ms"
        )
    ratios = [c["requests_per_s"] / b["requests_per_s"] for b, c, _ in rounds]
    worst = [max(o.get("serve_p95_ms", 1e9), o.get("answer_p95_ms", 1e9)) for *_, o in rounds]
    print(
        f"median ratio to the baseline {statistics.median(ratios):.2f} (aim >= 0.5); "
        f"median open-loop p95 {statistics.median(worst):.1f} ms (aim < 50 ms)"
    )


if __name__ == "__main__":
    main()
