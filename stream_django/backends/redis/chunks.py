"""
Chunked fan-out in the Redis backend: the "chunked fan-out" section of the
storage contract (docs/scale-out.md).

The request writes the direct feeds (``*_direct``, ``count_followers``);
task workers run the chunks, each a range ``(after, upto]`` of a feed's
holders (``P{F}:fl``, by feed id; ``follower_boundaries`` cuts it), through
the same fan-out as inline writes (``fanout.py``). Removals are cut into
ranges the same way (``removes_by_range``). On one server a chunk's
condition on its source and its writes are one script; on a cluster they
are in different slots, so a chunk checks, writes and checks again, undoing
what the operation that overtook it would have. Copies and purges check
the follow the same way.
"""

from __future__ import annotations

from collections.abc import Sequence

from stream_django.backends.redis.follows import Follows
from stream_django.backends.redis.writes import Writes
from stream_django.engine.plan import FeedLayout, WritePlan


class Chunks(Writes, Follows):
    """The chunked fan-out methods, for task workers."""

    supports_fanout_chunks = True
    removes_by_range = True

    def add_direct(self, feed: str, plan: WritePlan) -> None:
        self._add(plan, [(a, plan.direct_feeds(feed, a)) for a in plan.activities], fan_out=False)

    def remove_direct(self, feed: str, keys: Sequence[str], layout: FeedLayout) -> dict[str, list[str]]:
        return self._remove_held(feed, keys, layout, holders=False)

    def change_targets_direct(self, plan: WritePlan, added: Sequence[str], removed: Sequence[str]) -> None:
        (activity,) = plan.activities
        removals = {activity.key: list(removed)} if removed else None
        self._add(plan, [(activity, added)], fan_out=False, removals=removals, remove_holders=False)

    def count_followers(self, feeds: Sequence[str], at_most: int) -> int:
        if not feeds or at_most <= 0:
            return 0
        counts = self._run([("zcard", (self.base(f) + "fr",)) for f in dict.fromkeys(feeds)])
        return min(sum(int(n) for n in counts), at_most)

    def follower_boundaries(self, feed: str, size: int) -> list[str]:
        return list(self._call("script:HOLDER_MARKS", [self.base(feed) + "fl"], [size]))

    def fan_out_chunk(
        self, source: str, keys: Sequence[str], after: str | None, upto: str | None, layout: FeedLayout
    ) -> None:
        self._fan_out(source, keys, after, upto, layout)

    def remove_range_chunk(
        self, source: str, keys: Sequence[str], after: str | None, upto: str | None, layout: FeedLayout
    ) -> None:
        self._unfan(source, keys, after, upto, layout)

    def remove_chunk(self, source: str, keys: Sequence[str], limit: int, layout: FeedLayout) -> int:
        """Redis removes by holder ranges (``remove_range_chunk``); this
        cleans every holder of ``source`` at once and returns 0 (none left)."""
        self._unfan(source, keys, None, None, layout)
        return 0

    def copy_chunk(self, pairs: Sequence[tuple[str, str]], copy_limit: int, layout: FeedLayout) -> None:
        if not copy_limit:
            return
        pairs = [p for p, ok in zip(pairs, self._follow_exists(pairs)) if ok]
        self._copy_newest(pairs, copy_limit, layout)
        # An unfollow that overtook the copy may have purged already.
        gone = [p for p, ok in zip(pairs, self._follow_exists(pairs)) if not ok]
        self._purge(gone, layout, guarded=not self.cluster)

    def purge_chunk(self, pairs: Sequence[tuple[str, str]], layout: FeedLayout, copy_limit: int) -> None:
        if not self.cluster:
            self._purge(pairs, layout, guarded=True)
            return
        pairs = [p for p, ok in zip(pairs, self._follow_exists(pairs)) if not ok]
        self._purge(pairs, layout, guarded=False)
        # Followed again meanwhile: its copy may have run before the purge.
        again = [p for p, ok in zip(pairs, self._follow_exists(pairs)) if ok]
        if again:
            self._copy_newest(again, copy_limit, layout)
