"""
Follows (the contract's ``follow_many``/``unfollow_many`` and its follow
reads).

Following copies the newest activities of the followed feed into the
follower with one ``INSERT ... SELECT ... LIMIT`` (aggregated followers
merge them into their groups); unfollowing purges every entry whose origin
is the unfollowed feed, unless history is kept.
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
from stream_django.backends.database.groups import GroupMixin
from stream_django.backends.database.models import FeedEntry
from stream_django.backends.database.models import Follow as FollowRow
from stream_django.backends.database.orphans import OrphanMixin
from stream_django.backends.database.reads import ReadMixin
from stream_django.backends.database.sql import ACTIVITY, ENTRY, FOLLOW
from stream_django.backends.database.trim import TrimMixin
from stream_django.backends.database.ungroup import UngroupMixin
from stream_django.engine.feeds import slug_of
from stream_django.engine.plan import FeedLayout


class FollowMixin(GroupMixin, TrimMixin, UngroupMixin, ReadMixin, OrphanMixin):
    """Follow and unfollow feeds (copying and purging their activities), list follows."""

    # -- writes ----------------------------------------------------------

    @retry_on_deadlock
    def follow_many(self, pairs: Sequence[tuple[str, str]], copy_limit: int, layout: FeedLayout) -> None:
        now = to_db(datetime.now(dt_timezone.utc))
        with self._write() as cursor:
            self._lock_feeds(cursor, [t for _, t in pairs], exclusive=True)
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
                self._copy(cursor, source, target, copy_limit, layout)

    def _copy(self, cursor: CursorWrapper, source: str, target: str, copy_limit: int, layout: FeedLayout) -> None:
        """Copy ``target``'s newest ``copy_limit`` activities into ``source``.

        The activities copied are locked against deletion first
        (``_hold_activities``): one an orphan delete took is not copied.
        """
        group = layout.of(source)
        follows = f"EXISTS (SELECT 1 FROM {FOLLOW} f WHERE f.source = %s AND f.target = %s)"
        columns = ["feed", "activity_key", "origin"]
        if group.is_flat and self.vendor == "mysql":
            # The newest entries' activities, locked as they are read (one
            # statement), then copied by key: what the lock did not find is gone.
            key = connections[self.using].ops.quote_name("key")
            cursor.execute(
                f"SELECT a.{key} FROM (SELECT activity_key FROM {ENTRY} WHERE feed = %s "
                f"ORDER BY activity_key DESC LIMIT %s) x JOIN {ACTIVITY} a ON a.{key} = x.activity_key "
                f"ORDER BY a.{key}{sql.key_share_lock(self.vendor)}",
                [target, copy_limit],
            )
            live = [row[0] for row in cursor.fetchall()]
            if live:
                select = f"SELECT %s, a.{key}, %s FROM {ACTIVITY} a WHERE a.{key} IN ({sql.placeholders(live)}) AND {follows}"
                cursor.execute(self._ignore(ENTRY, columns, select), [source, target, *live, source, target])
        elif group.is_flat:
            # PostgreSQL locks in the statement that copies (no statement
            # more); SQLite, one writer at a time, needs no lock.
            lock = " FOR KEY SHARE OF a" if self.vendor == "postgresql" else ""
            select = (
                f"SELECT %s, x.key, %s FROM (SELECT a.key FROM {ENTRY} e JOIN {ACTIVITY} a ON a.key = e.activity_key "
                f"WHERE e.feed = %s ORDER BY e.activity_key DESC LIMIT %s{lock}) x WHERE {follows}"
            )
            cursor.execute(self._ignore(ENTRY, columns, select), [source, target, target, copy_limit, source, target])
        else:
            entries = self.read_feed(target, Page(limit=copy_limit))
            held = self._hold_activities(cursor, [e.key for e in entries])
            self._add_many_to_feed(source, group, [(e.key, e.json, target) for e in entries if e.key in held])
        self._maybe_trim(cursor, [source], layout, force=True)

    @retry_on_deadlock
    def unfollow_many(self, items: Sequence[tuple[str, str, bool]], layout: FeedLayout) -> None:
        with self._write() as cursor:
            self._lock_feeds(cursor, [t for _, t, _ in items], exclusive=True)
            for source, target, keep_history in items:
                FollowRow.objects.using(self.using).filter(source=source, target=target).delete()
                if not keep_history:
                    self._purge(cursor, source, target, layout)

    def _purge(self, cursor: CursorWrapper, source: str, target: str, layout: FeedLayout) -> None:
        """Delete from ``source`` every entry whose origin is ``target``."""
        if layout.of(source).is_aggregated:
            keys = self._purge_groups(cursor, source, [target])
        else:
            purged = FeedEntry.objects.using(self.using).filter(feed=source, origin=target)
            keys = list(purged.values_list("activity_id", flat=True))
            purged.delete()
        self._delete_orphans(cursor, keys)

    # -- reads -----------------------------------------------------------

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

    def _follows(self, qs: QuerySet[FollowRow], offset: int, limit: int) -> list[Follow]:
        if limit == 0:
            return []
        rows = qs.order_by("-created_at", "-id")[offset : offset + limit]
        with self._guard():
            return [Follow(r.source, r.target, from_db(r.created_at), from_db(r.updated_at)) for r in rows]
