"""Faults while judges are answering over real HTTP: Redis stopped and restarted, database
connections terminated. Every answer the server acknowledged is stored, once."""

import threading
import time

import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from studies.models import JudgeItem
from studies.services.tokens import token_create
from studies.simulation import Simulator
from studies.simulation_model import JudgeModel

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def researcher_token(study):
    user = get_user_model().objects.create_user("faulty", password="x")
    study.owner = user
    study.save(update_fields=["owner"])
    return token_create(user=user)


def simulated_judges(study, live_server, *, read_ms: int, seed: int) -> Simulator:
    """Judges of one model answering ``study`` on the live server."""
    return Simulator(
        base_url=live_server.url,
        slug=study.slug,
        token=researcher_token(study),
        models={},
        default=JudgeModel(read_ms=read_ms),
        seed=seed,
    )


def check_answers(study, report):
    acknowledged = [a["item"] for run in report.runs for a in run.answers]
    attempted = {t for run in report.runs for t in run.attempted}
    stored = list(
        JudgeItem.objects.filter(judge__study=study, answered_at__isnull=False).values_list(
            "token", flat=True
        )
    )
    assert len(stored) == len(set(stored))
    assert set(acknowledged) <= set(stored), "an acknowledged answer was lost"
    assert set(stored) <= attempted, "an answer nobody sent was stored"
    return acknowledged, stored


def run_in_thread(simulator, judges, concurrency):
    box = {}

    def target():
        try:
            box["report"] = simulator.run(judges, concurrency)
        except BaseException as exc:  # noqa: BLE001
            box["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    return thread, box


def test_judging_goes_on_while_redis_is_down(
    make_live_study, live_server, settings, admin_client, redis_server
):
    settings.CELERY_BROKER_URL = redis_server.url
    study = make_live_study(judges_per_list=50)
    simulator = simulated_judges(study, live_server, read_ms=20, seed=5)
    thread, box = run_in_thread(simulator, judges=12, concurrency=3)
    time.sleep(1.0)
    redis_server.stop()
    health = admin_client.get("/health").json()
    assert health["judging"] and not health["background_work"]
    thread.join(300)
    assert "error" not in box, box.get("error")
    report = box["report"]
    assert report.summary()["outcomes"] == {"completed": 12}
    acknowledged, stored = check_answers(study, report)
    assert sorted(acknowledged) == sorted(stored)
    redis_server.start()
    assert admin_client.get("/health").json()["broker"]["ok"]
    redis_server.stop()


def test_answers_survive_terminated_database_connections(make_live_study, live_server, settings):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL")
    # Anonymous judges on one address share one entry-limit key, and every entry retried after
    # a terminated connection counts again; the limit has its own tests, so lift it here.
    settings.NEWSEVAL_ENTRY_RATE = "1000/m"
    study = make_live_study(judges_per_list=50)
    simulator = simulated_judges(study, live_server, read_ms=30, seed=6)
    thread, box = run_in_thread(simulator, judges=12, concurrency=4)
    name = connection.settings_dict["NAME"]
    killed = 0
    for _ in range(6):
        time.sleep(0.4)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                [name],
            )
            killed += cursor.fetchone()[0]
    thread.join(300)
    assert "error" not in box, box.get("error")
    report = box["report"]
    assert killed > 0, "no connection was terminated: the test proved nothing"
    assert report.summary()["outcomes"] == {"completed": 12}
    check_answers(study, report)
