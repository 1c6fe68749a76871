"""
Maintenance of the Redis backend: repairs an operator runs, beside the
storage contract (``manage.py stream_redis_rebuild_holders``).
"""

from __future__ import annotations

from stream_django.backends.redis.commands import Commands
from stream_django.backends.redis.keys import Keys


class Maintenance(Keys, Commands):
    """Rebuilding what the backend derives from the follows."""

    supports_holder_rebuild = True

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
