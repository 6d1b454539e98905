"""Load benchmark: the judge path under gunicorn, PostgreSQL and Redis, against a baseline.

    .venv/bin/python bench/load.py [--judges 400] [--seconds 15] [--rate 200] [--connections 100]

It builds a fresh database (``newseval_bench``) with a live study, starts gunicorn with
2 workers, admits judges through the real entry link, then measures, with the load
generator on this machine:

1. closed loop: ``--connections`` clients each serve an item (GET) and store an answer
   (POST) back to back, for ``--seconds``;
2. open loop: (GET item, POST answer) pairs started at ``--rate`` per second;
3. the baseline: the same clients on a view that reads the judge's session, inserts one
   row and returns a short page (what an answer must do at least), closed loop.

It prints throughput, latency percentiles per request kind, errors, answers sent and
answers stored (counted in the database afterwards), and the ratio to the baseline.
The texts are stand-ins made from the human articles: serving does not depend on how
a text was made, and the benchmark should not wait for a model.
"""

from __future__ import annotations

import argparse
import asyncio
import http.cookiejar
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

import httpx

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


class NoJar(http.cookiejar.CookieJar):
    """A cookie jar that keeps nothing."""

    def extract_cookies(self, response, request) -> None:
        return None

    def set_cookie(self, cookie) -> None:
        return None


class Judge:
    def __init__(self, index: int):
        self.index = index
        self.cookies: dict[str, str] = {}
        self.done = False

    def header(self) -> dict[str, str]:
        return {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}

    def keep(self, response: httpx.Response) -> None:
        for key, value in response.cookies.items():
            self.cookies[key] = value


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


async def admit(client: httpx.AsyncClient, judge: Judge, stats: Stats) -> None:
    r = await client.get(
        "/take/load/",
        params={"PROLIFIC_PID": f"load{judge.index}", "STUDY_ID": "b", "SESSION_ID": "s"},
    )
    judge.keep(r)
    if r.status_code != 302:
        stats.error(f"admit entry {r.status_code}: {r.text[:300]}")
        return
    for step in ("consent", "instructions"):
        page = await client.get(f"/take/load/{step}/", headers=judge.header())
        judge.keep(page)
        token = CSRF.search(page.text)
        if page.status_code != 200 or token is None:
            stats.error(
                f"admit {step} page {page.status_code}: "
                f"{page.headers.get('location', page.text[:200])}"
            )
            return
        data = {"csrfmiddlewaretoken": token.group(1)}
        if step == "consent":
            data.update(agree="on", decision="agree")
        r = await client.post(f"/take/load/{step}/", data=data, headers=judge.header())
        if r.status_code != 302:
            stats.error(f"admit {step} {r.status_code}")


async def answer_one(
    client: httpx.AsyncClient, judge: Judge, stats: Stats, rng: random.Random
) -> None:
    t0 = time.perf_counter()
    try:
        page = await client.get("/take/load/item/", headers=judge.header())
    except httpx.TransportError as exc:
        stats.error(f"serve {type(exc).__name__}")
        return
    stats.add("serve", time.perf_counter() - t0)
    if page.status_code == 302:
        judge.done = True  # no items left: off to the closing questions
        return
    item, token = ITEM.search(page.text), CSRF.search(page.text)
    if page.status_code != 200 or item is None or token is None:
        stats.error(f"serve {page.status_code}")
        return
    data = {
        "csrfmiddlewaretoken": token.group(1),
        "item": item.group(1),
        "rating": rng.randint(1, 5),
        "visible_ms": rng.randint(1000, 30000),
    }
    t0 = time.perf_counter()
    try:
        r = await client.post("/take/load/item/", data=data, headers=judge.header())
    except httpx.TransportError as exc:
        # Sent, but no reply: it may or may not be stored.
        stats.error(f"answer {type(exc).__name__}")
        stats.answers_unknown += 1
        return
    stats.add("answer", time.perf_counter() - t0)
    if r.status_code in (302, 303):
        stats.answers_sent += 1
    else:
        stats.error(f"answer {r.status_code}")


def client_for(base: str, connections: int) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    client = httpx.AsyncClient(base_url=base, limits=limits, timeout=30.0, follow_redirects=False)
    # Each judge sends its own Cookie header: the shared client must keep no cookies
    # (httpx copies a jar given to its constructor, so replace the one it made).
    client.cookies.jar = NoJar()
    return client


async def closed_loop(
    base: str,
    judges: list[Judge],
    seconds: float,
    connections: int,
    label: str,
    baseline: bool = False,
) -> dict:
    stats = Stats()
    idle: asyncio.Queue[Judge] = asyncio.Queue()
    for judge in judges:
        if not judge.done:
            idle.put_nowait(judge)
    deadline = time.perf_counter() + seconds
    rng = random.Random(1)

    async def worker(client: httpx.AsyncClient) -> None:
        while time.perf_counter() < deadline:
            if baseline:
                judge = judges[rng.randrange(len(judges))]
                t0 = time.perf_counter()
                r = await client.get("/bench/baseline", headers=judge.header())
                stats.add("baseline", time.perf_counter() - t0)
                if r.status_code != 200:
                    stats.error(f"baseline {r.status_code}")
                continue
            if idle.empty():
                return
            judge = await idle.get()
            await answer_one(client, judge, stats, rng)
            if not judge.done:
                idle.put_nowait(judge)

    async with client_for(base, connections) as client:
        started = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(connections)))
        elapsed = time.perf_counter() - started
    return stats.report(label, elapsed)


async def open_loop(
    base: str, judges: list[Judge], seconds: float, rate: float, connections: int
) -> dict:
    stats = Stats()
    idle: asyncio.Queue[Judge] = asyncio.Queue()
    for judge in judges:
        if not judge.done:
            idle.put_nowait(judge)
    rng = random.Random(2)
    late = 0
    tasks = []

    async def one(client: httpx.AsyncClient) -> None:
        judge = await idle.get()
        await answer_one(client, judge, stats, rng)
        if not judge.done:
            idle.put_nowait(judge)

    async with client_for(base, connections) as client:
        started = time.perf_counter()
        n = int(rate * seconds)
        for k in range(n):
            due = started + k / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            elif delay < -0.05:
                late += 1
            tasks.append(asyncio.create_task(one(client)))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - started
    result = stats.report(f"open loop at {rate:.0f} answers/s", elapsed)
    print(f"  arrivals started more than 50 ms late: {late} of {n}")
    return result


def stored_answers(env: dict[str, str]) -> int:
    out = subprocess.run(
        [
            "psql",
            f"{PG}/{DB_NAME}",
            "-tAc",
            "select count(*) from studies_judgeitem where answered_at is not null",
        ],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    return int(out.stdout.strip())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--judges", type=int, default=600)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--connections", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--worker-class", default="sync")
    parser.add_argument("--threads", type=int, default=1)
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
            opened = await open_loop(base, judges, args.seconds, args.rate, args.connections)
            return base_result, closed, opened

        base_result, closed, opened = asyncio.run(run())
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(20)
    sent = closed["answers_sent"] + opened["answers_sent"]
    unknown = closed["answers_unknown"] + opened["answers_unknown"]
    stored = stored_answers(env)
    verdict = "none lost" if sent <= stored <= sent + unknown else "MISMATCH"
    print(
        f"\nanswers acknowledged {sent}, sent without reply {unknown}, stored {stored}: {verdict}"
    )
    ratio = closed["requests_per_s"] / base_result["requests_per_s"]
    print(
        f"closed-loop requests/s vs baseline: {ratio:.2f} "
        f"({closed['requests_per_s']:.0f} / {base_result['requests_per_s']:.0f}); "
        f"answers/s {closed['answers_per_s']:.0f}"
    )
    print(
        f"open loop p95: serve {opened.get('serve_p95_ms', float('nan')):.1f} ms, "
        f"answer {opened.get('answer_p95_ms', float('nan')):.1f} ms (aim < 50 ms)"
    )


if __name__ == "__main__":
    main()
