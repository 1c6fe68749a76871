"""
Erasing and trimming feeds in the Redis backend, for maintenance
(``stream_django.maintenance``): every key of a feed, the entries other feeds
received from it, and its name in other feeds' holder sets; trimming every
feed to its ``max_length`` and each group to its ``activities_per_group``
now rather than on the next write.

Entries go through the ``FLAT_*`` / ``GROUP_*`` scripts, so group counts and
body references stay right; bodies nothing points to any more go with them.
Every script call and every read does a bounded amount of work
(``PURGE_BATCH`` entries), however large the feed: the server never stops
for one of them (docs/redis.md, "Bounded script calls").
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence

from stream_django.backends.redis.commands import Call
from stream_django.backends.redis.entries import PURGE_BATCH, PurgeJob
from stream_django.backends.redis.keys import KEY
from stream_django.backends.redis.scan import Scan, glob_escape
from stream_django.engine.feeds import FeedGroup
from stream_django.engine.plan import FeedLayout

#: A cut: the script name, its keys and its argv without the release flag
#: and prefix (``_cut`` adds them).
Cut = tuple[str, list[str], list[str | int]]


class Erasure(Scan):
    """Delete everything about feeds; trim feeds now."""

    supports_feed_erasure = True
    supports_trim = True

    def _members(self, zset: str) -> Iterator[str]:
        """The members of ``zset``, ``PURGE_BATCH`` a read."""
        start = 0
        while True:
            page = self._call("zrange", zset, start, start + PURGE_BATCH - 1)
            yield from page
            if len(page) < PURGE_BATCH:
                return
            start += PURGE_BATCH

    def _cut(self, cuts: Sequence[Cut], *, dry_run: bool = False) -> int:
        """Run each cut to its end, bounded calls, one pipeline per round;
        return how many entries went (``dry_run``: would go, counted by a
        read of the same bounds)."""
        if dry_run:
            return sum(self._would_cut(cuts))
        release = "0" if self.cluster else "1"
        pending = list(cuts)
        total = 0
        while pending:
            calls: list[Call] = [(name, (keys, [*argv, release, self.prefix])) for name, keys, argv in pending]
            released: Counter[str] = Counter()
            again: list[Cut] = []
            for cut, (keys, more) in zip(pending, self._run(calls)):
                total += len(keys)
                released.update(keys)
                if more:
                    again.append(cut)
            if self.cluster:
                self._release(released)
            pending = again
        return total

    def _would_cut(self, cuts: Sequence[Cut]) -> list[int]:
        """How many entries each cut would remove."""
        calls: list[Call] = []
        for name, keys, argv in cuts:
            if name == "script:FLAT_CUT":
                calls.append(("zcard", (keys[0],)))
            else:
                calls.append(("zcard", (f"{argv[0]}ge:{argv[1]}",)))
        keeps = [int(argv[0] if name == "script:FLAT_CUT" else argv[2]) for name, _k, argv in cuts]
        return [max(0, int(n) - keep) for n, keep in zip(self._run(calls), keeps)]

    def erase_feeds(self, feeds: Sequence[str], layout: FeedLayout) -> int:
        erased = list(dict.fromkeys(feeds))
        if not erased:
            return 0
        # Entries other feeds hold from an erased feed: its holders (the
        # followers left and the feeds that unfollowed it keeping history).
        jobs: list[PurgeJob] = []
        for feed in erased:
            for holder in self._members(self.base(feed) + "fl"):
                if holder in erased:
                    continue
                group = layout.get(holder)
                if group is None or group.is_flat:
                    jobs.append((holder, feed, True, []))
                if group is None or group.is_aggregated:
                    jobs.append((holder, feed, False, []))
        total = self._purge_origins(jobs)
        # The erased feeds in the holder sets of the feeds they unfollowed
        # keeping history (only those sets name them).
        names = set(erased)
        mentions: list[Call] = []
        for feed in self._feeds_with("fk"):
            if feed not in names:
                base = self.base(feed)
                mentions += [("zrem", (base + "fk", *erased)), ("zrem", (base + "fl", *erased))]
        self._run(mentions)
        # The feeds' own entries (every group dropped whole), then every key they have.
        cuts: list[Cut] = []
        for feed in erased:
            base = self.base(feed)
            cuts.append(("script:FLAT_CUT", [base + "e"], [0, PURGE_BATCH]))
            cuts += [
                ("script:GROUP_CUT", [base + "g"], [base, m[KEY:], 0, PURGE_BATCH]) for m in self._members(base + "g")
            ]
        total += self._cut(cuts)
        leftovers = [n for f in erased for n in self._scan(glob_escape(self.base(f)) + "*")]
        self._run([("unlink", (n,)) for n in leftovers])
        return total

    def trim_feeds(self, feeds: Sequence[str], layout: FeedLayout, *, dry_run: bool = False) -> int:
        cuts: list[Cut] = []
        for feed in feeds:
            group = layout.get(feed)
            if group is not None:
                cuts += self._trim_cuts(feed, group)
        return self._cut(cuts, dry_run=dry_run)

    def _trim_cuts(self, feed: str, group: FeedGroup) -> list[Cut]:
        """The cuts that bring ``feed`` to its ``max_length`` and, aggregated,
        each kept group to ``activities_per_group``."""
        base = self.base(feed)
        if group.is_flat:
            if group.max_length is None:
                return []
            return [("script:FLAT_CUT", [base + "e"], [group.max_length, PURGE_BATCH])]
        keep_groups = group.max_length if group.max_length is not None else -1
        cuts: list[Cut] = []
        # Newest group first: the first max_length keep their newest activities.
        for rank, member in enumerate(self._members_newest_first(base + "g")):
            keep = group.activities_per_group if keep_groups < 0 or rank < keep_groups else 0
            cuts.append(("script:GROUP_CUT", [base + "g"], [base, member[KEY:], keep, PURGE_BATCH]))
        return cuts

    def _members_newest_first(self, zset: str) -> Iterator[str]:
        start = 0
        while True:
            page = self._call("zrevrange", zset, start, start + PURGE_BATCH - 1)
            yield from page
            if len(page) < PURGE_BATCH:
                return
            start += PURGE_BATCH
