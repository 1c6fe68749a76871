"""
Chunked fan-out (the contract's section of that name, apart from the
``*_direct`` writes: ``writes.py``).

With ``supports_fanout_chunks``, the engine writes the direct feeds in the
request and leaves the followers to task workers, one range of followers
per chunk. A chunk runs the statements of the inline operation over its
range (``fanout.py``, ``follows.py``), guarded by the state of the source
feed or follow, and locks the activity (or follow) row it depends on, so
that a chunk and the operation undoing it never interleave: adds take a
shared lock on the activity, removals an exclusive one; copies and purges
lock the follow row.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connections
from django.db.backends.utils import CursorWrapper

from stream_django.backends.database import sql
from stream_django.backends.database.connection import retry_on_deadlock
from stream_django.backends.database.follows import FollowMixin
from stream_django.backends.database.models import FeedEntry, GroupEntry
from stream_django.backends.database.sql import FOLLOW
from stream_django.backends.database.writes import WriteMixin
from stream_django.engine import ids, serializer
from stream_django.engine.activities import PreparedActivity
from stream_django.engine.plan import FeedLayout, plan_write


class ChunkedFanOutMixin(WriteMixin, FollowMixin):
    """Count and split followers; fan out, remove, copy and purge one range of them."""

    supports_fanout_chunks = True

    def count_followers(self, feeds: Sequence[str], at_most: int) -> int:
        if not feeds or at_most <= 0:
            return 0
        # One index-ordered, limited scan per feed: the cost stops at at_most
        # rows per feed, whatever the plan for a plain filter would be.
        parts = [
            f"SELECT one FROM (SELECT 1 AS one FROM {FOLLOW} f WHERE f.target = %s ORDER BY f.source LIMIT %s) t{i}"
            for i in range(len(feeds))
        ]
        with self._guard(), connections[self.using].cursor() as cursor:
            cursor.execute(
                f"SELECT COUNT(*) FROM ({' UNION ALL '.join(parts)}) x",
                [value for feed in feeds for value in (feed, at_most)],
            )
            return min(int(cursor.fetchone()[0]), at_most)

    def follower_boundaries(self, feed: str, size: int) -> list[str]:
        with self._guard(), connections[self.using].cursor() as cursor:
            cursor.execute(
                f"SELECT x.source FROM (SELECT f.source, ROW_NUMBER() OVER (ORDER BY f.source) AS rn, "
                f"COUNT(*) OVER () AS total FROM {FOLLOW} f WHERE f.target = %s) x "
                f"WHERE x.rn %% %s = 0 AND x.rn < x.total ORDER BY x.source",
                [feed, size],
            )
            return [row[0] for row in cursor.fetchall()]

    @retry_on_deadlock
    def fan_out_chunk(
        self, source: str, keys: Sequence[str], after: str | None, upto: str | None, layout: FeedLayout
    ) -> None:
        with self._write() as cursor:
            self._lock_feeds(cursor, [source], exclusive=False)
            bodies = self._lock_activities(cursor, keys, exclusive=False)
            # Grouped by the layout's aggregation formats, as the request's plan was.
            plan = plan_write([_stored(key, bodies[key]) for key in sorted(bodies)], layout)
            for activity in plan.activities:
                self._fan_out(cursor, plan, activity, [source], (after, upto))

    @retry_on_deadlock
    def remove_chunk(self, source: str, keys: Sequence[str], limit: int, layout: FeedLayout) -> int:
        db = self.using
        deleted = 0
        with self._write() as cursor:
            live = set(self._lock_activities(cursor, keys, exclusive=True))
            held = set(
                FeedEntry.objects.using(db)
                .filter(feed=source, activity_id__in=live)
                .values_list("activity_id", flat=True)
            )
            gone = sorted(live - held)
            for key in gone:
                budget = limit - deleted
                if budget <= 0:
                    break
                feeds = list(
                    FeedEntry.objects.using(db)
                    .filter(activity_id=key, origin=source)
                    .values_list("feed", flat=True)[:budget]
                )
                if len(feeds) < budget:
                    feeds += (
                        GroupEntry.objects.using(db)
                        .filter(activity_id=key, origin=source)
                        .values_list("feed", flat=True)[: budget - len(feeds)]
                    )
                if feeds:
                    self._delete_key(cursor, key, feeds, [])
                    deleted += len(feeds)
            if deleted < limit:
                self._delete_orphans(cursor, gone, locked=True)  # live, locked above
        return deleted

    @retry_on_deadlock
    def copy_chunk(self, pairs: Sequence[tuple[str, str]], copy_limit: int, layout: FeedLayout) -> None:
        if not copy_limit:
            return
        with self._write() as cursor:
            self._lock_feeds(cursor, [t for _, t in pairs], exclusive=True)
            for source, target in pairs:
                if self._lock_follow(cursor, source, target):
                    self._copy(cursor, source, target, copy_limit, layout)

    @retry_on_deadlock
    def purge_chunk(self, pairs: Sequence[tuple[str, str]], layout: FeedLayout, copy_limit: int) -> None:
        # The follow row's lock orders a purge and a new follow's copy, so a
        # purge never needs to copy again (``copy_limit`` is for stores without it).
        with self._write() as cursor:
            for source, target in pairs:
                if not self._lock_follow(cursor, source, target):
                    self._purge(cursor, source, target, layout)

    def _lock_follow(self, cursor: CursorWrapper, source: str, target: str) -> bool:
        """Lock the follow ``source`` -> ``target`` until commit; return whether it exists."""
        cursor.execute(
            f"SELECT id FROM {FOLLOW} WHERE source = %s AND target = %s{sql.row_lock(self.vendor, exclusive=True)}",
            [source, target],
        )
        return cursor.fetchone() is not None


def _stored(key: str, text: str) -> PreparedActivity:
    """Return a stored activity in the shape the write helpers take."""
    data = serializer.loads(text)
    return PreparedActivity(
        id=ids.key_to_id(key),
        key=key,
        time=ids.key_time(key),
        foreign_id=str(data.get("foreign_id", "")),
        actor=str(data["actor"]),
        verb=str(data["verb"]),
        to=tuple(data.get("to", ())),
        data=data,
        json=text,
    )
