"""Sending work to Celery, or to a thread of this process when no broker is configured.

The database row of a job is its truth; a message only carries its id. Messages are
sent after the transaction that made the row commits, and the reconciler re-sends work
whose message was lost (Redis here keeps nothing across a restart).
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor

from celery import current_app
from django.conf import settings
from django.db import close_old_connections, transaction
from django.utils.module_loading import import_string

log = logging.getLogger(__name__)
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def in_process() -> bool:
    return not settings.CELERY_BROKER_URL


def _run_in_thread(name: str, args: tuple) -> None:
    close_old_connections()
    try:
        import_string(name).run(*args)
    except Exception:  # noqa: BLE001 - the job row records the failure
        log.exception("background task %s%r failed", name, args)
    finally:
        close_old_connections()


def enqueue(name: str, *args) -> None:
    """Run the task called ``name`` (its dotted path, e.g. ``studies.tasks.generation_run``)
    with ``args`` in the background once the current transaction commits.

    By name, so that services need not import the tasks that call them, and through Celery's
    current app (the project's, made by ``webapp.celery``), so that ``studies`` never imports
    ``webapp``; the queue comes from ``CELERY_TASK_ROUTES``.
    """

    def send() -> None:
        if in_process():
            global _pool
            with _pool_lock:
                if _pool is None:
                    _pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="newseval-task")
            _pool.submit(_run_in_thread, name, args)
        else:
            try:
                # The broker URL is read at send time, so settings changes take effect.
                with current_app.connection_for_write(settings.CELERY_BROKER_URL) as conn:
                    current_app.send_task(name, args=args, connection=conn, retry=False)
            except Exception:  # noqa: BLE001 - the reconciler re-sends it later
                log.exception(
                    "could not send %s%r to the broker; the reconciler will retry", name, args
                )

    transaction.on_commit(send)
