"""The judge path's hand-written SQL, every statement in one place.

A judge's pages run these statements on every request. Built by the ORM they cost more CPU
than the database spent on them (see ``selectors/rows.py``), and two of them must decide a
race in one statement, so they are written by hand, in SQL that PostgreSQL and SQLite both
run. Values always go through the driver as named parameters; only column lists (from
``RowShape``, read off the models) and the number of placeholders are put in the text.
``tests/studies/test_judge_sql.py`` checks each statement against its ORM equivalent.

Callers are ``studies.selectors.judging`` and ``studies.services.judging``; nothing else
should need these.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from django.db import connection

from studies.models import Judge, JudgeItem, Study
from studies.selectors.rows import RowShape

_ITEMS = JudgeItem._meta.db_table

# The columns serving and answering use of a judge's current item.
CURRENT_ITEM = RowShape(
    JudgeItem,
    [
        "id",
        "judge_id",
        "position",
        "entry_id",
        "token",
        "served_at",
        "visible_ms",
        "paste_count",
        "copy_count",
        "tabaway_count",
    ],
)
JUDGE = RowShape(Judge)

_CURRENT = f"""
    SELECT id FROM {_ITEMS} WHERE judge_id = %(judge)s AND answered_at IS NULL
    ORDER BY position LIMIT 1
"""
CURRENT_ITEM_SQL = f"""
    SELECT {CURRENT_ITEM.columns()} FROM {_ITEMS}
    WHERE judge_id = %(judge)s AND answered_at IS NULL
    ORDER BY position LIMIT 1
"""
# Finds the current item and marks it served in one statement; COALESCE keeps the first
# time when a reload or a second tab serves it again.
SERVE_SQL = f"""
    UPDATE {_ITEMS} SET served_at = COALESCE(served_at, %(now)s)
    WHERE id = ({_CURRENT})
    RETURNING {CURRENT_ITEM.columns()}
"""
# Counts and visible time are added in the statement, so a page's report arriving at the
# same moment (item_signal) is never lost; "answered_at IS NULL" lets exactly one of two
# simultaneous submits store its answer.
ANSWER_SQL = f"""
    UPDATE {_ITEMS} SET answered_at = %(now)s, rating = %(rating)s, choice = %(choice)s,
        confidence = %(confidence)s, server_ms = %(server_ms)s,
        visible_ms = CASE WHEN visible_ms + %(visible)s > %(cap)s THEN %(cap)s
                          ELSE visible_ms + %(visible)s END,
        paste_count = paste_count + %(pastes)s, copy_count = copy_count + %(copies)s,
        tabaway_count = tabaway_count + %(tabaways)s
    WHERE id = %(item)s AND answered_at IS NULL
"""
_JUDGE_BY_KEYS = f"""
    SELECT {JUDGE.columns("j")}, s.status, s.design_hash
    FROM {Judge._meta.db_table} j JOIN {Study._meta.db_table} s ON s.id = j.study_id
    WHERE s.slug = %s AND j.session_key IN ({{marks}})
"""


def _when(value: dt.datetime):
    return connection.ops.adapt_datetimefield_value(value)


def current_item(*, judge_id: int) -> JudgeItem | None:
    """The judge's first unanswered item (the ``CURRENT_ITEM`` columns), or None."""
    with connection.cursor() as cursor:
        cursor.execute(CURRENT_ITEM_SQL, {"judge": judge_id})
        row = cursor.fetchone()
    return None if row is None else CURRENT_ITEM.load(row)


def serve(*, judge_id: int, now: dt.datetime) -> JudgeItem | None:
    """Mark the judge's current item served at ``now`` unless it already was; return it."""
    with connection.cursor() as cursor:
        cursor.execute(SERVE_SQL, {"now": _when(now), "judge": judge_id})
        row = cursor.fetchone()
    return None if row is None else CURRENT_ITEM.load(row)


def answer_store(
    *,
    item_id: int,
    now: dt.datetime,
    rating: int | None,
    choice: str,
    confidence: int | None,
    server_ms: int,
    visible: int,
    cap: int,
    pastes: int,
    copies: int,
    tabaways: int,
) -> bool:
    """Store an answer on an unanswered item; False when it already had one.

    ``visible`` is added to the item's visible time, which stays at most ``cap``; the
    counts are added to the item's.
    """
    params = {
        "now": _when(now),
        "rating": rating,
        "choice": choice,
        "confidence": confidence,
        "server_ms": server_ms,
        "visible": visible,
        "cap": cap,
        "pastes": pastes,
        "copies": copies,
        "tabaways": tabaways,
        "item": item_id,
    }
    with connection.cursor() as cursor:
        cursor.execute(ANSWER_SQL, params)
        return cursor.rowcount == 1


def judge_by_session_keys(*, slug: str, keys: list[str]) -> tuple[Judge, str, str] | None:
    """The judge of study ``slug`` among a browser's session ``keys``, with the study's
    status and design hash, or None. ``keys`` must not be empty."""
    sql = _JUDGE_BY_KEYS.format(marks=", ".join(["%s"] * len(keys)))
    with connection.cursor() as cursor:
        cursor.execute(sql, [slug, *keys])
        row = cursor.fetchone()
    if row is None:
        return None
    study_status, design_hash = row[-2:]
    return JUDGE.load(row), study_status, design_hash


def advisory_lock(key: str) -> None:
    """On PostgreSQL, a lock on ``key`` until the transaction ends; elsewhere nothing
    (SQLite runs one writer at a time anyway)."""
    if connection.vendor != "postgresql":
        return
    digest = hashlib.sha256(key.encode()).digest()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s)", [int.from_bytes(digest[:8], "big", signed=True)]
        )
