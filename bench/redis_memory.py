"""
Memory of the Redis backend per activity and per timeline entry.

    python -m bench.redis_memory [--url redis://127.0.0.1:6379/9] [--activities 1000] [--followers 100]

Writes ``--activities`` typical stream-django activities to ``user:1``, which
``--followers`` flat timelines and as many aggregated timelines follow, then
sums ``MEMORY USAGE <key> SAMPLES 0`` per kind of key. Everything is written
under a fresh key prefix and deleted afterwards (nothing else is touched).
"""

from __future__ import annotations

import argparse
import time
import uuid
from collections import defaultdict
from datetime import datetime, timedelta, timezone


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
    rest = key[len(prefix):]
    if rest.startswith("a:"):
        return "activity bodies"
    if rest.startswith("f:"):
        return "foreign-id index"
    feed, _, suffix = rest[1:].partition("}:")
    slug = feed.split(":")[0]
    if suffix in ("fr", "frc", "fg", "fgc"):
        return "follow graph"
    return f"{slug} feeds"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="redis://127.0.0.1:6379/9")
    parser.add_argument("--activities", type=int, default=1000)
    parser.add_argument("--followers", type=int, default=100)
    args = parser.parse_args()
    prefix = f"bench:{uuid.uuid4().hex[:8]}:"
    configure(args.url, prefix)

    from stream_django.backends import get_backend
    from stream_django.client import stream_client

    backend = get_backend()
    client = backend.redis
    try:
        follows = []
        for i in range(args.followers):
            follows += [
                {"source": f"timeline:{i}", "target": "user:1"},
                {"source": f"short:{i}", "target": "user:1"},
                {"source": f"timeline_aggregated:{i}", "target": "user:1"},
            ]
        stream_client.follow_many(follows, activity_copy_limit=0)
        start = datetime(2026, 3, 1, tzinfo=timezone.utc)
        verbs = ["tweet", "like", "comment", "follow"]
        began = time.perf_counter()
        for batch in range(0, args.activities, 100):
            stream_client.feed("user", 1).add_activities([
                {
                    "actor": "auth.User:1",
                    "verb": verbs[n % 4],
                    "object": f"app.Tweet:{100000 + n}",
                    "foreign_id": f"app.Tweet:{100000 + n}",
                    "time": start + timedelta(minutes=7 * n),
                }
                for n in range(batch, min(batch + 100, args.activities))
            ])
        elapsed = time.perf_counter() - began
        usage: dict[str, int] = defaultdict(int)
        keys: dict[str, int] = defaultdict(int)
        for key in client.scan_iter(match=f"{prefix}*", count=1000):
            kind = kind_of(key, prefix)
            usage[kind] += client.memory_usage(key, samples=0) or 0
            keys[kind] += 1
        a = args.activities
        entries = {
            "timeline feeds": sum(backend.feed_length(f"timeline:{i}") for i in range(args.followers)),
            "short feeds": sum(backend.feed_length(f"short:{i}") for i in range(args.followers)),
            "timeline_aggregated feeds": a * args.followers,
        }
        info = client.info("server")
        print(f"Redis {info.get('redis_version')}; {a} activities, {args.followers} followers of each kind; "
              f"fan-out written in {elapsed:.1f}s")
        print(f"{'kind':28} {'keys':>7} {'bytes':>12} {'per item':>10}")
        for kind in sorted(usage):
            if kind in entries:
                per, unit = usage[kind] / max(entries[kind], 1), "entry"
            elif kind in ("activity bodies", "foreign-id index"):
                per, unit = usage[kind] / a, "activity"
            else:
                per, unit = usage[kind] / max(keys[kind], 1), "key"
            print(f"{kind:28} {keys[kind]:>7} {usage[kind]:>12} {per:>8.1f} B/{unit}")
        body = usage["activity bodies"] + usage["foreign-id index"]
        print(f"per activity (body + foreign-id index): {body / a:.0f} B")
        print(f"per flat timeline entry (1000-entry timelines, skiplist): "
              f"{usage['timeline feeds'] / max(entries['timeline feeds'], 1):.1f} B")
        print(f"per flat timeline entry (100-entry timelines, listpack): "
              f"{usage['short feeds'] / max(entries['short feeds'], 1):.1f} B")
    finally:
        pipe = client.pipeline(transaction=False)
        for key in client.scan_iter(match=f"{prefix}*", count=1000):
            pipe.unlink(key)
        pipe.execute()


if __name__ == "__main__":
    main()
