"""
Writes of activities (the contract's "writes", and the ``*_direct`` twins
that the chunked fan-out uses to write only the direct feeds).

An activity is stored once (``_store``) and referenced by each feed entry.
Adding writes the direct feeds (the feed and the activity's ``to`` feeds)
and, unless direct, fans out (``fanout.py``); removing deletes the entries
in the direct feeds and in every feed they reached, group counts first.
Removals lock the activity rows exclusively until commit, so a fan-out
chunk of the same activity (which takes a shared lock) never interleaves.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connections
from django.db.backends.utils import CursorWrapper

from stream_django.backends.database import sql
from stream_django.backends.database.connection import retry_on_deadlock
from stream_django.backends.database.fanout import FanOutMixin
from stream_django.backends.database.models import FeedEntry, GroupEntry, StoredActivity
from stream_django.backends.database.orphans import OrphanMixin
from stream_django.backends.database.reads import ReadMixin
from stream_django.backends.database.sql import ACTIVITY, ENTRY, GENTRY
from stream_django.backends.database.ungroup import UngroupMixin
from stream_django.engine import serializer
from stream_django.engine.activities import PreparedActivity
from stream_django.engine.plan import FeedLayout, WritePlan


class WriteMixin(FanOutMixin, UngroupMixin, ReadMixin, OrphanMixin):
    """Add, retarget, replace and remove activities."""

    # -- adding ----------------------------------------------------------

    @retry_on_deadlock
    def add_activities(self, feed: str, plan: WritePlan) -> None:
        self._add(feed, plan, fan_out=True)

    @retry_on_deadlock
    def add_direct(self, feed: str, plan: WritePlan) -> None:
        self._add(feed, plan, fan_out=False)

    def _add(self, feed: str, plan: WritePlan, *, fan_out: bool) -> None:
        with self._write() as cursor:
            sources = [f for a in plan.activities for f in plan.direct_feeds(feed, a)]
            self._lock_feeds(cursor, plan.layout.flat(sources), exclusive=False)
            new = self._store(plan.activities)
            for activity in plan.activities:
                direct = plan.direct_feeds(feed, activity)
                self._insert_direct(cursor, plan, activity, direct)
                if fan_out:
                    self._fan_out(cursor, plan, activity, direct, new_key=activity.key in new)
                new.discard(activity.key)  # written now: a repeat in the batch is not new

    @retry_on_deadlock
    def add_to_many(self, plan: WritePlan, feeds: Sequence[str]) -> None:
        with self._write() as cursor:
            self._store(plan.activities)
            for activity in plan.activities:
                self._insert_direct(cursor, plan, activity, feeds)

    @retry_on_deadlock
    def change_targets(self, plan: WritePlan, added: Sequence[str], removed: Sequence[str]) -> None:
        (activity,) = plan.activities
        with self._write() as cursor:
            self._lock_feeds(cursor, plan.layout.flat([*added, *removed]), exclusive=False)
            self._store([activity])
            if removed:
                self._delete_key(cursor, activity.key, list(removed), list(removed))
            if added:
                self._insert_direct(cursor, plan, activity, added)
                self._fan_out(cursor, plan, activity, added)

    @retry_on_deadlock
    def change_targets_direct(self, plan: WritePlan, added: Sequence[str], removed: Sequence[str]) -> None:
        (activity,) = plan.activities
        with self._write() as cursor:
            self._lock_feeds(cursor, plan.layout.flat([*added, *removed]), exclusive=False)
            self._store([activity])
            if removed:
                self._delete_key(cursor, activity.key, list(removed), [])
            if added:
                self._insert_direct(cursor, plan, activity, added)

    @retry_on_deadlock
    def replace_activities(self, activities: Sequence[PreparedActivity]) -> list[str]:
        with self._write():
            latest = {a.key: a for a in activities}
            rows = list(StoredActivity.objects.using(self.using).filter(key__in=list(latest)))
            for row in rows:
                row.data = latest[row.key].json
                row.foreign_id = latest[row.key].foreign_id
            StoredActivity.objects.using(self.using).bulk_update(rows, ["data", "foreign_id"])
            return [row.key for row in rows]

    def _store(self, activities: Sequence[PreparedActivity]) -> set[str]:
        """Insert or update the activities; return the keys that were new
        (PostgreSQL only; elsewhere, none is reported new).

        A key this transaction has just inserted cannot have feed entries
        anywhere but those this transaction writes: another writer of the
        same activity waits on its row until commit, and nothing else can
        reference an activity it cannot see yet. Fan-out then inserts
        without ``ON CONFLICT`` (see ``_fan_out``).
        """
        latest = {a.key: a for a in activities}
        if self.vendor == "postgresql":
            with connections[self.using].cursor() as cursor:
                cursor.execute(
                    f"INSERT INTO {ACTIVITY} (key, foreign_id, data) VALUES "
                    f"{', '.join(['(%s, %s, %s)'] * len(latest))} "
                    f"ON CONFLICT (key) DO UPDATE SET data = EXCLUDED.data, foreign_id = EXCLUDED.foreign_id "
                    f"RETURNING key, xmax = 0",
                    [value for a in latest.values() for value in (a.key, a.foreign_id, a.json)],
                )
                return {key for key, inserted in cursor.fetchall() if inserted}
        conn = connections[self.using]
        kwargs: dict[str, Any] = {"update_conflicts": True, "update_fields": ["data", "foreign_id"]}
        if conn.features.supports_update_conflicts_with_target:
            kwargs["unique_fields"] = ["key"]
        StoredActivity.objects.using(self.using).bulk_create(
            [StoredActivity(key=a.key, foreign_id=a.foreign_id, data=a.json) for a in latest.values()],
            **kwargs,
        )
        return set()

    def _insert_direct(
        self, cursor: CursorWrapper, plan: WritePlan, activity: PreparedActivity, feeds: Sequence[str]
    ) -> None:
        """Write ``activity`` into ``feeds`` with origin None."""
        layout = plan.layout
        flat = [f for f in feeds if layout.of(f).is_flat]
        if flat:
            FeedEntry.objects.using(self.using).bulk_create(
                [FeedEntry(feed=f, activity_id=activity.key, origin=None) for f in flat],
                ignore_conflicts=True,
            )
            self._maybe_trim(cursor, flat, layout)
        for f in sorted(feeds):  # groups are locked in feed order
            group = layout.of(f)
            if group.is_aggregated:
                self._add_to_groups(
                    cursor,
                    activity,
                    plan.group_name(group, activity),
                    "SELECT %s AS feed, NULL AS origin",
                    [f],
                    cap=group.activities_per_group,
                )
                self._maybe_trim(cursor, [f], layout)

    # -- removing --------------------------------------------------------

    @retry_on_deadlock
    def remove_activities(self, feed: str, keys: Sequence[str], layout: FeedLayout) -> None:
        with self._write() as cursor:
            self._lock_scope(cursor, feed, keys, layout)
            rows, bodies = self._held(cursor, feed, keys, layout)
            for key, origin in rows.items():
                if origin is None:
                    scope = [feed, *serializer.loads(bodies[key]).get("to", [])]
                    self._delete_key(cursor, key, scope, scope)
                else:
                    self._delete_key(cursor, key, [feed], [])
            self._delete_orphans(cursor, list(rows), locked=True)  # by _held

    @retry_on_deadlock
    def remove_direct(self, feed: str, keys: Sequence[str], layout: FeedLayout) -> dict[str, list[str]]:
        pending: dict[str, list[str]] = {}
        with self._write() as cursor:
            self._lock_scope(cursor, feed, keys, layout)
            rows, bodies = self._held(cursor, feed, keys, layout)
            for key, origin in rows.items():
                if origin is None:
                    scope = list(dict.fromkeys([feed, *serializer.loads(bodies[key]).get("to", [])]))
                    self._delete_key(cursor, key, scope, [])
                    for source in scope:
                        if layout.of(source).is_flat:
                            pending.setdefault(source, []).append(key)
                else:
                    self._delete_key(cursor, key, [feed], [])
            self._delete_orphans(cursor, list(rows), locked=True)  # by _held
        return pending

    def _lock_scope(self, cursor: CursorWrapper, feed: str, keys: Sequence[str], layout: FeedLayout) -> None:
        """Lock (shared) the flat feeds a removal of ``keys`` from ``feed`` can
        reach entries through: ``feed`` and the activities' ``to`` feeds, so
        a follow's copy cannot bring back what the removal deletes."""
        scope = [feed]
        for text in self.get_activities(keys).values():
            scope += serializer.loads(text).get("to", [])
        self._lock_feeds(cursor, list(layout.flat(scope)), exclusive=False)

    def _held(
        self, cursor: CursorWrapper, feed: str, keys: Sequence[str], layout: FeedLayout
    ) -> tuple[dict[str, str | None], dict[str, str]]:
        """Lock ``keys``; return ``{key: origin}`` of those ``feed`` holds and
        the data of those it holds directly."""
        model = GroupEntry if layout.of(feed).is_aggregated else FeedEntry
        self._lock_activities(cursor, keys, exclusive=True)
        rows = dict(
            model.objects.using(self.using).filter(feed=feed, activity_id__in=keys).values_list("activity_id", "origin")
        )
        return rows, self.get_activities([k for k, origin in rows.items() if origin is None])

    def _lock_activities(self, cursor: CursorWrapper, keys: Sequence[str], *, exclusive: bool) -> dict[str, str]:
        """Lock the stored activities ``keys`` until commit; return ``{key: json}``
        of those that exist."""
        if not keys:
            return {}
        key = connections[self.using].ops.quote_name("key")
        cursor.execute(
            f"SELECT a.{key}, a.data FROM {ACTIVITY} a WHERE a.{key} IN ({sql.placeholders(keys)}) "
            f"ORDER BY a.{key}{sql.row_lock(self.vendor, exclusive=exclusive)}",
            list(keys),
        )
        return dict(cursor.fetchall())

    def _delete_key(self, cursor: CursorWrapper, key: str, feeds: list[str], origins: list[str]) -> None:
        """Delete ``key`` from ``feeds`` and from the feeds it reached from ``origins``."""

        def scope(alias: str) -> str:
            text = f"({alias}feed IN ({sql.placeholders(feeds)})"
            if origins:
                text += f" OR {alias}origin IN ({sql.placeholders(origins)})"
            return text + ")"

        params: list[Any] = [*feeds, *origins]
        # Groups first: counts fall, the latest key moves back, empty groups go.
        self._remove_from_groups(cursor, key, scope("e."), params)
        for table in (GENTRY, ENTRY):
            cursor.execute(
                f"DELETE FROM {table} WHERE activity_key = %s AND {scope('')}",
                [key, *params],
            )
