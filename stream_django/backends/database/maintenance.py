"""
Maintenance of the database backend: the store-wide reads and writes an
operator runs (``stream_django.maintenance``), beside the storage contract.

Finding the feeds that hold an activity reads the entry tables by their
index on the activity (that of its foreign key); the scans of every
activity and every feed read whole tables, in key order, a batch at a time.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from django.db.models import Q

from stream_django.backends.database.connection import retry_on_deadlock
from stream_django.backends.database.follows import FollowMixin
from stream_django.backends.database.models import ActivityGroup, FeedEntry, FeedLock, GroupEntry, StoredActivity
from stream_django.backends.database.models import Follow as FollowRow
from stream_django.engine.plan import FeedLayout

#: Parameters per ``IN (...)`` list (under every database's limit).
IN_SIZE = 500


class MaintenanceMixin(FollowMixin):
    """Scan the store, erase feeds, trim feeds now."""

    supports_activity_scan = True
    supports_feed_erasure = True
    supports_trim = True

    # -- scans -----------------------------------------------------------

    def iter_activities(self, batch: int) -> Iterator[list[tuple[str, str]]]:
        after = ""
        while True:
            with self._guard():
                rows = list(
                    StoredActivity.objects.using(self.using)
                    .filter(key__gt=after)
                    .order_by("key")
                    .values_list("key", "data")[:batch]
                )
            if not rows:
                return
            yield rows
            after = rows[-1][0]

    def keys_of_foreign_id(self, foreign_id: str) -> list[str]:
        with self._guard():
            return sorted(
                StoredActivity.objects.using(self.using).filter(foreign_id=foreign_id).values_list("key", flat=True)
            )

    def locate_activities(self, keys: Sequence[str], layout: FeedLayout) -> dict[str, list[tuple[str, str | None]]]:
        found: dict[str, list[tuple[str, str | None]]] = {k: [] for k in keys}
        unique = list(found)
        with self._guard():
            for start in range(0, len(unique), IN_SIZE):
                chunk = unique[start : start + IN_SIZE]
                for model in (FeedEntry, GroupEntry):
                    rows = model.objects.using(self.using).filter(activity_id__in=chunk)
                    for key, feed, origin in rows.values_list("activity_id", "feed", "origin"):
                        found[key].append((feed, origin))
        for holders in found.values():
            holders.sort()
        return found

    def iter_feeds(self, batch: int) -> Iterator[list[str]]:
        after = ""
        while True:
            with self._guard():
                flat = FeedEntry.objects.using(self.using).filter(feed__gt=after).order_by("feed")
                grouped = ActivityGroup.objects.using(self.using).filter(feed__gt=after).order_by("feed")
                feeds = sorted(
                    set(flat.values_list("feed", flat=True).distinct()[:batch])
                    | set(grouped.values_list("feed", flat=True).distinct()[:batch])
                )[:batch]
            if not feeds:
                return
            yield feeds
            after = feeds[-1]

    # -- writes ----------------------------------------------------------

    @retry_on_deadlock
    def erase_feeds(self, feeds: Sequence[str], layout: FeedLayout) -> int:
        feeds = list(dict.fromkeys(feeds))
        if not feeds:
            return 0
        touching = Q(feed__in=feeds) | Q(origin__in=feeds)
        with self._write() as cursor:
            # As an unfollow of them does: a follow's copy of one of them
            # runs before or after, never into the middle.
            self._lock_feeds(cursor, list(layout.flat(feeds)), exclusive=True)
            entries = FeedEntry.objects.using(self.using).filter(touching)
            gentries = GroupEntry.objects.using(self.using).filter(touching)
            keys = set(entries.values_list("activity_id", flat=True)) | set(
                gentries.values_list("activity_id", flat=True)
            )
            # What other aggregated feeds got from the erased ones, with their counts.
            regroup = sorted(set(gentries.exclude(feed__in=feeds).values_list("feed", flat=True)))
            deleted = sum(len(self._purge_groups(cursor, feed, feeds)) for feed in regroup)
            deleted += entries.delete()[0] + gentries.delete()[0]
            ActivityGroup.objects.using(self.using).filter(feed__in=feeds).delete()  # and their actors
            FollowRow.objects.using(self.using).filter(Q(source__in=feeds) | Q(target__in=feeds)).delete()
            # Their lock rows (MySQL/MariaDB; docs/database.md, "Locks") name them too.
            FeedLock.objects.using(self.using).filter(feed__in=feeds).delete()
            self._delete_orphans(cursor, sorted(keys))
        return deleted

    def trim_feeds(self, feeds: Sequence[str], layout: FeedLayout, *, dry_run: bool = False) -> int:
        by_group: dict[str, list[str]] = {}
        for feed in feeds:
            group = layout.get(feed)
            if group is not None and (group.is_aggregated or group.max_length is not None):
                by_group.setdefault(group.slug, []).append(feed)
        removed = 0
        with self._write() as cursor:
            for slug, members in by_group.items():
                group = layout.groups[slug]
                if dry_run:
                    removed += self._count_over(cursor, group, members)
                    continue
                model = FeedEntry if group.is_flat else GroupEntry
                rows = model.objects.using(self.using).filter(feed__in=members)
                before = rows.count()
                if group.max_length is not None:
                    self._trim(cursor, group, members)
                if group.is_aggregated:
                    self._cap_feeds(cursor, group, members)
                removed += before - rows.count()
        return removed
