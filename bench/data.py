"""
Building the benchmark data in PostgreSQL, in bulk.

Everything is generated once, in Python, into a staging table
(``bench_seed``: one row per activity with its actor, verb, time and storage
key), then copied with ``INSERT ... SELECT`` into both engines' tables, so
that stream_django and django-activity-stream hold the same activities and
the same follow graph:

- ``auth_user``: the accounts (ids ``1..accounts``), then the readers
  (the measured ones, the background ones, then the reader of the busy
  accounts);
- ``bench_post``: one post per activity (the activity's object);
- ``stream_django_activity`` + the ``user:<account>`` feed entries, and
  ``actstream_action``: the same activities in each engine;
- the busy accounts (ids ``1..busy_accounts``) post ``busy_per_day`` more
  activities a day each (ids after the random ones), and one reader follows
  exactly them: django-activity-stream's ``user_stream`` then reads and sorts
  every action of those accounts, while a timeline page stays 25 rows;
- ``stream_django_follow`` (``timeline:<reader>`` follows
  ``user:<account>``) and ``actstream_follow``: the same follows;
- each reader's ``timeline`` feed: the newest ``max_length`` (1000) entries
  of the accounts it follows, which is what fan-out on write followed by
  trimming leaves there;
- the fan-out sources ``user:fan<F>``, followed by ``F`` new timelines
  each, and ``user:fanfull``, followed by the background readers' full
  timelines;
- the aggregated and notification feeds ``<slug>:agg<size>``.

Rows are checked against the engine (``verify``): a sample of the stored
activities equals what ``Post.create_activity()`` gives through
``prepare_activity``, and group names equal the engine's aggregation.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import Any

import psycopg
from django.conf import settings
from django.core.management import call_command
from django.db import connection

from bench.scales import Scale
from stream_django.engine import ids

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
VERBS = ("post", "like", "share", "comment", "review")
#: First user id of the fan-out followers' timelines (feeds only, no users).
FAN_BASE = 10_000_000
TIMELINE_LENGTH = 1000
#: The JSON the engine stores for a post (keys sorted, compact), as a
#: PostgreSQL ``format()`` string.
ACTIVITY_JSON = '{"actor":"auth.User:%s","foreign_id":"bench.Post:%s","object":"bench.Post:%s","time":"%s","verb":"%s"}'


def log(message: str) -> None:
    print(f"  {message}", flush=True)


@contextmanager
def step(what: str) -> Iterator[None]:
    started = time.perf_counter()
    yield
    log(f"{what}: {time.perf_counter() - started:.1f}s")


def recreate_database() -> None:
    """Drop and create the benchmark database (never any other)."""
    db = settings.DATABASES["default"]
    name = db["NAME"]
    if not name.startswith("bench_"):
        raise RuntimeError(f"refusing to drop database {name!r}: its name must start with 'bench_'")
    connection.close()
    with psycopg.connect(host=db["HOST"], port=db["PORT"], user=db["USER"], dbname="postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def execute(sql: str, params: Any = None) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def scalar(sql: str, params: Any = None) -> Any:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
        return row[0] if row else None


@contextmanager
def bulk_load(*tables: str) -> Iterator[None]:
    """Drop the tables' secondary indexes and skip FK triggers while loading.

    The indexes are created again afterwards (one sorted build each, much
    faster than a million single inserts); the data is consistent by
    construction.
    """
    with connection.cursor() as cursor:
        saved = []
        for table in tables:
            cursor.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s "
                "AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass)",
                [table, table],
            )
            saved += cursor.fetchall()
        for name, _ in saved:
            cursor.execute(f'DROP INDEX "{name}"')
        cursor.execute("SET session_replication_role = replica")
        try:
            yield
        finally:
            cursor.execute("SET session_replication_role = DEFAULT")
            cursor.execute("SET maintenance_work_mem = '256MB'")
            for _, definition in saved:
                cursor.execute(definition)


def build(scale: Scale, seed: int = 20261122) -> dict[str, Any]:
    """Create the database and every row; return what the cases need to know."""
    rng = random.Random(seed)
    with step("database created and migrated"):
        recreate_database()
        call_command("migrate", verbosity=0)
    execute("SET maintenance_work_mem = '256MB'")
    user_ct = _content_type("auth", "user")
    post_ct = _content_type("bench", "post")

    busy = scale.busy_activities
    n = scale.activities + busy
    with step(f"{n:,} activities generated and copied to the staging table ({busy:,} by the busy accounts)"):
        execute(
            "CREATE UNLOGGED TABLE bench_seed (n integer PRIMARY KEY, actor integer NOT NULL, "
            "kind text NOT NULL, ts timestamptz NOT NULL, key char(31) NOT NULL)"
        )
        span_ms = scale.days * 86_400_000
        spacing = span_ms // scale.activities
        with connection.cursor() as cursor:
            with cursor.cursor.copy("COPY bench_seed (n, actor, kind, ts, key) FROM STDIN") as copy:
                for i in range(1, scale.activities + 1):
                    at = T0 + timedelta(milliseconds=(i - 1) * spacing + rng.randrange(spacing))
                    key = ids.id_to_key(ids.activity_id(f"bench.Post:{i}", at))
                    copy.write_row((i, rng.randint(1, scale.accounts), rng.choice(VERBS), at, key))
                busy_spacing = span_ms // max(1, busy)
                for j in range(busy):
                    i = scale.activities + 1 + j
                    at = T0 + timedelta(milliseconds=j * busy_spacing + rng.randrange(busy_spacing))
                    key = ids.id_to_key(ids.activity_id(f"bench.Post:{i}", at))
                    copy.write_row((i, 1 + j % scale.busy_accounts, rng.choice(VERBS), at, key))
        execute("CREATE INDEX bench_seed_actor ON bench_seed (actor, key)")
        execute("ANALYZE bench_seed")

    readers = list(range(scale.accounts + 1, scale.accounts + 1 + len(scale.reader_follows)))
    background = list(range(readers[-1] + 1, readers[-1] + 1 + scale.background_readers))
    busy_reader = (background[-1] if background else readers[-1]) + 1
    last_user = busy_reader
    with step(f"{last_user:,} users"):
        execute(
            "INSERT INTO auth_user (id, password, is_superuser, username, first_name, last_name, "
            "email, is_staff, is_active, date_joined) SELECT i, '!', false, 'u' || i, '', '', '', "
            "false, true, %s FROM generate_series(1, %s) i",
            [T0, last_user],
        )
        execute("SELECT setval(pg_get_serial_sequence('auth_user', 'id'), %s)", [last_user])

    with step(f"{n:,} posts"), bulk_load("bench_post"):
        execute(
            "INSERT INTO bench_post (id, user_id, kind, text, created_at) "
            "SELECT n, actor, kind, 'post ' || n, ts FROM bench_seed ORDER BY n"
        )
        execute("SELECT setval(pg_get_serial_sequence('bench_post', 'id'), %s)", [n])

    with step(f"{n:,} stream_django activities and user-feed entries"):
        with bulk_load("stream_django_activity"):
            execute(
                "INSERT INTO stream_django_activity (key, foreign_id, data) "
                "SELECT key, 'bench.Post:' || n, format(%s, actor, n, n, "
                "to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US'), kind) "
                "FROM bench_seed ORDER BY key",
                [ACTIVITY_JSON],
            )
        with bulk_load("stream_django_entry"):
            execute(
                "INSERT INTO stream_django_entry (feed, activity_key, origin) "
                "SELECT 'user:' || actor, key, NULL FROM bench_seed ORDER BY actor, key"
            )

    with step(f"{n:,} django-activity-stream actions"), bulk_load("actstream_action"):
        execute(
            "INSERT INTO actstream_action (actor_content_type_id, actor_object_id, verb, "
            "action_object_content_type_id, action_object_object_id, timestamp, public) "
            "SELECT %s, actor::text, kind, %s, n::text, ts, true FROM bench_seed ORDER BY n",
            [user_ct, post_ct],
        )

    follows: list[tuple[int, int]] = []
    accounts = range(1, scale.accounts + 1)
    for reader, count in zip(readers, scale.reader_follows):
        follows += [(reader, a) for a in sorted(rng.sample(accounts, count))]
    for reader in background:
        follows += [(reader, a) for a in sorted(rng.sample(accounts, scale.background_follows))]
    follows += [(busy_reader, a) for a in range(1, scale.busy_accounts + 1)]
    with step(f"{len(follows):,} follows in both engines and the readers' timelines"):
        execute("CREATE UNLOGGED TABLE bench_follow (reader integer, account integer, PRIMARY KEY (reader, account))")
        with connection.cursor() as cursor:
            with cursor.cursor.copy("COPY bench_follow (reader, account) FROM STDIN") as copy:
                for row in follows:
                    copy.write_row(row)
        execute("ANALYZE bench_follow")
        execute(
            "INSERT INTO stream_django_follow (source, source_slug, target, created_at, updated_at) "
            "SELECT 'timeline:' || reader, 'timeline', 'user:' || account, %s, %s FROM bench_follow",
            [T0, T0],
        )
        execute(
            "INSERT INTO actstream_follow (user_id, content_type_id, object_id, actor_only, flag, started) "
            "SELECT reader, %s, account::text, true, '', %s FROM bench_follow",
            [user_ct, T0],
        )
        with bulk_load("stream_django_entry"):
            execute(
                "INSERT INTO stream_django_entry (feed, activity_key, origin) "
                "SELECT 'timeline:' || r.reader, x.key, 'user:' || x.actor "
                "FROM (SELECT DISTINCT reader FROM bench_follow) r CROSS JOIN LATERAL ("
                "  SELECT s.key, s.actor FROM bench_follow f JOIN bench_seed s ON s.actor = f.account "
                "  WHERE f.reader = r.reader ORDER BY s.key DESC LIMIT %s) x",
                [TIMELINE_LENGTH],
            )

    fanout = []
    with step(f"fan-out sources with {', '.join(f'{f:,}' for f in scale.fanout)} followers"):
        for followers in scale.fanout:
            execute(
                "INSERT INTO stream_django_follow (source, source_slug, target, created_at, updated_at) "
                "SELECT 'timeline:' || i, 'timeline', %s, %s, %s FROM generate_series(%s, %s) i",
                [f"user:fan{followers}", T0, T0, FAN_BASE + 1, FAN_BASE + followers],
            )
            fanout.append(
                {
                    "user": f"fan{followers}",
                    "followers": followers,
                    "full": False,
                    "probe": f"timeline:{FAN_BASE + followers}",
                }
            )
        # The background readers' timelines are full (max_length entries):
        # fanning out to them makes the backend trim, as on a live site.
        if background:
            execute(
                "INSERT INTO stream_django_follow (source, source_slug, target, created_at, updated_at) "
                "SELECT 'timeline:' || i, 'timeline', 'user:fanfull', %s, %s FROM generate_series(%s, %s) i",
                [T0, T0, background[0], background[-1]],
            )
            fanout.insert(
                0,
                {"user": "fanfull", "followers": len(background), "full": True, "probe": f"timeline:{background[-1]}"},
            )

    aggregated = {}
    with step(f"aggregated and notification feeds of {', '.join(f'{s:,}' for s in scale.aggregated_sizes)} activities"):
        for slug in ("timeline_aggregated", "notification"):
            for size in scale.aggregated_sizes:
                feed = f"{slug}:agg{size}"
                aggregated[(slug, size)] = feed
                _build_aggregated(feed, n, size)

    with step("VACUUM ANALYZE"):
        execute("VACUUM ANALYZE")

    return {
        "readers": dict(zip(scale.reader_follows, readers)),
        "busy_reader": busy_reader,
        "aggregated": aggregated,
        "fanout": fanout,
        "user_ct": user_ct,
        "post_ct": post_ct,
        "follows": len(follows),
    }


def _build_aggregated(feed: str, total: int, size: int) -> None:
    """Put every (total / size)-th activity into ``feed``, grouped by verb and day."""
    every = max(1, total // size)
    execute(
        "INSERT INTO stream_django_group_entry (feed, group_name, activity_key, actor, origin) "
        "SELECT %s, kind || '_' || to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD'), key, "
        "'auth.User:' || actor, NULL FROM bench_seed WHERE n %% %s = 0 ORDER BY n LIMIT %s",
        [feed, every, size],
    )
    execute(
        "INSERT INTO stream_django_group (feed, name, latest_key, created_at, activity_count, "
        "actor_count, is_seen, is_read) "
        "SELECT e.feed, e.group_name, MAX(e.activity_key), MIN(s.ts), COUNT(*), COUNT(DISTINCT e.actor), "
        "false, false FROM stream_django_group_entry e JOIN bench_seed s ON s.key = e.activity_key "
        "WHERE e.feed = %s GROUP BY e.feed, e.group_name",
        [feed],
    )


def _content_type(app_label: str, model: str) -> int:
    from django.contrib.contenttypes.models import ContentType

    return ContentType.objects.get_by_natural_key(app_label, model).pk


def verify(info: dict[str, Any], samples: int = 200) -> None:
    """Check the bulk rows against what the engine itself would store."""
    from bench.models import Post
    from stream_django.backends.database.models import GroupEntry, StoredActivity
    from stream_django.engine.activities import prepare_activity
    from stream_django.engine.feeds import get_group, slug_of

    total = scalar("SELECT COUNT(*) FROM bench_seed")
    rng = random.Random(1)
    pks = rng.sample(range(1, total + 1), min(samples, total))
    posts = Post.objects.select_related("user").in_bulk(pks)
    stored = {a.foreign_id: a for a in StoredActivity.objects.filter(foreign_id__in=[f"bench.Post:{p}" for p in pks])}
    for pk in pks:
        prepared = prepare_activity(posts[pk].create_activity())
        row = stored[prepared.foreign_id]
        if (row.key, row.data) != (prepared.key, prepared.json):
            raise AssertionError(f"bulk activity {pk} differs from the engine's:\n{row.data}\n{prepared.json}")
    for feed in info["aggregated"].values():
        group = get_group(slug_of(feed))
        for entry in GroupEntry.objects.filter(feed=feed).select_related("activity")[:samples]:
            prepared = prepare_activity(_loads(entry.activity.data))
            if group.group_key(prepared.decoded()) != entry.group_name:
                raise AssertionError(f"group {entry.group_name!r} of {feed} is not the engine's")
    log(f"checked {len(pks)} activities and the group names against the engine")


def _loads(text: str) -> dict[str, Any]:
    from stream_django.engine import serializer

    return serializer.loads(text)
