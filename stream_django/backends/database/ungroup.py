"""
Taking activities out of aggregated groups: a removal (one activity, from
every feed it reached) and a purge (what one feed got from some others,
on unfollow and erasure). Both lower the counts the adds raised
(``groups.py``): ``activity_count`` by the entries removed, ``actor_count``
by the actors whose last activity in the group went; groups left empty go.

Like every writer of groups, each locks the group rows first, in
(feed, name) order, and reads what it decrements only after that.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from django.db.backends.utils import CursorWrapper

from stream_django.backends.database import sql
from stream_django.backends.database.connection import ConnectionMixin
from stream_django.backends.database.models import ActivityGroup, GroupActor, GroupEntry
from stream_django.backends.database.sql import GACTOR, GENTRY, GROUP

#: Groups changed per statement by a removal.
BATCH = 500


class UngroupMixin(ConnectionMixin):
    """Remove activities from groups, lowering their counts."""

    def _lock_groups(self, cursor: CursorWrapper, where: str, params: list[Any]) -> list[int]:
        """Lock the groups ``where`` (a condition on ``g``) selects, in
        (feed, name) order; return their ids."""
        cursor.execute(
            f"SELECT g.id FROM {GROUP} g{sql.by_feed_and_name(self.vendor)} WHERE {where} "
            f"ORDER BY g.feed, g.name{sql.row_lock(self.vendor, exclusive=True)}",
            params,
        )
        return [row[0] for row in cursor.fetchall()]

    def _remove_from_groups(self, cursor: CursorWrapper, key: str, scope: str, params: list[Any]) -> None:
        """Take ``key`` out of the counts of the groups whose entries of it
        ``scope`` (a condition on the entry ``e``) selects; the caller then
        deletes the entries."""
        holding = (
            f"EXISTS (SELECT 1 FROM {GENTRY} e WHERE e.feed = g.feed AND e.group_name = g.name "
            f"AND e.activity_key = %s AND {scope})"
        )
        locked = self._lock_groups(cursor, holding, [key, *params])
        # Every entry of an activity has the activity's actor; each group's is read from its own.
        actor = f"(SELECT e.actor FROM {GENTRY} e WHERE e.feed = {GROUP}.feed AND e.activity_key = %s)"
        for start in range(0, len(locked), BATCH):
            batch = locked[start : start + BATCH]
            marks = sql.placeholders(batch)
            cursor.execute(
                f"UPDATE {GROUP} SET activity_count = activity_count - 1, "
                f"actor_count = actor_count - CASE WHEN COALESCE((SELECT a.activity_count FROM {GACTOR} a "
                f"  WHERE a.group_id = {GROUP}.id AND a.actor = {actor}), 1) <= 1 THEN 1 ELSE 0 END, "
                f"latest_key = COALESCE((SELECT MAX(e4.activity_key) FROM {GENTRY} e4 WHERE e4.feed = {GROUP}.feed "
                f"  AND e4.group_name = {GROUP}.name AND e4.activity_key <> %s), latest_key) "
                f"WHERE id IN ({marks})",
                [key, key, *batch],
            )
            cursor.execute(
                f"UPDATE {GACTOR} SET activity_count = activity_count - 1 WHERE group_id IN ({marks}) "
                f"AND actor = (SELECT e.actor FROM {GENTRY} e, {GROUP} g WHERE g.id = {GACTOR}.group_id "
                f"AND e.feed = g.feed AND e.activity_key = %s)",
                [*batch, key],
            )
            self._drop_empty(cursor, batch, leaving=key)

    def _drop_empty(self, cursor: CursorWrapper, groups: Sequence[int], leaving: str | None = None) -> None:
        """Delete the actors left without activities among ``groups``, and
        the groups left without activities or without kept entries (but
        those of ``leaving``, about to be deleted), with their actors."""
        marks = sql.placeholders(groups)
        other = " AND e.activity_key <> %s" if leaving is not None else ""

        def empty(table: str) -> str:
            return (
                f"{table}.id IN ({marks}) AND ({table}.activity_count <= 0 OR NOT EXISTS (SELECT 1 FROM {GENTRY} e "
                f"WHERE e.feed = {table}.feed AND e.group_name = {table}.name{other}))"
            )

        params: list[Any] = [*groups, *([leaving] if leaving is not None else [])]
        cursor.execute(
            f"DELETE FROM {GACTOR} WHERE group_id IN ({marks}) AND (activity_count <= 0 OR group_id IN "
            f"(SELECT g.id FROM {GROUP} g WHERE {empty('g')}))",
            [*groups, *params],
        )
        cursor.execute(f"DELETE FROM {GROUP} WHERE {empty(GROUP)}", params)

    def _purge_groups(self, cursor: CursorWrapper, feed: str, origins: Sequence[str]) -> list[str]:
        """Delete from the aggregated ``feed`` every entry whose origin is
        one of ``origins``, lowering its groups' counts; return their keys."""
        db = self.using
        marks = sql.placeholders(origins)
        from_origins = (
            f"g.feed = %s AND EXISTS (SELECT 1 FROM {GENTRY} e WHERE e.feed = g.feed "
            f"AND e.group_name = g.name AND e.origin IN ({marks}))"
        )
        locked = self._lock_groups(cursor, from_origins, [feed, *origins])
        if not locked:
            return []
        purged = GroupEntry.objects.using(db).filter(feed=feed, origin__in=list(origins))
        rows = list(purged.values_list("activity_id", "group_name", "actor"))
        groups = {g.name: g for g in ActivityGroup.objects.using(db).filter(pk__in=locked)}
        actors = {(a.group_id, a.actor): a for a in GroupActor.objects.using(db).filter(group_id__in=locked)}
        for (name, actor), count in Counter((name, actor) for _, name, actor in rows).items():
            group = groups[name]
            group.activity_count -= count
            row = actors.get((group.pk, actor))
            if row is None or row.activity_count <= count:
                group.actor_count -= 1
            if row is not None:
                row.activity_count -= count
        purged.delete()
        ActivityGroup.objects.using(db).bulk_update(list(groups.values()), ["activity_count", "actor_count"])
        GroupActor.objects.using(db).bulk_update(list(actors.values()), ["activity_count"])
        cursor.execute(
            f"UPDATE {GROUP} SET latest_key = COALESCE((SELECT MAX(e.activity_key) FROM {GENTRY} e "
            f"WHERE e.feed = {GROUP}.feed AND e.group_name = {GROUP}.name), latest_key) "
            f"WHERE id IN ({sql.placeholders(locked)})",
            locked,
        )
        self._drop_empty(cursor, locked)
        return [key for key, _, _ in rows]
