"""
Feeds in Redis: one server or a Redis Cluster.

Key layout (``P`` is the ``key_prefix``, default ``"sd:"``; ``F`` a feed id
such as ``user:1``; every key of a feed carries the hash tag ``{F}``, so a
feed lives in one cluster slot and one Lua script can change it atomically):

==========================  =====  ===========================================
key                         type   content
==========================  =====  ===========================================
``P{F}:e``                  zset   flat feed: ``key + origin``, all scores 0
``P{F}:g``                  zset   groups: ``latest key + name``, scores 0
``P{F}:ge:<group>``         zset   a group's activity keys, scores 0
``P{F}:ga:<group>``         hash   actor -> activities of the group
``P{F}:gc``                 hash   group -> key of its first activity
``P{F}:x``                  hash   key -> JSON ``[group, actor, origin]``
``P{F}:us`` / ``P{F}:ur``   set    unseen / unread groups (notification)
``P{F}:fr`` / ``P{F}:frc``  zset   feeds following F (score: µs) / per slug
``P{F}:fg`` / ``P{F}:fgc``  zset   feeds F follows / per slug
``Pa:<key>``                hash   activity body: ``j`` JSON, ``f`` foreign
                                   id, ``n`` references
``Pf:<foreign id>``         set    keys of the activities with that foreign id
==========================  =====  ===========================================

Storage keys (``stream_django.engine.ids``) are 31 hex characters that sort
in time order, so a sorted set with equal scores is ordered exactly by
``ZRANGEBYLEX``; cursors become lexical bounds.

Write order, which keeps readers consistent across slots: an activity's body
(and its reference count) is written before any feed entry points to it, and
entries are deleted before the reference count drops and the body goes. A
reader that meets an entry whose body vanished between its two round trips
skips it. The reference count is never below the number of entries, so a
body is deleted only when nothing points to it; a crash between the steps
can only leave a body behind, never a dangling entry.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from contextlib import contextmanager
from datetime import datetime, timezone as dt_timezone
from typing import Any, Iterable, Iterator, Sequence

from django.core import checks

from stream_django.backends.base import BaseStorageBackend, Entry, Follow, Group, GroupPage, Page
from stream_django.backends.redis import connection, scripts
from stream_django.engine import ids, serializer
from stream_django.engine.activities import PreparedActivity
from stream_django.engine.feeds import FeedGroup, feed_groups, slug_of
from stream_django.exceptions import BackendUnavailable, InvalidStreamBackend

DEFAULT_PREFIX = "sd:"
#: A feed is trimmed once it holds max_length + max_length // TRIM_SLACK
#: entries (groups), back to max_length: one trim per max_length / TRIM_SLACK
#: writes, each removing that many, so trimming costs O(1) per write.
TRIM_SLACK = 10
#: Byte 255: above every byte of a UTF-8 origin, so ``key + HIGH`` bounds
#: every member that starts with ``key``.
HIGH = b"\xff"
BACKEND_OPTIONS = frozenset({"key_prefix", "batch_size"}) | connection.CLIENT_OPTIONS

Call = tuple[str, tuple[Any, ...]]


def _now_us() -> int:
    return time.time_ns() // 1000


def _from_us(value: float) -> datetime:
    return datetime.fromtimestamp(int(value) / 1_000_000, tz=dt_timezone.utc)


class RedisBackend(BaseStorageBackend):
    """Feed storage in Redis (``STREAM_REDIS_URL``; options in docs/redis.md)."""

    name = "redis"

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        from stream_django.conf import stream_settings

        super().__init__(options)
        unknown = set(self.options) - BACKEND_OPTIONS
        if unknown:
            raise InvalidStreamBackend(
                f"Unknown STREAM_BACKEND_OPTIONS for the redis backend: {sorted(unknown)}; "
                f"valid options are {sorted(BACKEND_OPTIONS)}"
            )
        prefix = self.options.get("key_prefix", stream_settings.USER_STREAMS_REDIS_KEY_PREFIX)
        prefix = DEFAULT_PREFIX if prefix is None else prefix
        if not isinstance(prefix, str) or "{" in prefix or "}" in prefix:
            raise InvalidStreamBackend(
                f"STREAM_BACKEND_OPTIONS['key_prefix'] must be a string without braces, got {prefix!r}"
            )
        self.prefix = prefix
        batch = self.options.get("batch_size", stream_settings.FANOUT_CHUNK_SIZE)
        if not isinstance(batch, int) or isinstance(batch, bool) or batch < 1:
            raise InvalidStreamBackend(
                f"STREAM_BACKEND_OPTIONS['batch_size'] must be a positive int, got {batch!r}"
            )
        self.batch_size = batch
        extra = stream_settings.USER_STREAMS_REDIS_CLIENT_ARGUMENTS
        client_options = dict(extra) if isinstance(extra, dict) else {}
        client_options.update({k: v for k, v in self.options.items() if k in connection.CLIENT_OPTIONS})
        bad = set(client_options) - connection.CLIENT_OPTIONS
        if bad:
            raise InvalidStreamBackend(
                f"USER_STREAMS_REDIS_CLIENT_ARGUMENTS has unsupported keys {sorted(bad)}; "
                f"valid keys are {sorted(connection.CLIENT_OPTIONS)}"
            )
        client_options.setdefault("socket_connect_timeout", stream_settings.TIMEOUT)
        client_options.setdefault("socket_timeout", stream_settings.TIMEOUT)
        self.client_options = client_options
        self.url = stream_settings.REDIS_URL
        self._redis: Any = None
        try:
            #: Whether STREAM_REDIS_URL names a cluster (a list of node URLs).
            self.cluster = connection.parse_urls(self.url)[1]
        except InvalidStreamBackend:
            self.cluster = False  # reported by check(), raised at first use
        self._shas: dict[str, str] = {}

    # -- configuration -----------------------------------------------------

    @property
    def address(self) -> str:
        try:
            nodes, cluster = connection.parse_urls(self.url)
        except InvalidStreamBackend:
            return f"redis backend ({self.url!r})"
        if cluster:
            return f"redis cluster {','.join(n.address for n in nodes)}"
        return f"redis {nodes[0].scheme}://{nodes[0].address}/{nodes[0].db}"

    def check(self, **kwargs: Any) -> list[checks.CheckMessage]:
        messages: list[checks.CheckMessage] = []
        try:
            import redis  # noqa: F401
        except ImportError:
            messages.append(
                checks.Error(
                    "The redis backend needs the redis package (redis-py), which is not installed.",
                    hint="pip install 'django-activity-feeds[redis]' (or [hiredis] for the faster parser).",
                    id="stream_django.E020",
                )
            )
        if self.url is None or self.url == "":
            messages.append(
                checks.Error(
                    "STREAM_BACKEND is the redis backend but STREAM_REDIS_URL is not set.",
                    hint="e.g. STREAM_REDIS_URL = 'redis://127.0.0.1:6379/0', or a list of cluster node URLs.",
                    id="stream_django.E021",
                )
            )
        else:
            try:
                nodes, cluster = connection.parse_urls(self.url)
            except InvalidStreamBackend as e:
                messages.append(checks.Error(str(e), hint=None, id="stream_django.E021"))
            else:
                if not cluster and connection.CLUSTER_ONLY & set(self.client_options):
                    messages.append(
                        checks.Error(
                            f"STREAM_BACKEND_OPTIONS {sorted(connection.CLUSTER_ONLY & set(self.client_options))} "
                            "apply to a Redis Cluster only; STREAM_REDIS_URL names one server.",
                            hint=None,
                            id="stream_django.E022",
                        )
                    )
        return messages

    # -- connection ----------------------------------------------------------

    @property
    def redis(self) -> Any:
        """The redis-py client (``Redis`` or ``RedisCluster``), shared per process."""
        if self._redis is None:
            if self.url is None or self.url == "":
                raise InvalidStreamBackend("STREAM_REDIS_URL is not set (the redis backend needs it)")
            try:
                import redis  # noqa: F401
            except ImportError:
                raise InvalidStreamBackend(
                    "the redis backend needs redis-py: pip install 'django-activity-feeds[redis]'"
                ) from None
            nodes, cluster = connection.parse_urls(self.url)
            import redis.exceptions as rex

            with self._guard():
                try:
                    self._redis = connection.get_client(nodes, cluster, self.client_options)
                except rex.RedisClusterException as e:  # no startup node answered
                    raise BackendUnavailable(f"the {self.address} cannot be reached: {e}") from e
        return self._redis

    def close(self) -> None:
        if self._redis is not None:
            connection.disconnect(self._redis)
            self._redis = None

    @contextmanager
    def _guard(self) -> Iterator[None]:
        """Turn "cannot reach Redis" into ``BackendUnavailable`` naming the address."""
        import redis.exceptions as rex

        try:
            yield
        except (rex.ConnectionError, rex.TimeoutError, rex.ClusterDownError) as e:
            raise BackendUnavailable(f"the {self.address} cannot be reached: {e}") from e

    def _load_scripts(self) -> None:
        with self._guard():
            for name, source in scripts.SCRIPTS.items():
                self._shas[name] = self.redis.script_load(source)

    def _sha(self, name: str) -> str:
        if name not in self._shas:
            self._load_scripts()
        return self._shas[name]

    def _run(self, calls: Sequence[Call]) -> list[Any]:
        """Run ``calls`` (``(command, args)``; ``"script:NAME"`` for a script,
        args ``(keys, argv)``) in pipelines of ``batch_size``: one round trip
        per chunk on one server, per node of the chunk on a cluster."""
        import redis.exceptions as rex

        results: list[Any] = []
        client = self.redis
        for start in range(0, len(calls), self.batch_size):
            chunk = calls[start : start + self.batch_size]
            for attempt in range(2):
                with self._guard():
                    pipe = client.pipeline(transaction=False)
                    for command, args in chunk:
                        if command.startswith("script:"):
                            keys, argv = args
                            self._evalsha(pipe, command[7:], keys, argv)
                        else:
                            getattr(pipe, command)(*args)
                    out = pipe.execute(raise_on_error=False)
                missing = any(isinstance(r, rex.NoScriptError) for r in out)
                if missing and attempt == 0:
                    # The server lost its script cache (restart, failover):
                    # reload; a NOSCRIPT call did not run, the others did.
                    self._load_scripts()
                    redo = [i for i, r in enumerate(out) if isinstance(r, rex.NoScriptError)]
                    again = self._run_once([chunk[i] for i in redo])
                    for i, r in zip(redo, again):
                        out[i] = r
                for r in out:
                    if isinstance(r, Exception):
                        if isinstance(r, (rex.ConnectionError, rex.TimeoutError)):
                            raise BackendUnavailable(f"the {self.address} cannot be reached: {r}") from r
                        raise r
                results.extend(out)
                break
        return results

    def _run_once(self, calls: Sequence[Call]) -> list[Any]:
        with self._guard():
            pipe = self.redis.pipeline(transaction=False)
            for command, (keys, argv) in calls:
                self._evalsha(pipe, command[7:], keys, argv)
            return pipe.execute(raise_on_error=False)

    def _evalsha(self, pipe: Any, name: str, keys: Sequence[str], argv: Sequence[Any]) -> None:
        """Queue script ``name`` on ``pipe``.

        ``execute_command``, because redis-py's cluster pipeline refuses the
        ``evalsha()`` method (not the command); on a cluster the node is
        given, found from the client's slot table, because otherwise redis-py
        asks a server for the keys of every EVALSHA (a round trip each).
        """
        options = {"target_nodes": self._redis.get_node_from_key(keys[0])} if self.cluster else {}
        pipe.execute_command("EVALSHA", self._sha(name), len(keys), *keys, *argv, **options)

    def _call(self, command: str, *args: Any) -> Any:
        return self._run([(command, args)])[0]

    # -- keys ----------------------------------------------------------------

    def base(self, feed: str) -> str:
        """The key base of ``feed``: every key of the feed starts with it."""
        return f"{self.prefix}{{{feed}}}:"

    def body_key(self, key: str) -> str:
        return f"{self.prefix}a:{key}"

    def fid_key(self, foreign_id: str) -> str:
        return f"{self.prefix}f:{foreign_id}"

    @staticmethod
    def _group(feed: str) -> FeedGroup | None:
        """The group of ``feed``, or None when its slug is no longer configured."""
        return feed_groups().get(slug_of(feed))

    def _slack(self, group: FeedGroup) -> tuple[int, int]:
        if group.max_length is None:
            return 0, 0
        return group.max_length, group.max_length // TRIM_SLACK

    # -- writing entries -----------------------------------------------------

    def _write(
        self,
        plan: dict[str, dict[str, str | None]],
        bodies: dict[str, PreparedActivity] | None,
        texts: dict[str, str] | None = None,
        removals: Sequence[Call] = (),
    ) -> None:
        """Write ``plan`` (feed -> {key: origin}) after storing ``bodies``.

        Body references are raised by the number of planned entries first,
        then lowered by those not written (already present) and by the
        entries trimming removed. ``removals`` (remove scripts) run between.
        """
        texts = dict(texts or {})
        planned: Counter[str] = Counter()
        for entries in plan.values():
            planned.update(entries.keys())
        calls: list[Call] = []
        if bodies:
            for key, activity in bodies.items():
                texts[key] = activity.json
                calls.append(
                    ("script:BODY_PUT", ([self.body_key(key)], [activity.json, activity.foreign_id, planned[key]]))
                )
                if activity.foreign_id:
                    calls.append(("sadd", (self.fid_key(activity.foreign_id), key)))
        self._run(calls)
        released: Counter[str] = Counter()
        for results in self._run(list(removals)):
            released.update(results)
        decoded: dict[str, dict[str, Any]] = {}
        writes: list[Call] = []
        for feed, entries in plan.items():
            group = self._group(feed)
            if group is None:  # no longer configured: its planned refs are dropped below
                continue
            maxlen, slack = self._slack(group)
            base = self.base(feed)
            if group.is_flat:
                argv: list[Any] = [maxlen, slack]
                for key, origin in entries.items():
                    argv += [key, origin or ""]
                writes.append(("script:FLAT_ADD", ([base + "e"], argv)))
            else:
                argv = [base, "1" if group.is_notification else "0", maxlen, slack]
                for key, origin in entries.items():
                    if key not in decoded:
                        decoded[key] = serializer.loads(texts[key])
                    activity = decoded[key]
                    argv += [key, group.group_key(activity), str(activity.get("actor", "")), origin or ""]
                writes.append(("script:GROUP_ADD", ([base + "g"], argv)))
        added: Counter[str] = Counter()
        for new, trimmed in self._run(writes):
            added.update(new)
            released.update(trimmed)
        for key, count in planned.items():
            if count > added[key]:
                released[key] += count - added[key]
        self._release(released)

    def _release(self, released: Counter[str]) -> None:
        """Drop references; delete bodies nothing points to, and their index entries."""
        keys = [k for k, n in released.items() if n > 0]
        if not keys:
            return
        results = self._run([("script:BODY_RELEASE", ([self.body_key(k)], [released[k]])) for k in keys])
        cleanup = [("srem", (self.fid_key(fid), key)) for key, fid in zip(keys, results) if fid]
        if cleanup:
            self._run(cleanup)

    def _followers_of(self, feeds: Iterable[str]) -> dict[str, list[str]]:
        """Every follower of each of ``feeds`` (one round trip)."""
        feeds = list(dict.fromkeys(feeds))
        results = self._run([("zrange", (self.base(f) + "fr", 0, -1)) for f in feeds])
        return dict(zip(feeds, results))

    def _fan_out_plan(self, items: Sequence[tuple[PreparedActivity, list[str]]]) -> dict[str, dict[str, str | None]]:
        """Plan writing each activity into its direct feeds and their followers."""
        plan: dict[str, dict[str, str | None]] = defaultdict(dict)
        for activity, direct in items:
            for feed in direct:
                plan[feed].setdefault(activity.key, None)
        followers = self._followers_of(f for _, direct in items for f in direct)
        for activity, direct in items:
            for source in direct:
                for follower in followers[source]:
                    plan[follower].setdefault(activity.key, source)
        return plan

    # -- writes ----------------------------------------------------------------

    def add_activities(self, feed: str, activities: Sequence[PreparedActivity]) -> None:
        items = [(a, [feed, *[t for t in a.to if t != feed]]) for a in activities]
        bodies = {a.key: a for a in activities}
        self._write(self._fan_out_plan(items), bodies)

    def add_to_many(self, activity: PreparedActivity, feeds: Sequence[str]) -> None:
        self._write({f: {activity.key: None} for f in feeds}, {activity.key: activity})

    def change_targets(self, activity: PreparedActivity, added: Sequence[str], removed: Sequence[str]) -> None:
        removals: list[Call] = []
        if removed:
            removals = self._removal_calls({activity.key: list(removed)}, {})
        plan = self._fan_out_plan([(activity, list(added))]) if added else {}
        self._write(plan, {activity.key: activity}, removals=removals)

    def _remove_call(self, feed: str, keys: Sequence[str], origins: Sequence[str] | None) -> Call | None:
        group = self._group(feed)
        if group is None:
            return None
        restrict = ["1", len(origins), *origins] if origins is not None else ["0", 0]
        if group.is_flat:
            return ("script:FLAT_REMOVE", ([self.base(feed) + "e"], [*restrict, *keys]))
        base = self.base(feed)
        return ("script:GROUP_REMOVE", ([base + "g"], [base, *restrict, *keys]))

    def _removal_calls(self, scopes: dict[str, list[str]], single: dict[str, list[str]]) -> list[Call]:
        """Removal scripts: each key of ``scopes`` from its scope feeds and
        from their followers' entries that came from the scope; each feed of
        ``single`` loses its keys there only."""
        followers = self._followers_of(f for scope in scopes.values() for f in scope)
        grouped: dict[tuple[str, tuple[str, ...] | None], list[str]] = defaultdict(list)
        for key, scope in scopes.items():
            for feed in scope:
                grouped[(feed, None)].append(key)
            origins = tuple(sorted(set(scope)))
            reached = {f for s in scope for f in followers[s]} - set(scope)
            for follower in sorted(reached):
                grouped[(follower, origins)].append(key)
        for feed, keys in single.items():
            grouped[(feed, None)].extend(keys)
        calls = [self._remove_call(feed, keys, origins) for (feed, origins), keys in grouped.items()]
        return [c for c in calls if c is not None]

    def remove_activities(self, feed: str, keys: Sequence[str]) -> None:
        held = self._find(feed, keys)
        direct = [k for k, origin in held.items() if origin is None]
        bodies = self.get_activities(direct)
        scopes = {}
        for key in direct:
            to = serializer.loads(bodies[key]).get("to", []) if key in bodies else []
            scopes[key] = [feed, *[t for t in to if t != feed]]
        reached = [k for k, origin in held.items() if origin is not None]
        single = {feed: reached} if reached else {}
        released: Counter[str] = Counter()
        for removed in self._run(self._removal_calls(scopes, single)):
            released.update(removed)
        self._release(released)

    def _find(self, feed: str, keys: Sequence[str]) -> dict[str, str | None]:
        """The keys ``feed`` holds, with their origin."""
        group = self._group(feed)
        if group is None or not keys:
            return {}
        if group.is_flat:
            pairs = self._call("script:FLAT_FIND", [self.base(feed) + "e"], list(keys))
        else:
            base = self.base(feed)
            pairs = self._call("script:GROUP_FIND", [base + "g"], [base, *keys])
        return {pairs[i]: (pairs[i + 1] or None) for i in range(0, len(pairs), 2)}

    def keys_for_foreign_id(self, feed: str, foreign_id: str) -> list[str]:
        if not foreign_id:
            return []
        candidates = sorted(self._call("smembers", self.fid_key(foreign_id)))
        return list(self._find(feed, candidates))

    def follow_many(self, pairs: Sequence[tuple[str, str]], copy_limit: int) -> None:
        now = _now_us()
        by_source: dict[str, list[str]] = defaultdict(list)
        by_target: dict[str, list[str]] = defaultdict(list)
        for source, target in pairs:
            by_source[source].append(target)
            by_target[target].append(source)
        calls: list[Call] = []
        # The following side first, then the followed side that fan-out reads.
        for source, targets in by_source.items():
            base = self.base(source)
            calls.append(("script:FOLLOW_ADD", ([base + "fg"], [base + "fgc", now, *targets])))
        for target, sources in by_target.items():
            base = self.base(target)
            calls.append(("script:FOLLOW_ADD", ([base + "fr"], [base + "frc", now, *sources])))
        self._run(calls)
        if copy_limit:
            self._copy(pairs, copy_limit)

    def _copy(self, pairs: Sequence[tuple[str, str]], copy_limit: int) -> None:
        """Copy the newest ``copy_limit`` activities of each target into its source."""
        targets = list(dict.fromkeys(t for _, t in pairs))
        newest = self._run([("zrevrangebylex", (self.base(t) + "e", "+", "-", 0, copy_limit)) for t in targets])
        keys_of = {t: [m[:31] for m in members] for t, members in zip(targets, newest)}
        plan: dict[str, dict[str, str | None]] = defaultdict(dict)
        for source, target in pairs:
            for key in reversed(keys_of[target]):  # oldest first: groups start at their oldest
                plan[source].setdefault(key, target)
        planned: Counter[str] = Counter()
        for entries in plan.values():
            planned.update(entries.keys())
        if not planned:
            return
        keys = list(planned)
        exists = self._run([("script:BODY_REF", ([self.body_key(k)], [planned[k]])) for k in keys])
        gone = {k for k, ok in zip(keys, exists) if not ok}
        plan = {f: {k: o for k, o in entries.items() if k not in gone} for f, entries in plan.items()}
        texts: dict[str, str] = {}
        if any(not (g := self._group(f)) or g.is_aggregated for f in plan):
            texts = self.get_activities([k for k in keys if k not in gone])
            plan = {f: {k: o for k, o in e.items() if k in texts} for f, e in plan.items()}
            # a body deleted since it was referenced holds no reference of ours
        # The references are raised already: _write stores no body and lowers
        # the references of the entries it did not write.
        self._write(plan, None, texts)

    def unfollow_many(self, items: Sequence[tuple[str, str, bool]]) -> None:
        calls: list[Call] = []
        # The followed side first: fan-out stops before history is purged.
        for source, target, _ in items:
            base = self.base(target)
            calls.append(("script:FOLLOW_REMOVE", ([base + "fr"], [base + "frc", source])))
        for source, target, _ in items:
            base = self.base(source)
            calls.append(("script:FOLLOW_REMOVE", ([base + "fg"], [base + "fgc", target])))
        self._run(calls)
        purges: list[Call] = []
        for source, target, keep_history in items:
            group = self._group(source)
            if keep_history or group is None:
                continue
            base = self.base(source)
            if group.is_flat:
                purges.append(("script:FLAT_PURGE", ([base + "e"], [target])))
            else:
                purges.append(("script:GROUP_PURGE", ([base + "g"], [base, target])))
        released: Counter[str] = Counter()
        for removed in self._run(purges):
            released.update(removed)
        self._release(released)

    def replace_activities(self, activities: Sequence[PreparedActivity]) -> list[str]:
        latest = {a.key: a for a in activities}
        keys = list(latest)
        results = self._run([("script:BODY_REPLACE", ([self.body_key(k)], [latest[k].json])) for k in keys])
        return [k for k, ok in zip(keys, results) if ok]

    # -- reads -------------------------------------------------------------------

    @staticmethod
    def _bounds(page: Page) -> tuple[bytes, bytes]:
        """ZREVRANGEBYLEX (max, min) for the page's cursors."""
        upper: list[tuple[bytes, int]] = []  # (value, 0 exclusive / 1 inclusive)
        if page.lt is not None:
            upper.append((page.lt.encode(), 0))
        if page.lte is not None:
            upper.append((page.lte.encode() + HIGH, 0))
        lower: list[tuple[bytes, int]] = []
        if page.gt is not None:
            lower.append((page.gt.encode() + HIGH, 0))
        if page.gte is not None:
            lower.append((page.gte.encode(), 1))
        high = b"+"
        if upper:
            value, inclusive = min(upper)
            high = (b"[" if inclusive else b"(") + value
        low = b"-"
        if lower:
            value, inclusive = max(lower, key=lambda b: (b[0], -b[1]))
            low = (b"[" if inclusive else b"(") + value
        return high, low

    def read_feed(self, feed: str, page: Page) -> list[Entry]:
        if page.limit == 0:
            return []
        high, low = self._bounds(page)
        members = self._call("zrevrangebylex", self.base(feed) + "e", high, low, page.offset, page.limit)
        pairs = [(m[:31], m[31:] or None) for m in members]
        bodies = self.get_activities([k for k, _ in pairs])
        return [Entry(k, bodies[k], origin) for k, origin in pairs if k in bodies]

    def read_groups(
        self,
        feed: str,
        group: FeedGroup,
        page: Page,
        mark_seen: bool | Sequence[str] = False,
        mark_read: bool | Sequence[str] = False,
    ) -> GroupPage:
        high, low = self._bounds(page)
        base = self.base(feed)
        argv: list[Any] = [base, high, low, page.offset, page.limit, group.activities_per_group,
                           "1" if group.is_notification else "0"]
        for mark in (mark_seen, mark_read):
            if mark is True:
                argv += ["a", 0]
            elif mark:
                names = list(mark)
                argv += ["l", len(names), *names]
            else:
                argv += ["0", 0]
        out = self._call("script:GROUP_READ", [base + "g"], argv)
        unseen, unread, rows = out[0], out[1], out[2:]
        keys = [row[7][i] for row in rows for i in range(0, len(row[7]), 2)]
        bodies = self.get_activities(keys)
        groups = []
        for name, latest, created, count, actors, seen, read, entries in rows:
            activities = [
                Entry(entries[i], bodies[entries[i]], entries[i + 1] or None)
                for i in range(0, len(entries), 2)
                if entries[i] in bodies
            ]
            groups.append(
                Group(
                    name=name,
                    latest_key=latest,
                    created_at=ids.key_time(created),
                    updated_at=ids.key_time(latest),
                    activity_count=int(count),
                    actor_count=int(actors),
                    activities=activities,
                    is_seen=bool(seen),
                    is_read=bool(read),
                )
            )
        return GroupPage(groups=groups, unseen=int(unseen), unread=int(unread))

    def feed_length(self, feed: str) -> int:
        return int(self._call("zcard", self.base(feed) + "e"))

    def get_activities(self, keys: Sequence[str]) -> dict[str, str]:
        keys = list(dict.fromkeys(keys))
        if not keys:
            return {}
        values = self._run([("hget", (self.body_key(k), "j")) for k in keys])
        return {k: v for k, v in zip(keys, values) if v is not None}

    def _follow_rows(self, zset: str, feed: str, offset: int, limit: int, among: Sequence[str] | None, *, followers: bool) -> list[Follow]:
        if limit == 0:
            return []
        if among is not None:
            among = list(dict.fromkeys(among))
            if not among:
                return []
            scores = self._call("zmscore", zset, among)
            rows = sorted(((s, f) for f, s in zip(among, scores) if s is not None), reverse=True)
            rows = rows[offset : offset + limit]
        else:
            rows = [(s, f) for f, s in self._call("zrevrange", zset, offset, offset + limit - 1, True)]
        result = []
        for score, other in rows:
            created = _from_us(score)
            source, target = (other, feed) if followers else (feed, other)
            result.append(Follow(source, target, created, created))
        return result

    def followers(self, feed: str, offset: int, limit: int, among: Sequence[str] | None) -> list[Follow]:
        return self._follow_rows(self.base(feed) + "fr", feed, offset, limit, among, followers=True)

    def following(self, feed: str, offset: int, limit: int, among: Sequence[str] | None) -> list[Follow]:
        return self._follow_rows(self.base(feed) + "fg", feed, offset, limit, among, followers=False)

    def follow_counts(self, feed: str, followers_slugs: Sequence[str] | None, following_slugs: Sequence[str] | None) -> tuple[int, int]:
        base = self.base(feed)
        calls: list[Call] = []
        for zset, counts, slugs in ((base + "fr", base + "frc", followers_slugs), (base + "fg", base + "fgc", following_slugs)):
            if slugs:
                calls.append(("hmget", (counts, list(slugs))))
            else:
                calls.append(("zcard", (zset,)))
        results = self._run(calls)
        return tuple(  # type: ignore[return-value]
            sum(int(v or 0) for v in r) if isinstance(r, list) else int(r) for r in results
        )
