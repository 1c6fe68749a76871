"""
Memory of the Redis backend per activity, per timeline entry and per follow.

    python -m bench.redis_memory [--url redis://127.0.0.1:6379/9] [--activities 1000] [--followers 100]

Writes ``--activities`` typical stream-django activities (actor, verb,
object, foreign_id, time: about 150 bytes of JSON) to ``user:1``, ten at a
time, fanned out to ``--followers`` feeds of each of these groups:

- ``timeline``: flat, ``max_length`` 1000 (the default): sorted sets above
  128 entries, which Redis keeps as a skiplist;
- ``short``: flat, ``max_length`` 100: at most 110 entries, which Redis keeps
  as a compact listpack (``zset-max-listpack-entries`` is 128);
- ``timeline_aggregated``: aggregated by verb and day (default format).

Then it sums ``MEMORY USAGE <key> SAMPLES 0`` per kind of key and prints the
bytes per activity, per entry and per follow. Everything is written under a
fresh key prefix and deleted afterwards; nothing else on the server is read
or changed (no CONFIG SET, no FLUSHDB).
"""

from __future__ import annotations

import argparse
import time
import uuid
from collections import defaultdict
from datetime import datetime, timedelta, timezone

GROUPS = ("timeline", "short", "timeline_aggregated")


def configure(url: str, prefix: str) -> None:
    import django
    from django.conf import settings

    settings.configure(
        INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "stream_django"],
        DATABASES={},
        USE_TZ=True,
        STREAM_BACKEND="stream_django.backends.redis.RedisBackend",
        STREAM_REDIS_URL=url,
        STREAM_BACKEND_OPTIONS={"key_prefix": prefix},
        STREAM_FEEDS={
            "user": {"type": "flat"},
            "timeline": {"type": "flat"},
            "short": {"type": "flat", "max_length": 100},
            "timeline_aggregated": {"type": "aggregated"},
            "notification": {"type": "notification"},
        },
    )
    django.setup()


def kind_of(key: str, prefix: str) -> str:
    """The kind of a key of the backend's layout (see docs/redis.md)."""
    rest = key[len(prefix) :]
    if rest.startswith(("a:", "n:")):
        return "activity bodies"
    if rest.startswith("f:"):
        return "foreign-id index"
    feed, _, suffix = rest[1:].partition("}:")
    if suffix in ("fr", "frc", "fk", "fl", "fg", "fgc"):
        return "follow graph"
    return f"{feed.split(':')[0]} feeds"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.strip().split("\n\n")[0])
    parser.add_argument("--url", default="redis://127.0.0.1:6379/9")
    parser.add_argument("--activities", type=int, default=1000)
    parser.add_argument("--followers", type=int, default=100)
    args = parser.parse_args()
    prefix = f"b{uuid.uuid4().hex[:5]}:"  # as short as the default "sd:" plus a few
    configure(args.url, prefix)

    from stream_django.backends import get_backend
    from stream_django.client import stream_client

    backend = get_backend()
    client = backend.redis
    try:
        follows = [{"source": f"{group}:{i}", "target": "user:1"} for i in range(args.followers) for group in GROUPS]
        stream_client.follow_many(follows, activity_copy_limit=0)
        start = datetime(2026, 3, 1, tzinfo=timezone.utc)
        verbs = ["tweet", "like", "comment", "follow"]
        began = time.perf_counter()
        for batch in range(0, args.activities, 10):
            stream_client.feed("user", 1).add_activities(
                [
                    {
                        "actor": "auth.User:1",
                        "verb": verbs[n % 4],
                        "object": f"app.Tweet:{100000 + n}",
                        "foreign_id": f"app.Tweet:{100000 + n}",
                        "time": start + timedelta(minutes=7 * n),
                    }
                    for n in range(batch, min(batch + 10, args.activities))
                ]
            )
        elapsed = time.perf_counter() - began
        usage: dict[str, int] = defaultdict(int)
        keys: dict[str, int] = defaultdict(int)
        encodings: dict[str, set[str]] = defaultdict(set)
        for key in client.scan_iter(match=f"{prefix}*", count=1000):
            kind = kind_of(key, prefix)
            usage[kind] += client.memory_usage(key, samples=0) or 0
            keys[kind] += 1
            if key.endswith("}:e"):
                encodings[kind].add(client.object("encoding", key))
        a, n = args.activities, args.followers
        entries = {
            "timeline feeds": sum(backend.feed_length(f"timeline:{i}") for i in range(n)),
            "short feeds": sum(backend.feed_length(f"short:{i}") for i in range(n)),
            "timeline_aggregated feeds": a * n,
        }
        info = client.info("server")
        print(
            f"Redis {info.get('redis_version')}: {a} activities fanned out to {n} feeds of each of "
            f"{', '.join(GROUPS)} in {elapsed:.1f}s"
        )
        print(f"{'kind':28} {'keys':>7} {'bytes':>12} {'per item':>18}")
        for kind in sorted(usage):
            if kind in entries:
                per, unit = usage[kind] / max(entries[kind], 1), "entry"
            elif kind in ("activity bodies", "foreign-id index"):
                per, unit = usage[kind] / a, "activity"
            elif kind == "follow graph":
                per, unit = usage[kind] / len(follows), "follow"
            else:
                per, unit = usage[kind] / max(keys[kind], 1), "key"
            note = f"  ({', '.join(sorted(encodings[kind]))})" if encodings[kind] else ""
            print(f"{kind:28} {keys[kind]:>7} {usage[kind]:>12} {per:>10.1f} B/{unit}{note}")
        print()
        print(
            f"per activity (body, reference count, foreign-id index): {(usage['activity bodies'] + usage['foreign-id index']) / a:.0f} B"
        )
        for group, label in (("timeline", "1000-entry timelines"), ("short", "100-entry timelines")):
            kind = f"{group} feeds"
            print(
                f"per flat timeline entry ({label}, {'/'.join(sorted(encodings[kind]))}): "
                f"{usage[kind] / max(entries[kind], 1):.0f} B"
            )
        print(f"per aggregated timeline entry: {usage['timeline_aggregated feeds'] / (a * n):.0f} B")
        print(f"per follow (both sides): {usage['follow graph'] / len(follows):.0f} B")
    finally:
        pipe = client.pipeline(transaction=False)
        for key in client.scan_iter(match=f"{prefix}*", count=1000):
            pipe.unlink(key)
        pipe.execute()


if __name__ == "__main__":
    main()
