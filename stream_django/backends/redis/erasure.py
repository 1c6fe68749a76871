"""
Erasing and trimming feeds in the Redis backend, for maintenance
(``stream_django.maintenance``): every key of a feed, the entries other feeds
received from it, and its name in other feeds' holder sets; trimming every
feed to its ``max_length`` now rather than on the next write.

Entries go through the ``FLAT_*`` / ``GROUP_*`` scripts, so group counts and
body references stay right; bodies nothing points to any more go with them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from stream_django.backends.redis.commands import Call
from stream_django.backends.redis.keys import KEY
from stream_django.backends.redis.scan import Scan, glob_escape
from stream_django.engine.plan import FeedLayout


class Erasure(Scan):
    """Delete everything about feeds; trim feeds now."""

    supports_feed_erasure = True
    supports_trim = True

    def erase_feeds(self, feeds: Sequence[str], layout: FeedLayout) -> int:
        erased = list(dict.fromkeys(feeds))
        if not erased:
            return 0
        removed: Counter[str] = Counter()
        # Entries other feeds hold from an erased feed: its holders (the
        # followers left and the feeds that unfollowed it keeping history).
        holders = self._run([("zrange", (self.base(f) + "fl", 0, -1)) for f in erased])
        purges: list[Call] = []
        for feed, members in zip(erased, holders):
            for holder in members:
                if holder in erased:
                    continue
                base, group = self.base(holder), layout.get(holder)
                if group is None or group.is_flat:
                    purges.append(("script:FLAT_PURGE", ([base + "e"], [feed])))
                if group is None or group.is_aggregated:
                    purges.append(("script:GROUP_PURGE", ([base + "g"], [base, feed])))
        for keys in self._run(purges):
            removed.update(keys)
        # The erased feeds in the holder sets of the feeds they unfollowed
        # keeping history (only those sets name them).
        names = set(erased)
        mentions: list[Call] = []
        for feed in self._feeds_with("fk"):
            if feed not in names:
                base = self.base(feed)
                mentions += [("zrem", (base + "fk", *erased)), ("zrem", (base + "fl", *erased))]
        self._run(mentions)
        # The feeds' own entries, then every key they have.
        contents = self._run(
            [c for f in erased for c in (("zrange", (self.base(f) + "e", 0, -1)), ("hkeys", (self.base(f) + "x",)))]
        )
        calls: list[Call] = []
        for index, feed in enumerate(erased):
            flat, grouped = contents[2 * index], contents[2 * index + 1]
            base = self.base(feed)
            if flat:
                calls.append(("script:FLAT_REMOVE", ([base + "e"], ["0", 0, *[m[:KEY] for m in flat]])))
            if grouped:
                calls.append(("script:GROUP_REMOVE", ([base + "g"], [base, "0", 0, *grouped])))
        for keys in self._run(calls):
            removed.update(keys)
        leftovers = [n for f in erased for n in self._scan(glob_escape(self.base(f)) + "*")]
        self._run([("delete", (n,)) for n in leftovers])
        self._release(removed)
        return sum(removed.values())

    def trim_feeds(self, feeds: Sequence[str], layout: FeedLayout) -> int:
        flat: list[tuple[str, int]] = []
        grouped: list[tuple[str, int]] = []
        for feed in feeds:
            group = layout.get(feed)
            if group is not None and group.max_length is not None:
                (flat if group.is_flat else grouped).append((feed, group.max_length))
        oldest = self._run(
            [("zrange", (self.base(f) + "e", 0, -(n + 1))) for f, n in flat]
            + [("zrange", (self.base(f) + "g", 0, -(n + 1))) for f, n in grouped]
        )
        calls: list[Call] = []
        for (feed, _), members in zip(flat, oldest):
            if members:
                calls.append(("script:FLAT_REMOVE", ([self.base(feed) + "e"], ["0", 0, *[m[:KEY] for m in members]])))
        old_groups = list(zip(grouped, oldest[len(flat) :]))
        group_keys = self._run(
            [("zrange", (self.base(f) + "ge:" + m[KEY:], 0, -1)) for (f, _), members in old_groups for m in members]
        )
        at = 0
        for (feed, _), members in old_groups:
            keys = [k for ks in group_keys[at : at + len(members)] for k in ks]
            at += len(members)
            if keys:
                base = self.base(feed)
                calls.append(("script:GROUP_REMOVE", ([base + "g"], [base, "0", 0, *keys])))
        removed: Counter[str] = Counter()
        for keys in self._run(calls):
            removed.update(keys)
        self._release(removed)
        return sum(removed.values())
