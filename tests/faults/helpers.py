"""Processes the fault and engine tests start and stop: a private redis-server (the
``redis_server`` fixture, loaded by the root conftest) and Celery workers, and waits on the
generation jobs those workers run."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import pytest
from django.db import connection

from studies.models import GenerationJob
from studies.services.generation import generation_start

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """A redis-server of our own on a free port: tests never stop the machine's shared one."""

    def __init__(self, tmp: Path):
        self.port = free_port()
        self.tmp = tmp
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        exe = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.proc = subprocess.Popen(
            [
                exe,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.tmp),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(lambda: _port_open(self.port), what=f"redis on {self.port}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        wait_for(lambda: not _port_open(self.port), what="redis to stop")


@pytest.fixture
def redis_server(tmp_path):
    """A private Redis for the test, stopped after it."""
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


def _port_open(port: int) -> bool:
    with closing(socket.socket()) as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def wait_for(predicate, *, timeout: float = 60.0, every: float = 0.1, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}")


def test_database_url() -> str:
    s = connection.settings_dict
    host = s.get("HOST") or "127.0.0.1"
    port = s.get("PORT") or 5432
    user = s.get("USER") or "postgres"
    return f"postgres://{user}@{host}:{port}/{s['NAME']}"


def wait_for_job(job: GenerationJob, state: str, *, timeout: float, what: str) -> None:
    """Wait until a worker has brought ``job`` to ``state``."""
    wait_for(
        lambda: GenerationJob.objects.get(pk=job.pk).state == state, timeout=timeout, what=what
    )


def first_batch_stored(study, *, timeout: float, what: str) -> GenerationJob:
    """Send ``study``'s generation to the broker and wait until a worker stored one batch."""
    generation_start(study=study)
    job = GenerationJob.objects.get(study=study)
    wait_for(
        lambda: GenerationJob.objects.get(pk=job.pk).done_batches >= 1, timeout=timeout, what=what
    )
    return job


class Worker:
    """A Celery worker process on the generation and default queues, on the test database.

    As a context manager it is started on entry and stopped on exit."""

    def __init__(self, broker_url: str, log: Path, **env: str):
        self.broker_url = broker_url
        self.log = log
        self.env = env
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        env = {
            **os.environ,
            "DATABASE_URL": test_database_url(),
            "CELERY_BROKER_URL": self.broker_url,
            **self.env,
        }
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "webapp",
                "worker",
                "-Q",
                "generation,default",
                "-c",
                "1",
                "--without-gossip",
                "--without-mingle",
                "-l",
                "info",
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def __enter__(self) -> Worker:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()
