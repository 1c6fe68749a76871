"""
Aggregated and notification feeds: their groups, kept up to date at write
time, and their reads (the contract's ``read_groups``).

A group's counts and newest key change with each activity added or
removed, by set-based statements over all the feeds written at once, so
concurrent writers to one group never lose a count.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connections
from django.db.backends.utils import CursorWrapper
from django.db.models import QuerySet

from stream_django.backends.base import Entry, Group, GroupPage, Page
from stream_django.backends.database import sql
from stream_django.backends.database.connection import ConnectionMixin, from_db, to_db
from stream_django.backends.database.models import ACTOR_LENGTH, ActivityGroup, GroupEntry
from stream_django.backends.database.sql import ACTIVITY, GENTRY, GROUP
from stream_django.engine import ids, serializer
from stream_django.engine.activities import PreparedActivity
from stream_django.engine.feeds import FeedGroup

#: The stored actor is cut to the length of its column (``GroupEntry.actor``).
ACTOR_INDEX_LENGTH = ACTOR_LENGTH


class GroupMixin(ConnectionMixin):
    """Add activities to groups, recount groups, read pages of groups."""

    # -- writes ----------------------------------------------------------

    def _add_to_groups(
        self,
        cursor: CursorWrapper,
        activity: PreparedActivity,
        name: str,
        rows: str,
        params: list[Any],
        held: tuple[str, list[Any]] = ("", []),
        *,
        cap: int,
    ) -> None:
        """Add ``activity`` to group ``name`` of each feed of ``rows`` (feed, origin).

        One upsert creates the missing groups and bumps the existing ones
        (only in feeds that do not hold the activity yet), so concurrent
        writers to one group never lose a count; then the entries, and the
        group is cut to its newest ``cap`` entries (``activities_per_group``;
        the counts keep counting what was cut). ``held`` narrows the search
        for entries already there (a condition on ``e.feed``).
        """
        key, actor = activity.key, activity.actor[:ACTOR_INDEX_LENGTH]
        created = connections[self.using].ops.adapt_datetimefield_value(to_db(activity.time))
        select = (
            f"SELECT DISTINCT r.feed, %s, %s, %s, 1, 1, %s, %s FROM ({rows}) r "
            f"WHERE NOT EXISTS (SELECT 1 FROM {GENTRY} e WHERE e.feed = r.feed AND e.activity_key = %s{held[0]})"
        )
        assignments = (
            f"activity_count = {GROUP}.activity_count + 1, "
            f"actor_count = {GROUP}.actor_count + CASE WHEN EXISTS (SELECT 1 FROM {GENTRY} e "
            f"  WHERE e.feed = {GROUP}.feed AND e.group_name = {GROUP}.name AND e.actor = %s) THEN 0 ELSE 1 END, "
            f"latest_key = CASE WHEN {GROUP}.latest_key < %s THEN %s ELSE {GROUP}.latest_key END, "
            f"is_seen = %s, is_read = %s"
        )
        cursor.execute(
            sql.upsert(
                self.vendor,
                GROUP,
                ["feed", "name", "latest_key", "created_at", "activity_count", "actor_count", "is_seen", "is_read"],
                select,
                ["feed", "name"],
                assignments,
            ),
            [name, key, created, False, False, *params, key, *held[1], actor, key, key, False, False],
        )
        cursor.execute(
            self._ignore(
                GENTRY,
                ["feed", "group_name", "activity_key", "actor", "origin"],
                f"SELECT r.feed, %s, %s, %s, r.origin FROM ({rows}) r WHERE 1 = 1",
            ),
            [name, key, actor, *params],
        )
        self._cap_group(cursor, name, f"SELECT r.feed FROM ({rows}) r", params, cap)

    def _cap_group(self, cursor: CursorWrapper, name: str, feeds: str, params: list[Any], cap: int) -> None:
        """Delete the entries of group ``name`` past its newest ``cap`` in
        each feed the query ``feeds`` names; the group's row is left alone."""
        ranked = (
            f"SELECT e.id, ROW_NUMBER() OVER (PARTITION BY e.feed ORDER BY e.activity_key DESC) AS rn "
            f"FROM {GENTRY} e WHERE e.group_name = %s AND e.feed IN ({feeds})"
        )
        cursor.execute(
            f"DELETE FROM {GENTRY} WHERE id IN (SELECT id FROM ({ranked}) doomed WHERE doomed.rn > %s)",
            [name, *params, cap],
        )

    def _add_many_to_feed(self, feed: str, group: FeedGroup, items: Sequence[tuple[str, str, str | None]]) -> None:
        """Add ``(key, json, origin)`` items to one aggregated feed, merging in Python."""
        if not items:
            return
        db = self.using
        named = []
        for key, text, origin in items:
            decoded = serializer.loads(text)
            named.append(
                (key, group.group_key(decoded), str(decoded.get("actor", ""))[:ACTOR_INDEX_LENGTH], origin, decoded)
            )
        existing = set(
            GroupEntry.objects.using(db)
            .filter(feed=feed, activity_id__in=[n[0] for n in named])
            .values_list("activity_id", flat=True)
        )
        named = [n for n in named if n[0] not in existing]
        if not named:
            return
        names = {n[1] for n in named}
        groups = {g.name: g for g in ActivityGroup.objects.using(db).filter(feed=feed, name__in=names)}
        actors: dict[str, set[str]] = {}
        for name, actor in (
            GroupEntry.objects.using(db)
            .filter(feed=feed, group_name__in=names)
            .values_list("group_name", "actor")
            .distinct()
        ):
            actors.setdefault(name, set()).add(actor)
        for key, name, actor, _origin, _decoded in named:
            g = groups.get(name)
            if g is None:
                g = groups[name] = ActivityGroup(
                    feed=feed,
                    name=name,
                    latest_key=key,
                    created_at=to_db(ids.key_time(key)),
                    activity_count=0,
                    actor_count=0,
                )
            g.activity_count += 1
            g.latest_key = max(g.latest_key, key)
            g.is_seen = g.is_read = False
            seen = actors.setdefault(name, set())
            if actor not in seen:
                seen.add(actor)
                g.actor_count += 1
        ActivityGroup.objects.using(db).bulk_create([g for g in groups.values() if g.pk is None])
        ActivityGroup.objects.using(db).bulk_update(
            [g for g in groups.values() if g.pk is not None],
            ["activity_count", "actor_count", "latest_key", "is_seen", "is_read"],
        )
        GroupEntry.objects.using(db).bulk_create(
            [GroupEntry(feed=feed, group_name=n[1], activity_id=n[0], actor=n[2], origin=n[3]) for n in named],
            ignore_conflicts=True,
        )
        with connections[db].cursor() as cursor:
            for name in sorted(names):
                self._cap_group(cursor, name, "%s", [feed], group.activities_per_group)

    def _recount_groups(self, cursor: CursorWrapper, feed: str) -> None:
        where = f"e.feed = {GROUP}.feed AND e.group_name = {GROUP}.name"
        cursor.execute(
            f"UPDATE {GROUP} SET "
            f"activity_count = (SELECT COUNT(*) FROM {GENTRY} e WHERE {where}), "
            f"actor_count = (SELECT COUNT(DISTINCT e.actor) FROM {GENTRY} e WHERE {where}), "
            f"latest_key = COALESCE((SELECT MAX(e.activity_key) FROM {GENTRY} e WHERE {where}), latest_key) "
            f"WHERE feed = %s",
            [feed],
        )
        cursor.execute(f"DELETE FROM {GROUP} WHERE feed = %s AND activity_count = 0", [feed])

    # -- reads -----------------------------------------------------------

    def read_groups(
        self,
        feed: str,
        group: FeedGroup,
        page: Page,
        mark_seen: bool | Sequence[str] = False,
        mark_read: bool | Sequence[str] = False,
    ) -> GroupPage:
        db = self.using
        with self._guard():
            groups: list[ActivityGroup] = []
            if page.limit:
                qs = self._cursor_filter(ActivityGroup.objects.using(db).filter(feed=feed), "latest_key", page)
                groups = list(qs.order_by("-latest_key")[page.offset : page.offset + page.limit])
            activities = self._group_activities(feed, [g.name for g in groups], group.activities_per_group)
            unseen = unread = 0
            if group.is_notification:
                with connections[db].cursor() as cursor:
                    cursor.execute(
                        f"SELECT (SELECT COUNT(*) FROM {GROUP} WHERE feed = %s AND is_seen = %s), "
                        f"(SELECT COUNT(*) FROM {GROUP} WHERE feed = %s AND is_read = %s)",
                        [feed, False, feed, False],
                    )
                    unseen, unread = (int(v or 0) for v in cursor.fetchone())
                self._mark(feed, "is_seen", mark_seen)
                self._mark(feed, "is_read", mark_read)
        return GroupPage(
            groups=[
                Group(
                    name=g.name,
                    latest_key=g.latest_key,
                    created_at=from_db(g.created_at),
                    updated_at=ids.key_time(g.latest_key),
                    activity_count=g.activity_count,
                    actor_count=g.actor_count,
                    activities=activities.get(g.name, []),
                    is_seen=g.is_seen,
                    is_read=g.is_read,
                )
                for g in groups
            ],
            unseen=unseen,
            unread=unread,
        )

    def _group_activities(self, feed: str, names: Sequence[str], per_group: int) -> dict[str, list[Entry]]:
        """The newest ``per_group`` activities of each group, in one query."""
        if not names:
            return {}
        if self.vendor == "postgresql":
            # One plan for every group: planning the UNION ALL of 25
            # subqueries below took longer than running it.
            query = (
                f"SELECT g.name, x.activity_key, x.origin, x.data FROM (VALUES {', '.join(['(%s)'] * len(names))}) "
                f"AS g (name) CROSS JOIN LATERAL (SELECT e.activity_key, e.origin, a.data FROM {GENTRY} e "
                f"JOIN {ACTIVITY} a ON a.key = e.activity_key WHERE e.feed = %s AND e.group_name = g.name "
                f"ORDER BY e.activity_key DESC LIMIT %s) x"
            )
            return self._collect_groups(query, [*names, feed, per_group])
        parts, params = [], []
        for i, name in enumerate(names):
            parts.append(
                f"SELECT * FROM (SELECT e.group_name, e.activity_key, e.origin, a.data FROM {GENTRY} e "
                f"JOIN {ACTIVITY} a ON a.key = e.activity_key WHERE e.feed = %s AND e.group_name = %s "
                f"ORDER BY e.activity_key DESC LIMIT %s) g{i}"
            )
            params += [feed, name, per_group]
        return self._collect_groups(" UNION ALL ".join(parts), params)

    def _collect_groups(self, query: str, params: list[Any]) -> dict[str, list[Entry]]:
        result: dict[str, list[Entry]] = {}
        with connections[self.using].cursor() as cursor:
            cursor.execute(query, params)
            for name, key, origin, data in cursor.fetchall():
                result.setdefault(name, []).append(Entry(key, data, origin))
        for entries in result.values():
            entries.sort(key=lambda e: e.key, reverse=True)
        return result

    def _mark(self, feed: str, field: str, which: bool | Sequence[str]) -> None:
        if not which:
            return
        qs = ActivityGroup.objects.using(self.using).filter(feed=feed, **{field: False})
        if which is not True:
            qs = qs.filter(name__in=list(which))
        qs.update(**{field: True})

    @staticmethod
    def _cursor_filter(qs: QuerySet[ActivityGroup], field: str, page: Page) -> QuerySet[ActivityGroup]:
        for op in ("lt", "lte", "gt", "gte"):
            value = getattr(page, op)
            if value is not None:
                qs = qs.filter(**{f"{field}__{op}": value})
        return qs
