"""
Reads of flat feeds and of stored activities (the contract's "reads",
apart from aggregated feeds: ``groups.py``; and follows: ``follows.py``).

A page is one indexed query on ``(feed, activity_key)``.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connections

from stream_django.backends.base import Entry, Page
from stream_django.backends.database.connection import ConnectionMixin
from stream_django.backends.database.models import FeedEntry, GroupEntry, StoredActivity
from stream_django.backends.database.sql import ACTIVITY, ENTRY
from stream_django.engine.plan import FeedLayout


class ReadMixin(ConnectionMixin):
    """Pages of flat feeds, feed lengths, activity data by key or foreign id."""

    def read_feed(self, feed: str, page: Page) -> list[Entry]:
        if page.limit == 0:
            return []
        # Written out: building this query with the ORM took about as long
        # as running it.
        where, params = ["e.feed = %s"], [feed]
        for op, symbol in (("lt", "<"), ("lte", "<="), ("gt", ">"), ("gte", ">=")):
            value = getattr(page, op)
            if value is not None:
                where.append(f"e.activity_key {symbol} %s")
                params.append(value)
        with self._guard(), connections[self.using].cursor() as cursor:
            cursor.execute(
                f"SELECT e.activity_key, a.data, e.origin FROM {ENTRY} e "
                f"INNER JOIN {ACTIVITY} a ON a.key = e.activity_key WHERE {' AND '.join(where)} "
                f"ORDER BY e.activity_key DESC LIMIT %s OFFSET %s",
                [*params, page.limit, page.offset],
            )
            return [Entry(key, data, origin) for key, data, origin in cursor.fetchall()]

    def feed_length(self, feed: str) -> int:
        with self._guard():
            return FeedEntry.objects.using(self.using).filter(feed=feed).count()

    def get_activities(self, keys: Sequence[str]) -> dict[str, str]:
        if not keys:
            return {}
        with self._guard():
            return dict(StoredActivity.objects.using(self.using).filter(key__in=list(keys)).values_list("key", "data"))

    def keys_for_foreign_id(self, feed: str, foreign_id: str, layout: FeedLayout) -> list[str]:
        model = GroupEntry if layout.of(feed).is_aggregated else FeedEntry
        with self._guard():
            return list(
                model.objects.using(self.using)
                .filter(feed=feed, activity__foreign_id=foreign_id)
                .values_list("activity_id", flat=True)
            )
