"""Health of the parts a study depends on: database, Redis, Celery workers."""

from __future__ import annotations

from typing import Any

from celery import current_app
from django.conf import settings
from django.db import connection


def _database() -> dict[str, Any]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return {"ok": True, "vendor": connection.vendor}
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        return {"ok": False, "error": str(exc)}


def _broker() -> dict[str, Any]:
    if not settings.CELERY_BROKER_URL:
        return {"ok": True, "mode": "in-process (no broker configured)"}
    import redis

    try:
        redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_timeout=1).ping()
        return {"ok": True, "mode": "redis"}
    except Exception as exc:  # noqa: BLE001
        return {"ok": False, "mode": "redis", "error": str(exc)}


def _workers(broker_ok: bool) -> dict[str, Any]:
    if not settings.CELERY_BROKER_URL:
        return {"ok": True, "mode": "in-process"}
    if not broker_ok:
        return {"ok": False, "error": "broker unreachable"}
    try:
        replies = current_app.control.inspect(timeout=1.0).active_queues() or {}
    except Exception as exc:  # noqa: BLE001
        return {"ok": False, "error": str(exc)}
    queues = sorted({q["name"] for qs in replies.values() for q in qs})
    return {
        "ok": bool(replies),
        "workers": sorted(replies),
        "queues": queues,
        **({} if replies else {"error": "no Celery worker answered"}),
    }


def health_report() -> dict[str, Any]:
    db = _database()
    broker = _broker()
    workers = _workers(broker["ok"])
    # Judging needs only the database; background work needs the broker and workers.
    return {
        "ok": db["ok"],
        "database": db,
        "broker": broker,
        "workers": workers,
        "judging": db["ok"],
        "background_work": broker["ok"] and workers["ok"],
    }
