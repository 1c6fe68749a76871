"""
Feeds in the Django database.

Writes are set-based: fanning an activity out to N followers is one
``INSERT ... SELECT`` over the follow table per feed type (plus three for
each aggregated feed group), never N statements. A page read is one indexed
query. Every operation runs in one transaction.

Chunked fan-out (``supports_fanout_chunks``) runs the same statements over a
range of followers, guarded by the state of the source feed or follow, and
locks the activity (or follow) row it depends on, so that a chunk and the
operation undoing it never interleave: adds take a shared lock on the
activity, removals an exclusive one; copies and purges lock the follow row.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from datetime import timezone as dt_timezone

from django.db import connections
from django.db.backends.utils import CursorWrapper
from django.db.models import Q, QuerySet

from stream_django.backends.base import Follow, Page
from stream_django.backends.database import sql
from stream_django.backends.database.connection import from_db, retry_on_deadlock, to_db
from stream_django.backends.database.models import (
    FeedEntry,
    GroupEntry,
)
from stream_django.backends.database.models import Follow as FollowRow
from stream_django.backends.database.sql import ENTRY, FOLLOW
from stream_django.backends.database.writes import WriteMixin
from stream_django.engine import ids, serializer
from stream_django.engine.activities import PreparedActivity
from stream_django.engine.feeds import get_group, slug_of


class DatabaseBackend(WriteMixin):
    """Feed storage in a Django database (``OPTIONS``: ``using``, the alias)."""

    name = "database"

    # -- writes ----------------------------------------------------------

    def _lock_follow(self, cursor: CursorWrapper, source: str, target: str) -> bool:
        """Lock the follow ``source`` -> ``target`` until commit; return whether it exists."""
        cursor.execute(
            f"SELECT id FROM {FOLLOW} WHERE source = %s AND target = %s{sql.row_lock(self.vendor, exclusive=True)}",
            [source, target],
        )
        return cursor.fetchone() is not None

    @retry_on_deadlock
    def follow_many(self, pairs: Sequence[tuple[str, str]], copy_limit: int) -> None:
        now = to_db(datetime.now(dt_timezone.utc))
        with self._write() as cursor:
            FollowRow.objects.using(self.using).bulk_create(
                [
                    FollowRow(source=s, source_slug=slug_of(s), target=t, created_at=now, updated_at=now)
                    for s, t in pairs
                ],
                ignore_conflicts=True,
            )
            if not copy_limit:
                return
            for source, target in pairs:
                self._copy(cursor, source, target, copy_limit)

    def _copy(self, cursor: CursorWrapper, source: str, target: str, copy_limit: int) -> None:
        """Copy ``target``'s newest ``copy_limit`` activities into ``source``."""
        group = get_group(slug_of(source))
        if group.is_flat:
            select = (
                f"SELECT %s, x.activity_key, %s FROM (SELECT activity_key FROM {ENTRY} "
                f"WHERE feed = %s ORDER BY activity_key DESC LIMIT %s) x "
                f"WHERE EXISTS (SELECT 1 FROM {FOLLOW} f WHERE f.source = %s AND f.target = %s)"
            )
            cursor.execute(
                self._ignore(ENTRY, ["feed", "activity_key", "origin"], select),
                [source, target, target, copy_limit, source, target],
            )
        else:
            entries = self.read_feed(target, Page(limit=copy_limit))
            self._add_many_to_feed(source, group, [(e.key, e.json, target) for e in entries])
        self._maybe_trim(cursor, [source], force=True)

    @retry_on_deadlock
    def unfollow_many(self, items: Sequence[tuple[str, str, bool]]) -> None:
        with self._write() as cursor:
            for source, target, keep_history in items:
                FollowRow.objects.using(self.using).filter(source=source, target=target).delete()
                if not keep_history:
                    self._purge(cursor, source, target)

    def _purge(self, cursor: CursorWrapper, source: str, target: str) -> None:
        """Delete from ``source`` every entry whose origin is ``target``."""
        model = GroupEntry if get_group(slug_of(source)).is_aggregated else FeedEntry
        purged = model.objects.using(self.using).filter(feed=source, origin=target)
        keys = list(purged.values_list("activity_id", flat=True))
        purged.delete()
        if model is GroupEntry:
            self._recount_groups(cursor, source)
        self._delete_orphans(cursor, keys)

    # -- chunked fan-out -------------------------------------------------

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
    def fan_out_chunk(self, source: str, keys: Sequence[str], after: str | None, upto: str | None) -> None:
        with self._write() as cursor:
            bodies = self._lock_activities(cursor, keys, exclusive=False)
            for key in sorted(bodies):
                self._fan_out(cursor, _stored(key, bodies[key]), [source], (after, upto))

    @retry_on_deadlock
    def remove_chunk(self, source: str, keys: Sequence[str], limit: int) -> int:
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
                self._delete_orphans(cursor, gone)
        return deleted

    @retry_on_deadlock
    def copy_chunk(self, pairs: Sequence[tuple[str, str]], copy_limit: int) -> None:
        if not copy_limit:
            return
        with self._write() as cursor:
            for source, target in pairs:
                if self._lock_follow(cursor, source, target):
                    self._copy(cursor, source, target, copy_limit)

    @retry_on_deadlock
    def purge_chunk(self, pairs: Sequence[tuple[str, str]]) -> None:
        with self._write() as cursor:
            for source, target in pairs:
                if not self._lock_follow(cursor, source, target):
                    self._purge(cursor, source, target)

    # -- trimming --------------------------------------------------------

    # -- reads -----------------------------------------------------------

    def _follows(self, qs: QuerySet[FollowRow], offset: int, limit: int) -> list[Follow]:
        if limit == 0:
            return []
        rows = qs.order_by("-created_at", "-id")[offset : offset + limit]
        with self._guard():
            return [Follow(r.source, r.target, from_db(r.created_at), from_db(r.updated_at)) for r in rows]

    def followers(self, feed: str, offset: int, limit: int, among: Sequence[str] | None) -> list[Follow]:
        qs = FollowRow.objects.using(self.using).filter(target=feed)
        if among is not None:
            qs = qs.filter(source__in=among)
        return self._follows(qs, offset, limit)

    def following(self, feed: str, offset: int, limit: int, among: Sequence[str] | None) -> list[Follow]:
        qs = FollowRow.objects.using(self.using).filter(source=feed)
        if among is not None:
            qs = qs.filter(target__in=among)
        return self._follows(qs, offset, limit)

    def follow_counts(
        self, feed: str, followers_slugs: Sequence[str] | None, following_slugs: Sequence[str] | None
    ) -> tuple[int, int]:
        followers = FollowRow.objects.using(self.using).filter(target=feed)
        if followers_slugs:
            followers = followers.filter(source_slug__in=followers_slugs)
        following = FollowRow.objects.using(self.using).filter(source=feed)
        if following_slugs:
            q = Q()
            for slug in following_slugs:
                q |= Q(target__startswith=f"{slug}:")
            following = following.filter(q)
        with self._guard():
            return followers.count(), following.count()


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
