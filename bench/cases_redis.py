"""
The Redis cases: the Redis backend against raw redis-py commands.

The backend is used through ``STREAM_BACKEND`` and the storage interface
only (``get_backend()``, its ``client`` and ``BaseStorageBackend`` methods),
and fed the same activities, follows and feeds as PostgreSQL. When the
backend cannot be imported, its rows say so and the raw references still
run.

The raw references keep their own minimal layout under ``sdbench:r:``:

- ``{F}:e``: sorted set, scores 0, member = activity key + origin feed;
- ``a:<key>``: string, the activity's JSON;
- ``{F}:fr``: set of the feeds following F;
- ``{F}:g``: sorted set of groups (latest key + name), ``{F}:ge:<name>``
  their activity keys, ``{F}:ga:<name>`` a hash actor -> count,
  ``{F}:us`` / ``{F}:ur`` the unseen / unread groups.

Only keys under ``sdbench:`` are ever written or deleted.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.db import connection
from django.test.utils import override_settings

from bench.cases_db import PAGE, _fanout_activity, deep_cursor, fanout_label
from bench.data import log, step
from bench.measure import Contender, compare
from bench.report import Row
from bench.scales import Scale
from stream_django.engine import ids, serializer
from stream_django.engine.activities import prepare_activity
from stream_django.engine.plan import FeedLayout, plan_write
from stream_django.feeds import get_client

PREFIX = "sdbench:"
BACKEND_PREFIX = PREFIX + "b:"
RAW = PREFIX + "r:"
CHUNK = 1000
REDIS = "redis backend"
NOT_INSTALLED = "redis backend not installed"

FANOUT_SCRIPT = """
for i = 1, #KEYS do
  redis.call('ZADD', KEYS[i], 0, ARGV[1])
end
return #KEYS
"""


def backend_available() -> str | None:
    """Return why the Redis backend cannot be used, or None when it can."""
    from stream_django.backends import load_backend_class
    from stream_django.exceptions import InvalidStreamBackend

    try:
        load_backend_class(settings.REDIS_BACKEND)
    except InvalidStreamBackend:
        return NOT_INSTALLED
    return None


@contextmanager
def redis_backend() -> Iterator[Any]:
    """The configured backend, switched to Redis for the duration."""
    from stream_django.backends import get_backend

    with override_settings(
        STREAM_BACKEND=settings.REDIS_BACKEND, STREAM_BACKEND_OPTIONS={"key_prefix": BACKEND_PREFIX}
    ):
        yield get_backend()


class RedisCases:
    def __init__(self, scale: Scale, info: dict[str, Any]) -> None:
        import redis

        self.scale = scale
        self.info = info
        self.r = redis.Redis.from_url(settings.STREAM_REDIS_URL)
        self.missing = backend_available()
        # A Script loads itself again if the server's script cache was flushed.
        self.fanout_script = self.r.register_script(FANOUT_SCRIPT)

    # -- housekeeping --------------------------------------------------------

    def clear(self) -> int:
        """Delete every key under ``sdbench:`` (and no other)."""
        deleted = 0
        batch = []
        for key in self.r.scan_iter(match=PREFIX + "*", count=5000):
            batch.append(key)
            if len(batch) >= 5000:
                deleted += self.r.unlink(*batch)
                batch = []
        if batch:
            deleted += self.r.unlink(*batch)
        return deleted

    def used_memory(self) -> int:
        return int(self.r.info("memory")["used_memory"])

    # -- loading ---------------------------------------------------------------

    def load(self) -> None:
        self.clear()
        before = self.used_memory()
        with step("raw Redis layout loaded from PostgreSQL"):
            self._load_raw()
        self.raw_memory = self.used_memory() - before
        self.backend_memory = None
        if self.missing:
            log(f"{NOT_INSTALLED}: its rows are skipped")
            return
        before = self.used_memory()
        with step("redis backend loaded through the storage interface"):
            self._load_backend()
        self.backend_memory = self.used_memory() - before

    def _rows(self, sql: str, params: Any = None, size: int = 20_000) -> Iterator[tuple[Any, ...]]:
        with connection.chunked_cursor() as cursor:
            cursor.execute(sql, params)
            while True:
                rows = cursor.fetchmany(size)
                if not rows:
                    return
                yield from rows

    def _load_raw(self) -> None:
        pipe = self.r.pipeline(transaction=False)
        pending = 0

        def flush(force: bool = False) -> None:
            nonlocal pending
            if pending >= CHUNK or (force and pending):
                pipe.execute()
                pending = 0

        bodies: dict[str, str] = {}
        for key, data in self._rows("SELECT key, data FROM stream_django_activity"):
            bodies[RAW + "a:" + key] = data
            if len(bodies) >= CHUNK:
                pipe.mset(bodies)
                bodies = {}
                pending += 1
                flush()
        if bodies:
            pipe.mset(bodies)
            pending += 1
        flush(force=True)

        members: dict[str, dict[str, int]] = defaultdict(dict)
        count = 0
        for feed, key, origin in self._rows("SELECT feed, activity_key, origin FROM stream_django_entry ORDER BY feed"):
            members[feed][key + (origin or "")] = 0
            count += 1
            if count >= CHUNK:
                for f, m in members.items():
                    pipe.zadd(RAW + "{" + f + "}:e", m)
                    pending += 1
                members.clear()
                count = 0
                flush()
        for f, m in members.items():
            pipe.zadd(RAW + "{" + f + "}:e", m)
            pending += 1
        flush(force=True)

        for source, follower in self._rows(
            "SELECT target, source FROM stream_django_follow WHERE target LIKE 'user:fan%%' ORDER BY target"
        ):
            pipe.sadd(RAW + "{" + source + "}:fr", follower)
            pending += 1
            flush()
        flush(force=True)

        for feed in self.info["aggregated"].values():
            notification = feed.startswith("notification:")
            groups: dict[str, str] = {}
            base = RAW + "{" + feed + "}:"
            for name, key, actor, _origin in self._rows(
                "SELECT group_name, activity_key, actor, origin FROM stream_django_group_entry WHERE feed = %s",
                [feed],
            ):
                pipe.zadd(base + "ge:" + name, {key: 0})
                pipe.hincrby(base + "ga:" + name, actor, 1)
                pending += 2
                groups[name] = max(groups.get(name, ""), key)
                flush()
            pipe.zadd(base + "g", {latest + name: 0 for name, latest in groups.items()})
            if notification:
                pipe.sadd(base + "us", *groups)
                pipe.sadd(base + "ur", *groups)
            pending += 1
            flush(force=True)

    def _load_backend(self) -> None:
        with redis_backend() as backend:
            pairs = [
                (source, target)
                for source, target in self._rows("SELECT source, target FROM stream_django_follow ORDER BY id")
            ]
            for start in range(0, len(pairs), CHUNK):
                backend.follow_many(pairs[start : start + CHUNK], 0, FeedLayout.current())
            log(f"{len(pairs):,} follows")
            feed, batch, added = None, [], 0
            for actor, data in self._rows(
                "SELECT s.actor, a.data FROM bench_seed s JOIN stream_django_activity a ON a.key = s.key "
                "ORDER BY s.actor, s.key"
            ):
                target = f"user:{actor}"
                if target != feed or len(batch) >= 100:
                    if batch:
                        backend.add_activities(feed, plan_write(batch))
                        added += len(batch)
                    feed, batch = target, []
                batch.append(prepare_activity(serializer.loads(data)))
            if batch:
                backend.add_activities(feed, plan_write(batch))
                added += len(batch)
            log(f"{added:,} activities added with fan-out")
            for agg in self.info["aggregated"].values():
                batch = []
                for (data,) in self._rows(
                    "SELECT a.data FROM stream_django_group_entry e JOIN stream_django_activity a "
                    "ON a.key = e.activity_key WHERE e.feed = %s ORDER BY e.activity_key",
                    [agg],
                ):
                    batch.append(prepare_activity(serializer.loads(data)))
                    if len(batch) >= 100:
                        backend.add_activities(agg, plan_write(batch))
                        batch = []
                if batch:
                    backend.add_activities(agg, plan_write(batch))

    # -- 1. fan-out --------------------------------------------------------------

    def raw_fanout_pipeline(self, activity: Any, source: str) -> None:
        """Followers (one SMEMBERS), the body, then ZADD per follower in pipelines."""
        followers = self.r.smembers(RAW + "{" + source + "}:fr")
        member = activity.key
        pipe = self.r.pipeline(transaction=False)
        pipe.set(RAW + "a:" + activity.key, activity.json)
        pipe.zadd(RAW + "{" + source + "}:e", {member: 0})
        pipe.execute()
        member = activity.key + source
        followers = list(followers)
        for start in range(0, len(followers), CHUNK):
            for f in followers[start : start + CHUNK]:
                pipe.zadd(RAW + "{" + f.decode() + "}:e", {member: 0})
            pipe.execute()

    def raw_fanout_lua(self, activity: Any, source: str) -> None:
        """The same, with one Lua call per chunk of followers."""
        followers = list(self.r.smembers(RAW + "{" + source + "}:fr"))
        pipe = self.r.pipeline(transaction=False)
        pipe.set(RAW + "a:" + activity.key, activity.json)
        pipe.zadd(RAW + "{" + source + "}:e", {activity.key: 0})
        pipe.execute()
        member = activity.key + source
        for start in range(0, len(followers), CHUNK):
            keys = [RAW + "{" + f.decode() + "}:e" for f in followers[start : start + CHUNK]]
            self.fanout_script(keys=keys, args=[member])

    def _raw_fanout_cleanup(self, activity: Any, source: str) -> None:
        followers = list(self.r.smembers(RAW + "{" + source + "}:fr"))
        pipe = self.r.pipeline(transaction=False)
        pipe.delete(RAW + "a:" + activity.key)
        pipe.zrem(RAW + "{" + source + "}:e", activity.key)
        member = activity.key + source
        for start in range(0, len(followers), CHUNK):
            for f in followers[start : start + CHUNK]:
                pipe.zrem(RAW + "{" + f.decode() + "}:e", member)
            pipe.execute()
        pipe.execute()

    def fanout(self, series: dict[str, Any]) -> list[Row]:
        rows = []
        section = "1. Fan-out: one activity to F followers (Redis)"
        for case in self.info["fanout"]:
            followers, source = case["followers"], f"user:{case['user']}"
            assert self.r.scard(RAW + "{" + source + "}:fr") == followers

            def prepare(counter: int, source: str = source) -> Any:
                return prepare_activity(_fanout_activity(source, 10**7 + counter))

            pipelined = Contender(
                "pipelined ZADD",
                lambda a, s=source: self.raw_fanout_pipeline(a, s),
                prepare,
                lambda a, s=source: self._raw_fanout_cleanup(a, s),
            )
            lua = Contender(
                "Lua per chunk",
                lambda a, s=source: self.raw_fanout_lua(a, s),
                prepare,
                lambda a, s=source: self._raw_fanout_cleanup(a, s),
            )
            contenders = [pipelined, lua]
            ours = None
            with self._backend_or_none() as backend:
                if backend is not None:
                    feed = get_client(backend).feed("user", case["user"])

                    def ours_prepare(counter: int, source: str = source) -> dict[str, Any]:
                        return _fanout_activity(source, 2 * 10**7 + counter)

                    def ours_cleanup(activity: dict[str, Any], s: str = source, b: Any = backend) -> None:
                        b.remove_activities(s, [prepare_activity(activity).key], FeedLayout.current())

                    probe = ours_prepare(10**6)
                    feed.add_activity(probe)
                    key = prepare_activity(probe).key
                    assert backend.read_feed(case["probe"], _page())[0].key == key
                    ours_cleanup(probe)
                    ours = Contender(REDIS, feed.add_activity, ours_prepare, ours_cleanup)
                    contenders.append(ours)
                compare(contenders, self.scale.write_runs, warmup=1)
            for ref in (pipelined, lua):
                rows.append(
                    Row(
                        section,
                        fanout_label(case),
                        REDIS,
                        ours.median if ours else None,
                        ref.name,
                        ref.median,
                        limit=1.5,
                        note="" if ours else self.missing,
                    )
                )
            if not case["full"]:
                series.setdefault("fanout", {}).setdefault("Redis pipelined ZADD", {})[followers] = pipelined.median
                series["fanout"].setdefault("Redis Lua per chunk", {})[followers] = lua.median
                if ours:
                    series["fanout"].setdefault(REDIS, {})[followers] = ours.median
        return rows

    @contextmanager
    def _backend_or_none(self) -> Iterator[Any]:
        if self.missing:
            yield None
            return
        with redis_backend() as backend:
            yield backend

    # -- 2. timeline reads --------------------------------------------------------

    def raw_page(self, feed: str, before: str | None) -> list[tuple[str, Any, str]]:
        """ZREVRANGEBYLEX for the page, then MGET for the bodies."""
        upper = b"+" if before is None else b"(" + before.encode()
        members = self.r.zrevrangebylex(RAW + "{" + feed + "}:e", upper, b"-", start=0, num=PAGE)
        keys = [m[: ids.KEY_LENGTH].decode() for m in members]
        bodies = self.r.mget([RAW + "a:" + k for k in keys]) if keys else []
        return [(k, json.loads(b), m[ids.KEY_LENGTH :].decode()) for k, b, m in zip(keys, bodies, members)]

    def timelines(self, series: dict[str, Any]) -> list[Row]:
        rows = []
        section = "2. Timeline page of 25 (Redis)"
        for follows, reader in self.info["readers"].items():
            feed_id = f"timeline:{reader}"
            deep_key = deep_cursor(feed_id, self.scale.deep_position)
            assert self.r.zcard(RAW + "{" + feed_id + "}:e") >= self.scale.deep_position + PAGE
            for page, key in (("first", None), ("deep", deep_key)):
                params = {"limit": PAGE} if key is None else {"limit": PAGE, "id_lt": ids.key_to_id(key)}
                raw = Contender("ZREVRANGEBYLEX + MGET", lambda f=feed_id, k=key: self.raw_page(f, k))
                contenders = [raw]
                ours = None
                with self._backend_or_none() as backend:
                    if backend is not None:
                        feed = get_client(backend).feed("timeline", reader)
                        got = [ids.id_to_key(a["id"]) for a in feed.get(**params)["results"]]
                        assert got == [r[0] for r in self.raw_page(feed_id, key)], "redis pages differ"
                        ours = Contender(REDIS, lambda f=feed, p=params: f.get(**p))
                        contenders.append(ours)
                    compare(contenders, self.scale.read_runs, self.scale.warmup)
                rows.append(
                    Row(
                        section,
                        f"{follows:,} follows, {page} page",
                        REDIS,
                        ours.median if ours else None,
                        raw.name,
                        raw.median,
                        limit=2,
                        note="" if ours else self.missing,
                    )
                )
                series.setdefault(f"read_{page}", {}).setdefault("Redis ZREVRANGEBYLEX + MGET", {})[follows] = (
                    raw.median
                )
                if ours:
                    series[f"read_{page}"].setdefault(REDIS, {})[follows] = ours.median
        if REDIS in series.get("read_first", {}):
            flat = "2b. Timeline read against follows (flat: same cost at any follow count)"
            for page in ("first", "deep"):
                values = series[f"read_{page}"][REDIS]
                few, many = min(values), max(values)
                rows.append(
                    Row(
                        flat,
                        f"{page} page, {many:,} vs {few:,} follows (Redis)",
                        f"{many:,} follows",
                        values[many],
                        f"{few:,} follows",
                        values[few],
                        limit=1.3,
                    )
                )
        return rows

    # -- 4. aggregated pages ----------------------------------------------------

    def raw_groups(self, feed: str, per_group: int, notification: bool) -> list[dict[str, Any]]:
        """Groups (ZREVRANGEBYLEX), then per group its newest keys, count and
        actor count, and the counts (one pipeline), then the bodies (MGET)."""
        base = RAW + "{" + feed + "}:"
        members = self.r.zrevrangebylex(base + "g", b"+", b"-", start=0, num=PAGE)
        names = [m[ids.KEY_LENGTH :].decode() for m in members]
        pipe = self.r.pipeline(transaction=False)
        for name in names:
            pipe.zrevrangebylex(base + "ge:" + name, b"+", b"-", start=0, num=per_group)
            pipe.zcard(base + "ge:" + name)
            pipe.hlen(base + "ga:" + name)
        if notification:
            pipe.scard(base + "us")
            pipe.scard(base + "ur")
        out = pipe.execute()
        keys = [k.decode() for i in range(len(names)) for k in out[3 * i]]
        bodies = dict(zip(keys, self.r.mget([RAW + "a:" + k for k in keys]))) if keys else {}
        return [
            {
                "name": name,
                "activity_count": out[3 * i + 1],
                "actor_count": out[3 * i + 2],
                "activities": [(k.decode(), json.loads(bodies[k.decode()])) for k in out[3 * i]],
            }
            for i, name in enumerate(names)
        ]

    def aggregated(self, series: dict[str, Any]) -> list[Row]:
        from stream_django.engine.feeds import get_group

        rows = []
        section = "4. Aggregated / notification page of 25 groups (Redis)"
        for (slug, size), feed_id in self.info["aggregated"].items():
            group = get_group(slug)
            args = (feed_id, group.activities_per_group, group.is_notification)
            raw = Contender("raw commands", lambda a=args: self.raw_groups(*a))
            contenders = [raw]
            ours = None
            with self._backend_or_none() as backend:
                if backend is not None:
                    feed = get_client(backend).feed(slug, feed_id.split(":")[1])
                    got = feed.get(limit=PAGE)["results"]
                    mine = self.raw_groups(*args)
                    assert [g["group"] for g in got] == [g["name"] for g in mine], "redis groups differ"
                    assert [g["activity_count"] for g in got] == [g["activity_count"] for g in mine]
                    ours = Contender(REDIS, lambda f=feed: f.get(limit=PAGE))
                    contenders.append(ours)
                compare(contenders, self.scale.read_runs, self.scale.warmup)
            rows.append(
                Row(
                    section,
                    f"{slug}, {size:,} activities",
                    REDIS,
                    ours.median if ours else None,
                    raw.name,
                    raw.median,
                    limit=2,
                    note="" if ours else self.missing,
                )
            )
            series.setdefault(f"aggregated_{slug}", {}).setdefault("Redis raw commands", {})[size] = raw.median
            if ours:
                series[f"aggregated_{slug}"].setdefault(REDIS, {})[size] = ours.median
        return rows

    # -- 5. storage -----------------------------------------------------------------

    def storage(self, series: dict[str, Any]) -> list[Row]:
        """Bytes per activity body and per flat feed entry (MEMORY USAGE), and
        the whole load per activity (INFO used_memory before and after)."""
        section = "5. Storage in Redis: bytes per activity and per feed entry"
        activities = self.scale.activities
        sample = [k for (k,) in self._rows("SELECT key FROM stream_django_activity ORDER BY md5(key) LIMIT 10000")]
        feeds = [f for (f,) in self._rows("SELECT DISTINCT feed FROM stream_django_entry")]
        raw_body = self._memory([RAW + "a:" + k for k in sample]) / len(sample)
        raw_entries = self._zset_memory([RAW + "{" + f + "}:e" for f in feeds])
        backend_body = backend_entry = None
        note = self.missing or ""
        if not self.missing:
            with redis_backend() as backend:
                if hasattr(backend, "body_key") and hasattr(backend, "base"):
                    backend_body = self._memory([backend.body_key(k) for k in sample]) / len(sample)
                    backend_entry = self._zset_memory([backend.base(f) + "e" for f in feeds])
                else:
                    note = "the backend's key layout is unknown to the bench"
        series["storage_redis"] = {
            "raw_body": raw_body,
            "raw_entry": raw_entries,
            "backend_body": backend_body,
            "backend_entry": backend_entry,
            "raw_used_memory": self.raw_memory,
            "backend_used_memory": self.backend_memory,
        }
        return [
            Row(
                section,
                "per activity body (MEMORY USAGE, 10,000 sampled)",
                REDIS,
                backend_body,
                "string of the JSON",
                raw_body,
                unit="B",
                note=note,
            ),
            Row(
                section,
                "per flat feed entry (MEMORY USAGE of every feed)",
                REDIS,
                backend_entry,
                "sorted set member",
                raw_entries,
                unit="B",
                note=note,
            ),
            Row(
                section,
                f"whole load / {activities:,} activities (INFO used_memory)",
                REDIS,
                self.backend_memory / activities if self.backend_memory else None,
                "raw layout",
                self.raw_memory / activities,
                unit="B",
                note=note,
            ),
        ]

    def _memory(self, keys: list[str]) -> int:
        total = 0
        for start in range(0, len(keys), CHUNK):
            pipe = self.r.pipeline(transaction=False)
            for key in keys[start : start + CHUNK]:
                pipe.memory_usage(key, samples=0)
            total += sum(v or 0 for v in pipe.execute())
        return total

    def _zset_memory(self, keys: list[str]) -> float:
        memory = self._memory(keys)
        entries = 0
        for start in range(0, len(keys), CHUNK):
            pipe = self.r.pipeline(transaction=False)
            for key in keys[start : start + CHUNK]:
                pipe.zcard(key)
            entries += sum(pipe.execute())
        return memory / entries if entries else 0.0


def _page() -> Any:
    from stream_django.backends.base import Page

    return Page(limit=1)
