"""
Section 8: a fan-out after statistics were taken on empty tables.

On a database of its own (the ``trap`` alias, ``<BENCH_DB_NAME>_trap``):
migrate, ``ANALYZE`` the whole database while the feed tables are empty,
then the site's first writes through the backend on the bench's (long-lived)
connection, then the bulk of ``activities`` loaded by another connection
(another process of the site), without ``ANALYZE`` (autovacuum is off on
this server: the case records ``SHOW autovacuum``). Then one activity to
``followers`` feeds, timed in three parts: the backend's statements, the
deferred constraint checks (``SET CONSTRAINTS ALL IMMEDIATE``, once) and the
``COMMIT``; the same again on a new connection, and after ``ANALYZE``. The
migrated schema has no foreign-key constraint to the activity table (0009);
the variants with one add it back as migrations 0001-0008 made it.

The plan of what runs at ``COMMIT`` is read with ``auto_explain`` on the
same connection (its log lines sent to the client), on a source with three
followers.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from statistics import median
from typing import Any

import psycopg
from django.conf import settings
from django.core.management import call_command
from django.db import connections, transaction

from bench.data import log, step
from bench.report import Row
from bench.scales import Scale
from stream_django.engine.activities import prepare_activity

ALIAS = "trap"
#: Activities loaded after the statistics were taken, by scale (the
#: followers are 5,000 at every scale).
ACTIVITIES = {"tiny": 3_000, "small": 10_000, "full": 30_000}
FOLLOWERS = 5_000
#: Activities the site writes through the backend before the bulk load.
FIRST_WRITES = 200
T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def _admin(sql: str) -> None:
    db = settings.DATABASES[ALIAS]
    with psycopg.connect(host=db["HOST"], port=db["PORT"], user=db["USER"], dbname="postgres", autocommit=True) as c:
        c.execute(sql)


def _other_connection() -> psycopg.Connection:
    db = settings.DATABASES[ALIAS]
    return psycopg.connect(host=db["HOST"], port=db["PORT"], user=db["USER"], dbname=db["NAME"], autocommit=True)


def _one(sql: str) -> Any:
    with connections[ALIAS].cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchone()[0]


def _activity(n: int, actor: int) -> dict[str, Any]:
    return {
        "actor": f"auth.User:{actor}",
        "verb": "post",
        "object": f"bench.Post:{n}",
        "foreign_id": f"bench.Post:{n}",
        "time": T0 + timedelta(seconds=n),
    }


def build(activities: int, *, constraints: str = "deferred") -> Any:
    """The database, statistics of empty tables, the first writes, the load."""
    from stream_django.backends.database.backend import DatabaseBackend
    from stream_django.feeds import get_client

    name = settings.DATABASES[ALIAS]["NAME"]
    if not name.startswith("bench_"):
        raise RuntimeError(f"refusing to drop database {name!r}: its name must start with 'bench_'")
    connections[ALIAS].close()
    _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _admin(f'CREATE DATABASE "{name}"')
    call_command("migrate", database=ALIAS, verbosity=0)
    if constraints != "none":
        # Migration 0009 dropped them: put back the constraints as 0001-0008 made them.
        suffix = " DEFERRABLE INITIALLY DEFERRED" if constraints == "deferred" else " NOT DEFERRABLE"
        with connections[ALIAS].cursor() as cursor:
            for table in ("stream_django_entry", "stream_django_group_entry"):
                cursor.execute(
                    f'ALTER TABLE {table} ADD CONSTRAINT "{table}_activity_fk" FOREIGN KEY (activity_key) '
                    f"REFERENCES stream_django_activity (key){suffix}"
                )
    with connections[ALIAS].cursor() as cursor:
        cursor.execute("ANALYZE")  # every table empty
    client = get_client(DatabaseBackend({"using": ALIAS}))
    for start in range(0, FIRST_WRITES, 100):
        client.feed("user", "1").add_activities([_activity(n, 1) for n in range(start, start + 100)])
    with _other_connection() as other:
        other.execute(
            "INSERT INTO stream_django_activity (key, foreign_id, data) SELECT lpad(to_hex(n), 31, '0'), "
            '\'bench.Post:\' || n, \'{"actor":"auth.User:\' || (n %% 1000) || \'","verb":"post"}\' '
            "FROM generate_series(%s::integer, %s::integer) n",
            [FIRST_WRITES, activities - 1],
        )
        other.execute(
            "INSERT INTO stream_django_entry (feed, activity_key) SELECT 'user:' || (n %% 1000), "
            "lpad(to_hex(n), 31, '0') FROM generate_series(%s::integer, %s::integer) n",
            [FIRST_WRITES, activities - 1],
        )
        for source, count in (("user:src", FOLLOWERS), ("user:src3", 3)):
            other.execute(
                "INSERT INTO stream_django_follow (source, source_slug, target, created_at, updated_at) "
                "SELECT 'timeline:' || i, 'timeline', %s, now(), now() FROM generate_series(1, %s::integer) i",
                [source, count],
            )
    return client


def _delete(key: str) -> None:
    with connections[ALIAS].cursor() as cursor:
        cursor.execute("DELETE FROM stream_django_entry WHERE activity_key = %s", [key])
        cursor.execute("DELETE FROM stream_django_activity WHERE key = %s", [key])


def _fan_out(client: Any, counter: int, immediate: bool) -> tuple[float, float, float]:
    """One activity to the source's followers: statements, checks, COMMIT (seconds)."""
    feed = client.feed("user", "src")
    activity = _activity(10**6 + counter, 1)
    started = time.perf_counter()
    with transaction.atomic(using=ALIAS):
        feed.add_activity(activity)
        statements = time.perf_counter()
        if immediate:
            with connections[ALIAS].cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        checked = time.perf_counter()
    committed = time.perf_counter()
    key = prepare_activity(activity).key
    written = _one(f"SELECT COUNT(*) FROM stream_django_entry WHERE activity_key = '{key}'")
    assert written == FOLLOWERS + 1, written
    _delete(key)
    return statements - started, checked - statements, committed - checked


def _plan_at_commit(client: Any) -> list[str]:
    """``auto_explain``'s plans of the statements run at COMMIT (three followers)."""
    conn = connections[ALIAS]
    conn.ensure_connection()
    messages: list[str] = []
    raw = conn.connection

    def keep(diag: Any) -> None:
        messages.append(diag.message_primary or "")

    raw.add_notice_handler(keep)
    with conn.cursor() as cursor:
        cursor.execute("LOAD 'auto_explain'")
        cursor.execute("SET auto_explain.log_nested_statements = on")
        cursor.execute("SET auto_explain.log_analyze = on")
        cursor.execute("SET client_min_messages = log")
    try:
        with transaction.atomic(using=ALIAS):
            client.feed("user", "src3").add_activity(_activity(2 * 10**6, 1))
            with conn.cursor() as cursor:
                cursor.execute("SET auto_explain.log_min_duration = 0")  # from here: the checks at COMMIT
    finally:
        with conn.cursor() as cursor:
            cursor.execute("SET auto_explain.log_min_duration = -1")
            cursor.execute("SET client_min_messages = notice")
        raw.remove_notice_handler(keep)
    _delete(prepare_activity(_activity(2 * 10**6, 1)).key)
    plans = [m for m in messages if "plan:" in m]
    return plans[:1]


def _measure(client: Any, runs: int, label: str, counter: int) -> dict[str, Any]:
    parts = [_fan_out(client, counter + i, immediate=False) for i in range(runs)]
    checks = _fan_out(client, counter + runs, immediate=True)
    result = {
        "statements": median(p[0] for p in parts),
        "commit": median(p[2] for p in parts),
        "total": median(p[0] + p[2] for p in parts),
        "checks_immediate": checks[1],
        "commit_after_immediate": checks[2],
        "runs": [list(p) for p in parts],
    }
    log(
        f"{label}: statements {result['statements'] * 1000:.1f} ms, COMMIT {result['commit'] * 1000:.1f} ms "
        f"(with SET CONSTRAINTS ALL IMMEDIATE: the checks {checks[1] * 1000:.1f} ms, then COMMIT "
        f"{checks[2] * 1000:.1f} ms)"
    )
    return result


def trap(scale: Scale, series: dict[str, Any], runs: int = 3) -> list[Row]:
    section = (
        f"8. Statistics taken on empty tables, then {ACTIVITIES[scale.name]:,} activities loaded: "
        f"one activity to {FOLLOWERS:,} followers (PostgreSQL)"
    )
    rows = []
    out: dict[str, Any] = {}
    names = {
        "deferred": "FK constraints, deferred (before migration 0009)",
        "immediate": "FK constraints, not deferrable",
        "none": "without the FK constraints (migration 0009: today)",
    }
    for constraints, name in names.items():
        variant = name
        activities = ACTIVITIES[scale.name]
        with step(f"{variant}: database, ANALYZE of empty tables, {activities:,} activities"):
            client = build(activities, constraints=constraints)
        out["autovacuum"] = _one("SHOW autovacuum")
        out["reltuples"] = _one("SELECT reltuples FROM pg_class WHERE relname = 'stream_django_activity'")
        # One run when the trap is on: each takes seconds to minutes.
        trapped = constraints != "none"
        stale = _measure(client, 1 if trapped else runs, f"{variant}, stale statistics, same connection", 0)
        if constraints == "deferred":
            out[f"plan_{constraints}"] = _plan_at_commit(client)
            for plan in out[f"plan_{constraints}"]:
                log("at COMMIT:\n" + plan)
        connections[ALIAS].close()
        renewed = _measure(client, runs, f"{variant}, stale statistics, new connection", 100)
        with connections[ALIAS].cursor() as cursor:
            cursor.execute("ANALYZE")
        fresh = _measure(client, runs, f"{variant}, after ANALYZE", 200)
        out[constraints] = {"stale": stale, "new_connection": renewed, "analyzed": fresh}
        rows.append(
            Row(section, f"{name}: COMMIT", "stale statistics", stale["commit"], "after ANALYZE", fresh["commit"])
        )
        rows.append(
            Row(
                section,
                f"{name}: statements + COMMIT",
                "stale statistics",
                stale["total"],
                "after ANALYZE",
                fresh["total"],
                limit=1.5,
            )
        )
        rows.append(
            Row(
                section,
                f"{name}: statements + COMMIT, new connection",
                "stale statistics",
                renewed["total"],
                "after ANALYZE",
                fresh["total"],
            )
        )
    out["autovacuum_note"] = f"autovacuum = {out['autovacuum']}"
    series["trap"] = out
    connections[ALIAS].close()
    return rows
