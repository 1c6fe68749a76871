"""
Where feed events go between processes (``STREAM_EVENTS["transport"]``).

- ``RedisTransport``: one Redis stream (``XADD`` trimmed with ``MINID`` to
  the retention window; live readers wait in ``XREAD BLOCK``).
- ``DatabaseTransport``: the ``stream_django_feed_event`` table, pruned to
  the window; live readers poll it, woken at once by a write in the same
  process and, on PostgreSQL, by ``NOTIFY`` from any process.

Both hand out record ids that only grow: Redis stream ids, or the table's
ids (inserts are serialised, so commit order is id order).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from typing import Any

from django.db import connections, router, transaction
from django.utils import timezone

from stream_django.conf import stream_settings
from stream_django.engine import serializer

logger = logging.getLogger("stream_django.events")

#: The PostgreSQL channel of the wake-up ``NOTIFY``.
CHANNEL = "stream_django_events"
#: One PostgreSQL advisory lock number for serialising event inserts.
ADVISORY_LOCK = 0x5D_E7E7
#: The MySQL/MariaDB lock row serialising event inserts (no feed id lacks a ``:``).
EVENTS_LOCK = "{events}"


class BaseTransport:
    """Stores records and reads them back in id order."""

    name = "base"
    #: The position before any record.
    empty_id = "0"
    #: Can the store lose records other than by pruning (a Redis restarted
    #: without persistence)? Then the live reader checks, before each wait,
    #: that its position is still stored, and tells its clients to reload
    #: when it is not.
    may_lose_records = False

    def __init__(self, options: dict[str, Any]) -> None:
        self.retention = float(options["retention"])
        self.poll_interval = float(options["poll_interval"])

    def order(self, record_id: str) -> tuple[int, ...]:
        """Return the sort key of ``record_id``; ``ValueError`` if malformed."""
        raise NotImplementedError

    def append(self, text: str) -> str:
        raise NotImplementedError

    def read(self, after: str | None, upto: str | None, count: int) -> list[tuple[str, dict[str, Any]]]:
        """Records after ``after`` (``None``: the oldest) up to ``upto``, oldest first."""
        raise NotImplementedError

    def read_back(self, before: str | None, count: int) -> list[tuple[str, dict[str, Any]]]:
        """Records before ``before`` (``None``: the newest), newest first."""
        raise NotImplementedError

    def latest(self) -> str:
        """The newest record id, or the id before any record."""
        raise NotImplementedError

    def exists(self, record_id: str) -> bool:
        return self.get(record_id) is not None

    def get(self, record_id: str) -> dict[str, Any] | None:
        """The record ``record_id``, or ``None`` once it is gone."""
        raise NotImplementedError

    async def wait(self, after: str, timeout: float) -> None:
        """Return when a record after ``after`` may exist, or after ``timeout``."""
        raise NotImplementedError

    def delete(self, record_ids: Sequence[str]) -> None:
        """Delete the records ``record_ids``."""
        raise NotImplementedError

    def forget(self, needles: Sequence[str]) -> int:
        """Delete every record whose data contains one of ``needles``, a
        page at a time over the window; return how many went."""
        quoted = [serializer.dumps(n) for n in needles]  # whole JSON strings: "user:5", not "user:50"
        gone = 0
        after: str | None = None
        while rows := self.read(after, None, 1000):
            after = rows[-1][0]
            doomed = [i for i, data in rows if any(n in serializer.dumps(data) for n in quoted)]
            if doomed:
                self.delete(doomed)
                gone += len(doomed)
        return gone

    def notify_local(self) -> None:
        """Wake this process's live readers (a record was just appended here)."""

    def close(self) -> None:
        """Release connections."""

    async def aclose(self) -> None:
        """Release what live reading holds (the hub calls it when its last subscriber leaves)."""


def _sqlite_retry(method: Any) -> Any:
    """Retry ``method`` while SQLite answers "locked": a shared-cache
    database (an in-memory one shared by threads) refuses a concurrent
    reader at once instead of waiting."""
    import functools

    from django.db import OperationalError

    @functools.wraps(method)
    def retried(self: DatabaseTransport, *args: Any) -> Any:
        for attempt in range(100):
            try:
                return method(self, *args)
            except OperationalError as e:
                if attempt == 99 or connections[self.using].vendor != "sqlite" or "locked" not in str(e):
                    raise
                time.sleep(0.005)
        raise AssertionError("unreachable")  # pragma: no cover

    return retried


class DatabaseTransport(BaseTransport):
    name = "database"

    def __init__(self, options: dict[str, Any]) -> None:
        super().__init__(options)
        self._wakers: set[Any] = set()
        self._lock = threading.Lock()
        self._last_prune = time.monotonic()  # the first prune a while after start
        self._listener: Any = None

    @property
    def using(self) -> str:
        from stream_django.models import FeedEventRecord

        return router.db_for_write(FeedEventRecord)

    def order(self, record_id: str) -> tuple[int, ...]:
        value = int(record_id)
        if value < 0:
            raise ValueError(record_id)
        return (value,)

    @_sqlite_retry
    def append(self, text: str) -> str:
        from stream_django.models import FeedEventRecord

        db = self.using
        vendor = connections[db].vendor
        if vendor not in ("postgresql", "mysql"):
            # SQLite takes one writer at a time: ids are committed in order.
            row = FeedEventRecord.objects.using(db).create(data=text)
            self._maybe_prune(db)
            return str(row.id)
        # The inserts are serialised so that a reader never sees id n + 1
        # committed before id n.
        if vendor == "postgresql":
            # One statement: the lock (held until its transaction ends), the
            # row, and the wake-up NOTIFY delivered at commit.
            table = connections[db].ops.quote_name(FeedEventRecord._meta.db_table)
            created = connections[db].ops.adapt_datetimefield_value(timezone.now())
            with connections[db].cursor() as cursor:
                cursor.execute(
                    f"WITH locked AS (SELECT pg_advisory_xact_lock(%s)), "
                    f"made AS (INSERT INTO {table} (created_at, data) SELECT %s, %s FROM locked RETURNING id) "
                    f"SELECT id, pg_notify(%s, '') FROM made",
                    [ADVISORY_LOCK, created, text, CHANNEL],
                )
                record_id = cursor.fetchone()[0]
            self._maybe_prune(db)
            return str(record_id)
        # MySQL/MariaDB: an exclusive lock on one row of the lock table (the
        # database backend's, under a name no feed id can take), held until
        # the transaction that appends commits; a session lock (GET_LOCK)
        # would be released before that COMMIT and let id n + 1 commit first.
        from stream_django.backends.database.models import FeedLock

        lock_table = connections[db].ops.quote_name(FeedLock._meta.db_table)
        with transaction.atomic(using=db, savepoint=False):
            with connections[db].cursor() as cursor:
                cursor.execute(
                    f"INSERT INTO {lock_table} (feed) VALUES (%s) ON DUPLICATE KEY UPDATE feed = feed", [EVENTS_LOCK]
                )
            row = FeedEventRecord.objects.using(db).create(data=text)
        self._maybe_prune(db)
        return str(row.id)

    def _maybe_prune(self, db: str) -> None:
        """Delete the records older than the window, at most once a minute per process."""
        from stream_django.models import FeedEventRecord

        now = time.monotonic()
        if now - self._last_prune < min(60.0, self.retention / 2):
            return
        self._last_prune = now
        from datetime import timedelta

        from django.utils import timezone

        cutoff = timezone.now() - timedelta(seconds=self.retention)
        edge = (
            FeedEventRecord.objects.using(db)
            .filter(created_at__lt=cutoff)
            .order_by("-id")
            .values_list("id", flat=True)
            .first()
        )
        if edge is not None:
            FeedEventRecord.objects.using(db).filter(id__lte=edge).delete()

    def delete(self, record_ids: Sequence[str]) -> None:
        from stream_django.models import FeedEventRecord

        FeedEventRecord.objects.using(self.using).filter(id__in=[int(i) for i in record_ids]).delete()

    def prune(self) -> None:
        self._last_prune = 0.0
        self._maybe_prune(self.using)

    def _rows(self, query: Any) -> list[tuple[str, dict[str, Any]]]:
        return [(str(i), serializer.loads(d)) for i, d in query.values_list("id", "data")]

    @_sqlite_retry
    def read(self, after: str | None, upto: str | None, count: int) -> list[tuple[str, dict[str, Any]]]:
        from stream_django.models import FeedEventRecord

        rows = FeedEventRecord.objects.using(self.using).order_by("id")
        if after is not None:
            rows = rows.filter(id__gt=int(after))
        if upto is not None:
            rows = rows.filter(id__lte=int(upto))
        return self._rows(rows[:count])

    @_sqlite_retry
    def read_back(self, before: str | None, count: int) -> list[tuple[str, dict[str, Any]]]:
        from stream_django.models import FeedEventRecord

        rows = FeedEventRecord.objects.using(self.using).order_by("-id")
        if before is not None:
            rows = rows.filter(id__lt=int(before))
        return self._rows(rows[:count])

    @_sqlite_retry
    def latest(self) -> str:
        from stream_django.models import FeedEventRecord

        last = FeedEventRecord.objects.using(self.using).order_by("-id").values_list("id", flat=True).first()
        return str(last) if last else self.empty_id

    @_sqlite_retry
    def get(self, record_id: str) -> dict[str, Any] | None:
        from stream_django.models import FeedEventRecord

        rows = self._rows(FeedEventRecord.objects.using(self.using).filter(id=int(record_id)))
        return rows[0][1] if rows else None

    def notify_local(self) -> None:
        with self._lock:
            wakers = list(self._wakers)
        for loop, event in wakers:
            try:
                loop.call_soon_threadsafe(event.set)
            except RuntimeError:  # the loop is closed
                with self._lock:
                    self._wakers.discard((loop, event))

    async def wait(self, after: str, timeout: float) -> None:
        import asyncio

        loop = asyncio.get_running_loop()
        event = asyncio.Event()
        with self._lock:
            self._wakers.add((loop, event))
        try:
            waiters: list[asyncio.Future[Any]] = [asyncio.ensure_future(event.wait())]
            if connections[self.using].vendor == "postgresql":
                waiters.append(asyncio.ensure_future(self._listen(min(timeout, self.poll_interval * 30))))
            _, pending = await asyncio.wait(waiters, timeout=min(timeout, self._poll()), return_when="FIRST_COMPLETED")
            for task in pending:
                task.cancel()
        finally:
            with self._lock:
                self._wakers.discard((loop, event))

    def _poll(self) -> float:
        # With NOTIFY the poll is only a safety net.
        vendor = connections[self.using].vendor
        return self.poll_interval * (10 if vendor == "postgresql" else 1)

    async def _listen(self, timeout: float) -> None:
        """Return on the next ``NOTIFY`` of the channel (PostgreSQL)."""
        import psycopg

        if self._listener is None or self._listener.closed:
            params = connections[self.using].get_connection_params()
            params.pop("cursor_factory", None)
            params.pop("context", None)
            self._listener = await psycopg.AsyncConnection.connect(autocommit=True, **params)
            await self._listener.execute(f"LISTEN {CHANNEL}")
        async for _ in self._listener.notifies(timeout=timeout, stop_after=1):
            return

    def close(self) -> None:
        self._listener = None

    async def aclose(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None and not listener.closed:
            await listener.close()


class RedisTransport(BaseTransport):
    name = "redis"
    empty_id = "0-0"
    may_lose_records = True

    def __init__(self, options: dict[str, Any]) -> None:
        super().__init__(options)
        from stream_django.backends.redis import connection

        url = options.get("redis_url") or stream_settings.REDIS_URL
        if not url:
            raise ValueError("STREAM_EVENTS['transport'] is 'redis' but no STREAM_REDIS_URL is set")
        self.nodes, self.cluster = connection.parse_urls(url)
        self.url = url
        self._client: Any = None
        prefix = stream_settings.BACKEND_OPTIONS.get("key_prefix") or "stream_django:"
        self.key = options.get("key") or f"{prefix}{{events}}"
        self._async: Any = None
        self._async_loop: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            from stream_django.backends import get_backend
            from stream_django.backends.redis import connection

            storage = get_backend()
            if self.url == stream_settings.REDIS_URL and hasattr(storage, "redis"):
                self._client = storage.redis  # the Redis backend's own connections
            else:
                self._client = connection.get_client(self.nodes, self.cluster, {})
        return self._client

    def order(self, record_id: str) -> tuple[int, ...]:
        ms, sep, seq = record_id.partition("-")
        if not sep:
            raise ValueError(record_id)
        return (int(ms), int(seq))

    def append(self, text: str) -> str:
        floor = int((time.time() - self.retention) * 1000)
        return str(self.client.xadd(self.key, {"d": text}, minid=str(floor), approximate=False))

    def _rows(self, rows: Any) -> list[tuple[str, dict[str, Any]]]:
        return [(str(i), serializer.loads(fields["d"])) for i, fields in rows]

    def read(self, after: str | None, upto: str | None, count: int) -> list[tuple[str, dict[str, Any]]]:
        start = "-" if after is None else f"({after}"
        return self._rows(self.client.xrange(self.key, start, upto or "+", count=count))

    def delete(self, record_ids: Sequence[str]) -> None:
        self.client.xdel(self.key, *record_ids)

    def read_back(self, before: str | None, count: int) -> list[tuple[str, dict[str, Any]]]:
        end = "+" if before is None else f"({before}"
        return self._rows(self.client.xrevrange(self.key, end, "-", count=count))

    def latest(self) -> str:
        rows = self.client.xrevrange(self.key, "+", "-", count=1)
        return str(rows[0][0]) if rows else self.empty_id

    def get(self, record_id: str) -> dict[str, Any] | None:
        rows = self._rows(self.client.xrange(self.key, record_id, record_id, count=1))
        return rows[0][1] if rows else None

    def _async_client(self) -> Any:
        import asyncio

        loop = asyncio.get_running_loop()
        if self._async is None or self._async_loop is not loop:
            node = self.nodes[0]
            if self.cluster:
                from redis.asyncio.cluster import RedisCluster

                self._async = RedisCluster(host=node.host, port=node.port, decode_responses=True)
            else:
                import redis.asyncio

                self._async = redis.asyncio.Redis(
                    host=node.host,
                    port=node.port,
                    db=node.db,
                    username=node.username,
                    password=node.password,
                    ssl=node.scheme == "rediss",
                    decode_responses=True,
                )
            self._async_loop = loop
        return self._async

    async def wait(self, after: str, timeout: float) -> None:
        client = self._async_client()
        try:
            await client.xread({self.key: after}, count=1, block=max(1, int(timeout * 1000)))
        except Exception:
            self._async = None  # reconnect next time
            raise

    def close(self) -> None:
        self._async = None

    async def aclose(self) -> None:
        client, self._async = self._async, None
        if client is not None:
            await client.aclose()
