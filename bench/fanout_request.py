"""
Request-side cost of posting to an account with many followers.

    python -m bench.fanout_request [--db sqlite|postgres|mysql] [--backend database|redis]
                                   [--sizes 1000,10000,100000] [--drain]

For each size N, N users follow the author the way ``feed_manager.follow_user``
does (their ``timeline`` and ``timeline_aggregated`` feeds, so 2N follower
feeds), then the author posts:

- inline: no task backend (the default), the request writes every follower;
- queued: django-tasks-db configured as the task backend, the request writes
  the author's feed and enqueues one task.

It prints the request time of each (median of the runs) and the number of
queries of a queued post. With ``--drain`` it also runs the queued chunks in
this process and prints how long the workers' share takes.

PostgreSQL and MariaDB are reached as in the test settings (``PGHOST``...,
``MYSQL_HOST``...); the benchmark creates and drops its own database,
``STREAM_BENCH_DB_NAME`` (default ``bench_stream_django``). With
``--backend redis`` the feeds and follows live in Redis (``BENCH_REDIS_URL``,
default ``redis://127.0.0.1:6379/12``, keys under ``sdreq:``, deleted at the
end) while the ledger and the task queue stay in the database.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import django
from django.conf import settings

REDIS_PREFIX = "sdreq:"


def configure(db: str, backend: str) -> None:
    name = os.environ.get("STREAM_BENCH_DB_NAME", "bench_stream_django")
    if db == "postgres":
        database = {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": "postgres",
            "USER": os.environ.get("PGUSER", "postgres"),
            "HOST": os.environ.get("PGHOST", "127.0.0.1"),
            "PORT": os.environ.get("PGPORT", "5432"),
            "TEST": {"NAME": name},
        }
    elif db == "mysql":
        database = {
            "ENGINE": "django.db.backends.mysql",
            "NAME": "mysql",
            "USER": os.environ.get("MYSQL_USER", "root"),
            "HOST": os.environ.get("MYSQL_HOST", "127.0.0.1"),
            "PORT": os.environ.get("MYSQL_PORT", "3306"),
            "OPTIONS": {"charset": "utf8mb4"},
            "TEST": {"NAME": name, "CHARSET": "utf8mb4", "COLLATION": "utf8mb4_bin"},
        }
    else:
        database = {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}
    apps = ["django.contrib.contenttypes", "django.contrib.auth", "stream_django", "django_tasks_db"]
    if importlib.util.find_spec("django.tasks") is None:
        apps.insert(2, "django_tasks")
    settings.configure(
        DATABASES={"default": database},
        INSTALLED_APPS=apps,
        USE_TZ=True,
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
        STREAM_FEEDS={
            "user": "flat",
            "timeline": "flat",
            "timeline_aggregated": "aggregated",
            "notification": "notification",
        },
        LOGGING_CONFIG=None,
        **(
            {
                "STREAM_BACKEND": "stream_django.backends.redis.RedisBackend",
                "STREAM_REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12"),
                "STREAM_BACKEND_OPTIONS": {"key_prefix": REDIS_PREFIX},
            }
            if backend == "redis"
            else {}
        ),
    )
    django.setup()


QUEUED = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["stream_fanout", "stream_fanout_bulk"]}}


def timed(func: Callable[[], Any]) -> float:
    started = time.perf_counter()
    func()
    return time.perf_counter() - started


def make_followers(author: str, n: int) -> None:
    from django.utils import timezone as tz

    from stream_django.backends import get_backend
    from stream_django.engine.plan import FeedLayout
    from stream_django.models import Follow

    backend = get_backend()
    if backend.name == "redis":
        for slug in ("timeline", "timeline_aggregated"):
            for start in range(0, n, 5000):
                backend.follow_many(
                    [(f"{slug}:{author}-{i}", f"user:{author}") for i in range(start, min(n, start + 5000))],
                    0,
                    FeedLayout.current(),
                )
        return

    now = tz.now()
    for slug in ("timeline", "timeline_aggregated"):
        Follow.objects.bulk_create(
            [
                Follow(
                    source=f"{slug}:{author}-{i}",
                    source_slug=slug,
                    target=f"user:{author}",
                    created_at=now,
                    updated_at=now,
                )
                for i in range(n)
            ],
            batch_size=5000,
        )
    # What autovacuum does to a live table: the planner needs statistics to
    # read a feed's followers along the index instead of sorting them all.
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            {"postgresql": "ANALYZE", "mysql": f"ANALYZE TABLE {Follow._meta.db_table}"}.get(
                connection.vendor, "ANALYZE"
            )
        )


class Post:
    """Activities that are new each time (distinct foreign ids and times)."""

    def __init__(self) -> None:
        self.n = 0

    def __call__(self, author: str) -> Callable[[], Any]:
        from stream_django.client import stream_client

        self.n += 1
        activity = {
            "actor": f"auth.User:{author}",
            "verb": "tweet",
            "object": f"bench.Tweet:{self.n}",
            "foreign_id": f"bench.Tweet:{self.n}",
            "time": datetime(2026, 1, 1, tzinfo=timezone.utc) + timedelta(seconds=self.n),
        }
        return lambda: stream_client.feed("user", author).add_activity(activity)


def drain() -> float:
    """Run every queued fan-out chunk here, as workers would; return the time taken."""
    from django_tasks_db.models import DBTaskResult

    from stream_django.fanout import run_chunk

    started = time.perf_counter()
    while True:
        batch = list(DBTaskResult.objects.filter(status="READY").order_by("-priority", "enqueued_at")[:50])
        if not batch:
            return time.perf_counter() - started
        for row in batch:
            run_chunk(*row.args_kwargs["args"])
            row.status = "SUCCESSFUL"
            row.save(update_fields=["status"])


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.fanout_request", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--db", choices=["sqlite", "postgres", "mysql"], default=os.environ.get("STREAM_TEST_DB", "sqlite")
    )
    parser.add_argument("--backend", choices=["database", "redis"], default="database", help="the feed store")
    parser.add_argument("--sizes", default="1000,10000,100000", help="comma-separated follower counts")
    parser.add_argument("--runs", type=int, default=5, help="queued posts per size (the median is printed)")
    parser.add_argument("--drain", action="store_true", help="also time the workers' share, run in this process")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]

    configure(args.db, args.backend)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext, override_settings
    from django_tasks_db.models import DBTaskResult

    creation = connection.creation
    creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        post = Post()
        from stream_django.conf import stream_settings

        print(
            f"{args.backend} backend, {connection.vendor} for the tasks; STREAM_FANOUT_CHUNK_SIZE {stream_settings.FANOUT_CHUNK_SIZE}, "
            f"STREAM_FANOUT_INLINE_LIMIT {stream_settings.FANOUT_INLINE_LIMIT}; each follower has 2 feeds"
        )
        header = f"{'followers':>9}  {'feeds':>7}  {'inline request':>14}  {'queued request':>14}  {'queries':>7}  {'tasks':>5}"
        if args.drain:
            header += f"  {'workers (in-process)':>20}"
        print(header)
        for n in sizes:
            author = f"a{n}"
            make_followers(author, n)
            with override_settings(TASKS=QUEUED):
                post(author)()  # warm-up, not timed: builds the task, fills caches
                tasks_before = DBTaskResult.objects.count()
                queued_times, queries = [], []
                for _ in range(args.runs):
                    with CaptureQueriesContext(connection) as ctx:
                        queued_times.append(timed(post(author)))
                    queries.append(len(ctx.captured_queries))
                tasks = (DBTaskResult.objects.count() - tasks_before) / args.runs
                workers = drain() / (args.runs + 1) if args.drain else None
                DBTaskResult.objects.all().delete()
            # Inline last: its large write leaves the database busy for a while.
            inline = timed(post(author))
            line = (
                f"{n:>9,}  {2 * n:>7,}  {inline * 1000:>11.1f} ms  {statistics.median(queued_times) * 1000:>11.1f} ms"
                f"  {statistics.median(queries):>7.0f}  {tasks:>5.0f}"
            )
            if workers is not None:
                line += f"  {workers * 1000:>14.1f} ms/post"
            print(line, flush=True)
    finally:
        creation.destroy_test_db(creation.connection.settings_dict["NAME"], verbosity=0)
        if args.backend == "redis":
            from stream_django.backends import get_backend

            client = get_backend().redis
            for key in client.scan_iter(match=f"{REDIS_PREFIX}*", count=5000):
                client.unlink(key)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
