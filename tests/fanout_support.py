"""
What the feed store holds, asked the same way of every local backend.

The fan-out tests check chunks by what they leave behind: which feeds hold
an activity, how many entries, groups, activity bodies and follows exist.
On the database backend that is its tables; on Redis, the keys under the
test's prefix (scanned on the one server or on every cluster primary).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from stream_django.backends import get_backend
from stream_django.engine import ids

KEY = ids.KEY_LENGTH


def _redis() -> Any:
    from stream_django.backends.redis import RedisBackend

    backend = get_backend()
    return backend if isinstance(backend, RedisBackend) else None


def _feed_keys(backend: Any, suffix: str) -> Iterator[tuple[str, str]]:
    """``(feed id, key)`` of every key ``P{feed}:<suffix>`` under the prefix."""
    start = backend.prefix + "{"
    for key in backend.redis.scan_iter(match=f"{backend.prefix}{{*}}:{suffix}", count=1000):
        yield key[len(start) : key.index("}:")], key


def key_of(foreign_id: str) -> str | None:
    """The storage key of the (first) activity stored with ``foreign_id``."""
    backend = _redis()
    if backend is None:
        from stream_django.models import StoredActivity

        return StoredActivity.objects.filter(foreign_id=foreign_id).values_list("key", flat=True).first()
    keys = sorted((backend.redis.get(backend.fid_key(foreign_id)) or "").split())
    return keys[0] if keys else None


def holding(key_or_fid: str) -> set[str]:
    """The feeds holding an activity, given its key or its foreign id."""
    key = key_of(key_or_fid) or key_or_fid
    backend = _redis()
    if backend is None:
        from stream_django.models import FeedEntry, GroupEntry

        flat = FeedEntry.objects.filter(activity_id=key).values_list("feed", flat=True)
        grouped = GroupEntry.objects.filter(activity_id=key).values_list("feed", flat=True)
        return set(flat) | set(grouped)
    found = set()
    for feed, zset in _feed_keys(backend, "e"):
        if backend.redis.zrangebylex(zset, "[" + key, "(" + key + "\xff", 0, 1):
            found.add(feed)
    for feed, index in _feed_keys(backend, "x"):
        if backend.redis.hexists(index, key):
            found.add(feed)
    return found


def flat_rows() -> list[tuple[str, str]]:
    """Every flat feed entry as ``(feed, key)``, sorted."""
    backend = _redis()
    if backend is None:
        from stream_django.models import FeedEntry

        return sorted(FeedEntry.objects.values_list("feed", "activity_id"))
    return sorted((feed, m[:KEY]) for feed, zset in _feed_keys(backend, "e") for m in backend.redis.zrange(zset, 0, -1))


def entry_count() -> int:
    """Flat entries plus aggregated ones."""
    backend = _redis()
    if backend is None:
        from stream_django.models import FeedEntry, GroupEntry

        return FeedEntry.objects.count() + GroupEntry.objects.count()
    flat = sum(backend.redis.zcard(zset) for _, zset in _feed_keys(backend, "e"))
    return flat + sum(backend.redis.hlen(index) for _, index in _feed_keys(backend, "x"))


def group_rows() -> list[tuple[str, int, int]]:
    """Every group of an aggregated feed as ``(feed, activity_count, actor_count)``, sorted."""
    backend = _redis()
    if backend is None:
        from stream_django.models import ActivityGroup

        return sorted(ActivityGroup.objects.values_list("feed", "activity_count", "actor_count"))
    rows = []
    for feed, groups in _feed_keys(backend, "g"):
        base = backend.base(feed)
        for member in backend.redis.zrange(groups, 0, -1):
            name = member[KEY:]
            rows.append((feed, backend.redis.zcard(f"{base}ge:{name}"), backend.redis.hlen(f"{base}ga:{name}")))
    return sorted(rows)


def group_count() -> int:
    return len(group_rows())


def activity_count() -> int:
    """Activity bodies stored (a body goes when no feed holds it)."""
    backend = _redis()
    if backend is None:
        from stream_django.models import StoredActivity

        return StoredActivity.objects.count()
    return sum(1 for _ in backend.redis.scan_iter(match=f"{backend.prefix}a:*", count=1000))


def follow_count() -> int:
    backend = _redis()
    if backend is None:
        from stream_django.models import Follow

        return Follow.objects.count()
    return sum(backend.redis.zcard(zset) for _, zset in _feed_keys(backend, "fr"))


@contextmanager
def redis_commands() -> Iterator[Counter[str]]:
    """Count the Redis commands this process sends inside the block, by name.

    Counted where redis-py turns a command into protocol bytes (once per
    command, alone or in a pipeline, on a server or a cluster node), so a
    command sent outside the backend's pipelines counts too; other test
    sessions on the same server do not.
    """
    from redis import connection

    sent: Counter[str] = Counter()
    originals = {cls: cls.pack for cls in (connection.PythonRespSerializer, connection.HiredisRespSerializer)}

    def counting(original: Any) -> Any:
        def pack(self: Any, *args: Any) -> Any:
            name = args[0].decode() if isinstance(args[0], bytes) else str(args[0])
            sent[name.split()[0].upper()] += 1
            return original(self, *args)

        return pack

    for cls, original in originals.items():
        cls.pack = counting(original)
    try:
        yield sent
    finally:
        for cls, original in originals.items():
            cls.pack = original
