"""
Feeds in Redis: one server or a Redis Cluster (docs/redis.md).

Key layout in ``keys.py``; calls to Redis in ``commands.py``; the scripts
in ``lua/``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.core import checks

from stream_django.backends.base import BaseStorageBackend
from stream_django.backends.redis import connection
from stream_django.backends.redis.follows import Follows
from stream_django.backends.redis.keys import DEFAULT_PREFIX
from stream_django.backends.redis.writes import Writes
from stream_django.engine.activities import PreparedActivity
from stream_django.exceptions import InvalidStreamBackend

BACKEND_OPTIONS = frozenset({"key_prefix", "batch_size"}) | connection.CLIENT_OPTIONS


class RedisBackend(Writes, Follows, BaseStorageBackend):
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
            raise InvalidStreamBackend(f"STREAM_BACKEND_OPTIONS['batch_size'] must be a positive int, got {batch!r}")
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
        self._redis = None
        try:
            #: Whether STREAM_REDIS_URL names a cluster (a list of node URLs).
            self.cluster = connection.parse_urls(self.url)[1]
        except InvalidStreamBackend:
            self.cluster = False  # reported by check(), raised at first use

    # -- configuration -----------------------------------------------------

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
                _, cluster = connection.parse_urls(self.url)
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

    # -- chunked fan-out (docs/scale-out.md) -------------------------------------
    #
    # Chunks cover ranges of a feed's holders (``B.fl``, by feed id). On one
    # server a chunk's condition on its source and its writes are one script;
    # on a cluster they are in different slots, so a chunk checks, writes and
    # checks again, undoing what the operation that overtook it would have.

    supports_fanout_chunks = True
    removes_by_range = True

    def add_direct(self, feed: str, activities: Sequence[PreparedActivity]) -> None:
        self._add([(a, [feed, *[t for t in a.to if t != feed]]) for a in activities], fan_out=False)

    def remove_direct(self, feed: str, keys: Sequence[str]) -> dict[str, list[str]]:
        return self._remove_held(feed, keys, holders=False)

    def change_targets_direct(self, activity: PreparedActivity, added: Sequence[str], removed: Sequence[str]) -> None:
        removals = {activity.key: list(removed)} if removed else None
        self._add([(activity, added)], fan_out=False, removals=removals, remove_holders=False)

    def count_followers(self, feeds: Sequence[str], at_most: int) -> int:
        if not feeds or at_most <= 0:
            return 0
        counts = self._run([("zcard", (self.base(f) + "fr",)) for f in dict.fromkeys(feeds)])
        return min(sum(int(n) for n in counts), at_most)

    def follower_boundaries(self, feed: str, size: int) -> list[str]:
        return list(self._call("script:HOLDER_MARKS", [self.base(feed) + "fl"], [size]))

    def fan_out_chunk(self, source: str, keys: Sequence[str], after: str | None, upto: str | None) -> None:
        self._fan_out(source, keys, after, upto)

    def remove_range_chunk(self, source: str, keys: Sequence[str], after: str | None, upto: str | None) -> None:
        self._unfan(source, keys, after, upto)

    def remove_chunk(self, source: str, keys: Sequence[str], limit: int) -> int:
        """Redis removes by holder ranges (``remove_range_chunk``); this
        cleans every holder of ``source`` at once and returns 0 (none left)."""
        self._unfan(source, keys, None, None)
        return 0

    def copy_chunk(self, pairs: Sequence[tuple[str, str]], copy_limit: int) -> None:
        if not copy_limit:
            return
        pairs = [p for p, ok in zip(pairs, self._follow_exists(pairs)) if ok]
        self._copy_newest(pairs, copy_limit)
        # An unfollow that overtook the copy may have purged already.
        self._purge([p for p, ok in zip(pairs, self._follow_exists(pairs)) if not ok], guarded=not self.cluster)

    def purge_chunk(self, pairs: Sequence[tuple[str, str]]) -> None:
        if not self.cluster:
            self._purge(pairs, guarded=True)
            return
        pairs = [p for p, ok in zip(pairs, self._follow_exists(pairs)) if not ok]
        self._purge(pairs, guarded=False)
        # Followed again meanwhile: its copy may have run before the purge.
        again = [p for p, ok in zip(pairs, self._follow_exists(pairs)) if ok]
        if again:
            from stream_django.conf import stream_settings

            self._copy_newest(again, stream_settings.ACTIVITY_COPY_LIMIT)

    def rebuild_holders(self) -> int:
        """Set each followed feed's holders (``fl``) to its followers and
        kept feeds (``fr`` and ``fk``, scores 0); return how many feeds.

        One ``ZUNIONSTORE`` per feed, atomic with the follows (same slot).
        ``manage.py stream_redis_rebuild_holders`` runs it.
        """
        start = self.prefix + "{"
        feeds: set[str] = set()
        with self._guard():
            for suffix in ("fr", "fk"):
                for key in self.redis.scan_iter(match=f"{self.prefix}{{*}}:{suffix}", count=1000):
                    feeds.add(key[len(start) : key.rindex("}:")])
        ordered = sorted(feeds)
        self._run(
            [("zunionstore", (self.base(f) + "fl", {self.base(f) + "fr": 0, self.base(f) + "fk": 0})) for f in ordered]
        )
        return len(ordered)
