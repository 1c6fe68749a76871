"""
Trimming, which keeps each feed at its feed group's ``max_length`` (and, for
maintenance, each group at its ``activities_per_group``: writes cut a group
as they add to it, in ``groups.py``).

Trimming is amortised: a write trims each feed it writes with probability
TRIM_SAMPLES / max_length (``_maybe_trim``); the feeds reached by fan-out
are sampled by the fan-out's survey of followers (``FanOutMixin``) and
trimmed by name (``_trim``).
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connections
from django.db.backends.utils import CursorWrapper

from stream_django.backends.database import sql
from stream_django.backends.database.connection import ConnectionMixin
from stream_django.backends.database.sql import ENTRY, GENTRY, GROUP
from stream_django.engine.feeds import FeedGroup
from stream_django.engine.plan import FeedLayout

#: Trimming runs on a write with probability TRIM_SAMPLES / max_length per
#: feed, so each feed is trimmed about every max_length / TRIM_SAMPLES writes
#: and never grows past roughly (1 + 1 / TRIM_SAMPLES) * max_length.
TRIM_SAMPLES = 10
#: Feeds trimmed per statement on PostgreSQL (see ``_trim``).
CUTOFF_BATCH = 25


class TrimMixin(ConnectionMixin):
    """Cut feeds back to their ``max_length``."""

    def _maybe_trim(
        self, cursor: CursorWrapper, feeds: Sequence[str], layout: FeedLayout, *, force: bool = False
    ) -> None:
        """Trim each of ``feeds`` with probability TRIM_SAMPLES / max_length."""
        for feed in feeds:
            group = layout.of(feed)
            if group.max_length is None:
                continue
            if force or self.random.random() < TRIM_SAMPLES / group.max_length:
                self._trim(cursor, group, [feed])

    def _trim(self, cursor: CursorWrapper, group: FeedGroup, feeds: Sequence[str]) -> None:
        """Cut ``feeds`` to ``group.max_length``."""
        if group.is_flat and self.vendor == "postgresql":
            # Each feed's cut-off key from the (feed, activity_key) index, then
            # a range delete: no heap rows read, nothing sorted. A few feeds a
            # statement keep its estimated cost under the default
            # jit_above_cost: compiling it took longer than running it.
            for start in range(0, len(feeds), CUTOFF_BATCH):
                chunk = list(feeds[start : start + CUTOFF_BATCH])
                cursor.execute(
                    f"DELETE FROM {ENTRY} e USING (SELECT t.feed, (SELECT x.activity_key FROM {ENTRY} x "
                    f"WHERE x.feed = t.feed ORDER BY x.activity_key DESC LIMIT 1 OFFSET %s) AS cutoff "
                    f"FROM (VALUES {', '.join(['(%s)'] * len(chunk))}) AS t (feed)) c "
                    f"WHERE e.feed = c.feed AND e.activity_key <= c.cutoff",
                    [group.max_length, *chunk],
                )
            return
        size = (connections[self.using].features.max_query_params or 10_000) - 1
        for start in range(0, len(feeds), size):
            chunk = list(feeds[start : start + size])
            marks = sql.placeholders(chunk)
            if group.is_flat:
                ranked = (
                    f"SELECT id FROM (SELECT e.id, ROW_NUMBER() OVER (PARTITION BY e.feed "
                    f"ORDER BY e.activity_key DESC) AS rn FROM {ENTRY} e "
                    f"WHERE e.feed IN ({marks})) ranked WHERE ranked.rn > %s"
                )
                cursor.execute(
                    f"DELETE FROM {ENTRY} WHERE id IN (SELECT id FROM ({ranked}) doomed)",
                    [*chunk, group.max_length],
                )
                continue
            ranked = (
                f"SELECT id, feed, name FROM (SELECT g.id, g.feed, g.name, ROW_NUMBER() OVER (PARTITION BY g.feed "
                f"ORDER BY g.latest_key DESC) AS rn FROM {GROUP} g "
                f"WHERE g.feed IN ({marks})) ranked WHERE ranked.rn > %s"
            )
            cursor.execute(
                f"DELETE FROM {GENTRY} WHERE EXISTS (SELECT 1 FROM ({ranked}) doomed "
                f"WHERE doomed.feed = {GENTRY}.feed AND doomed.name = {GENTRY}.group_name)",
                [*chunk, group.max_length],
            )
            cursor.execute(
                f"DELETE FROM {GROUP} WHERE id IN (SELECT id FROM ({ranked}) doomed)",
                [*chunk, group.max_length],
            )

    def _cap_feeds(self, cursor: CursorWrapper, group: FeedGroup, feeds: Sequence[str]) -> None:
        """Cut every group of ``feeds`` to its newest ``activities_per_group``
        entries (data written before the cap, or under a larger one); the
        groups' counts keep counting what was cut."""
        size = (connections[self.using].features.max_query_params or 10_000) - 1
        for start in range(0, len(feeds), size):
            chunk = list(feeds[start : start + size])
            ranked = (
                f"SELECT e.id, ROW_NUMBER() OVER (PARTITION BY e.feed, e.group_name "
                f"ORDER BY e.activity_key DESC) AS rn FROM {GENTRY} e WHERE e.feed IN ({sql.placeholders(chunk)})"
            )
            cursor.execute(
                f"DELETE FROM {GENTRY} WHERE id IN (SELECT id FROM ({ranked}) doomed WHERE doomed.rn > %s)",
                [*chunk, group.activities_per_group],
            )

    def _count_over(self, cursor: CursorWrapper, group: FeedGroup, feeds: Sequence[str]) -> int:
        """How many entries trimming ``feeds`` (``_trim`` then, aggregated,
        ``_cap_feeds``) would remove."""
        marks = sql.placeholders(feeds)
        limit = group.max_length
        if group.is_flat:
            if limit is None:
                return 0
            cursor.execute(
                f"SELECT COUNT(*) FROM (SELECT ROW_NUMBER() OVER (PARTITION BY e.feed ORDER BY e.activity_key DESC) "
                f"AS rn FROM {ENTRY} e WHERE e.feed IN ({marks})) ranked WHERE ranked.rn > %s",
                [*feeds, limit],
            )
            return int(cursor.fetchone()[0])
        cursor.execute(
            f"SELECT COUNT(*) FROM (SELECT ROW_NUMBER() OVER (PARTITION BY e.feed, e.group_name "
            f"ORDER BY e.activity_key DESC) AS rn, r.grn FROM {GENTRY} e JOIN (SELECT g.feed, g.name, "
            f"ROW_NUMBER() OVER (PARTITION BY g.feed ORDER BY g.latest_key DESC) AS grn FROM {GROUP} g "
            f"WHERE g.feed IN ({marks})) r ON r.feed = e.feed AND r.name = e.group_name) ranked "
            f"WHERE ranked.rn > %s OR ranked.grn > %s",
            [*feeds, group.activities_per_group, limit if limit is not None else 2**31 - 1],
        )
        return int(cursor.fetchone()[0])
