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
from stream_django.backends.database.connection import ConnectionMixin, from_db, retry_on_deadlock, to_db
from stream_django.backends.database.models import ACTOR_LENGTH, ActivityGroup, GroupActor, GroupEntry
from stream_django.backends.database.sql import ACTIVITY, GACTOR, GENTRY, GROUP
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
        *,
        cap: int,
    ) -> None:
        """Add ``activity`` to group ``name`` of each feed of ``rows`` (feed, origin).

        The groups are locked first (``_lock_new_groups``), so the
        statements after it see every write to them that came before, and
        the next writer of a group waits for this one. Then the feeds that
        do not hold the activity yet get their entry; each such entry
        counts the activity, and the actor when their row in the group's
        actors is new. Last, the group is cut to its newest ``cap`` entries
        (``activities_per_group``); the counts keep counting what was cut.
        """
        key, actor = activity.key, activity.actor[:ACTOR_INDEX_LENGTH]
        created = connections[self.using].ops.adapt_datetimefield_value(to_db(activity.time))
        locked = self._lock_new_groups(cursor, name, key, created, f"SELECT DISTINCT r.feed FROM ({rows}) r", params)
        bump = (
            f"activity_count = {GROUP}.activity_count + 1, "
            f"actor_count = {GROUP}.actor_count + CASE WHEN EXISTS (SELECT 1 FROM {GACTOR} a "
            f"  WHERE a.group_id = {GROUP}.id AND a.actor = %s AND a.activity_count > 0) THEN 0 ELSE 1 END, "
            f"latest_key = CASE WHEN {GROUP}.latest_key < %s THEN %s ELSE {GROUP}.latest_key END, "
            f"is_seen = %s, is_read = %s"
        )
        bump_params: list[Any] = [actor, key, key, False, False]
        if self.vendor == "postgresql":
            # One statement: the entries that are new drive both counts.
            cursor.execute(
                f"WITH fresh AS (INSERT INTO {GENTRY} (feed, group_name, activity_key, actor, origin) "
                f"SELECT r.feed, %s, %s, %s, r.origin FROM ({rows}) r ORDER BY r.feed "
                f"ON CONFLICT DO NOTHING RETURNING feed), "
                f"bumped AS (UPDATE {GROUP} SET {bump} FROM fresh "
                f"WHERE {GROUP}.feed = fresh.feed AND {GROUP}.name = %s RETURNING {GROUP}.id) "
                f"INSERT INTO {GACTOR} (group_id, actor, activity_count) SELECT id, %s, 1 FROM bumped "
                f"ON CONFLICT (group_id, actor) DO UPDATE SET activity_count = {GACTOR}.activity_count + 1",
                [name, key, actor, *params, *bump_params, name, actor],
            )
            bumped = cursor.rowcount
        else:
            targets = f"name = %s AND feed IN (SELECT r.feed FROM ({rows}) r)"
            new = f"NOT EXISTS (SELECT 1 FROM {GENTRY} e WHERE e.feed = {GROUP}.feed AND e.activity_key = %s)"
            cursor.execute(f"UPDATE {GROUP} SET {bump} WHERE {targets} AND {new}", [*bump_params, name, *params, key])
            bumped = cursor.rowcount
            cursor.execute(
                sql.upsert(
                    self.vendor,
                    GACTOR,
                    ["group_id", "actor", "activity_count"],
                    f"SELECT {GROUP}.id, %s, 1 FROM {GROUP} WHERE {targets} AND {new} ORDER BY {GROUP}.id",
                    ["group_id", "actor"],
                    f"activity_count = {GACTOR}.activity_count + 1",
                ),
                [actor, name, *params, key],
            )
            cursor.execute(
                self._ignore(
                    GENTRY,
                    ["feed", "group_name", "activity_key", "actor", "origin"],
                    f"SELECT r.feed, %s, %s, %s, r.origin FROM ({rows}) r WHERE 1 = 1",
                ),
                [name, key, actor, *params],
            )
        if bumped < locked:  # a group made for an activity the feed held already
            cursor.execute(
                f"DELETE FROM {GROUP} WHERE name = %s AND activity_count = 0 AND feed IN (SELECT r.feed FROM ({rows}) r)",
                [name, *params],
            )
        self._cap_group(cursor, name, f"SELECT r.feed FROM ({rows}) r", params, cap)

    def _lock_new_groups(
        self, cursor: CursorWrapper, name: str, key: str, created: Any, feeds: str, params: list[Any]
    ) -> int:
        """Make the missing groups ``name`` (empty) of the feeds ``feeds``
        selects, and lock them and the existing ones until commit, in feed
        order; return how many.

        One upsert whose assignment changes nothing but takes the row lock
        (on PostgreSQL only for the groups missing when it started: it locks
        the others with ``FOR UPDATE``). Every write to a group's counts,
        entries or actors locks its row first, in (feed, name) order
        (docs/database.md, "Locks").
        """
        columns = ["feed", "name", "latest_key", "created_at", "activity_count", "actor_count", "is_seen", "is_read"]
        values = [name, key, created, False, False, *params]
        noop = f"activity_count = {GROUP}.activity_count"
        select = f"SELECT x.feed, %s, %s, %s, 0, 0, %s, %s FROM ({feeds}) x WHERE 1 = 1 ORDER BY x.feed"
        if self.vendor != "postgresql":
            cursor.execute(sql.upsert(self.vendor, GROUP, columns, select, ["feed", "name"], noop), values)
            return int(cursor.rowcount)
        # PostgreSQL: the existing groups are locked (cheaper than updating
        # them: no new row version) and the missing ones made (or, made by
        # another writer since, upserted). A group deleted meanwhile is
        # neither: then the plain upsert runs too.
        missing = (
            f"SELECT x.feed, %s, %s, %s, 0, 0, %s, %s FROM ({feeds}) x WHERE NOT EXISTS "
            f"(SELECT 1 FROM {GROUP} g WHERE g.feed = x.feed AND g.name = %s) ORDER BY x.feed"
        )
        cursor.execute(
            f"WITH locked AS (SELECT feed FROM {GROUP} WHERE name = %s AND feed IN ({feeds}) ORDER BY feed FOR UPDATE), "
            f"made AS ({sql.upsert(self.vendor, GROUP, columns, missing, ['feed', 'name'], noop)} RETURNING 1) "
            f"SELECT (SELECT COUNT(*) FROM locked) + (SELECT COUNT(*) FROM made), (SELECT COUNT(*) FROM ({feeds}) y)",
            [name, *params, *values, name, *params],
        )
        locked, wanted = cursor.fetchone()
        if locked == wanted:
            return int(locked)
        cursor.execute(sql.upsert(self.vendor, GROUP, columns, select, ["feed", "name"], noop), values)
        return int(cursor.rowcount)

    def _cap_group(self, cursor: CursorWrapper, name: str, feeds: str, params: list[Any], cap: int) -> None:
        """Delete the entries of group ``name`` past its newest ``cap`` in
        each feed the query ``feeds`` names; the group's row is left alone."""
        ranked = (
            f"SELECT e.id, ROW_NUMBER() OVER (PARTITION BY e.feed ORDER BY e.activity_key DESC) AS rn "
            f"FROM {GENTRY} e WHERE e.group_name = %s AND e.feed IN ({feeds})"
        )
        doomed = f"SELECT id FROM ({ranked}) doomed WHERE doomed.rn > %s"
        if self.vendor != "mysql":
            cursor.execute(f"DELETE FROM {GENTRY} WHERE id IN ({doomed})", [name, *params, cap])
            return
        # MySQL/MariaDB would lock every row such a DELETE scans, in primary
        # key order (other groups' too); the group's row lock, taken first,
        # already keeps its entries still: read the ids, delete those.
        cursor.execute(doomed, [name, *params, cap])
        ids = [row[0] for row in cursor.fetchall()]
        if ids:
            cursor.execute(f"DELETE FROM {GENTRY} WHERE id IN ({sql.placeholders(ids)})", ids)

    def _add_many_to_feed(self, feed: str, group: FeedGroup, items: Sequence[tuple[str, str, str | None]]) -> None:
        """Add ``(key, json, origin)`` items to one aggregated feed, merging in Python.

        The groups are made and locked first, in name order; what is read
        after that is what every earlier writer of those groups left.
        """
        if not items:
            return
        db = self.using
        named: dict[str, tuple[str, str, str | None]] = {}
        for key, text, origin in items:
            decoded = serializer.loads(text)
            named[key] = (group.group_key(decoded), str(decoded.get("actor", ""))[:ACTOR_INDEX_LENGTH], origin)
        first: dict[str, str] = {}
        for key, (name, _actor, _origin) in sorted(named.items()):
            first.setdefault(name, key)
        with connections[db].cursor() as cursor:
            for name in sorted(first):
                key = first[name]
                created = connections[db].ops.adapt_datetimefield_value(to_db(ids.key_time(key)))
                self._lock_new_groups(cursor, name, key, created, "SELECT %s AS feed", [feed])
        groups = {g.name: g for g in ActivityGroup.objects.using(db).filter(feed=feed, name__in=list(first))}
        held = set(
            GroupEntry.objects.using(db)
            .filter(feed=feed, activity_id__in=list(named))
            .values_list("activity_id", flat=True)
        )
        actors = {
            (a.group_id, a.actor): a
            for a in GroupActor.objects.using(db).filter(group_id__in=[g.pk for g in groups.values()])
        }
        new = [(key, *value) for key, value in sorted(named.items()) if key not in held]
        for key, name, actor, _origin in new:
            g = groups[name]
            g.activity_count += 1
            g.latest_key = max(g.latest_key, key)
            g.is_seen = g.is_read = False
            row = actors.get((g.pk, actor))
            if row is None:
                row = actors[g.pk, actor] = GroupActor(group_id=g.pk, actor=actor, activity_count=0)
            if row.activity_count <= 0:
                g.actor_count += 1
            row.activity_count += 1
        ActivityGroup.objects.using(db).bulk_update(
            list(groups.values()), ["activity_count", "actor_count", "latest_key", "is_seen", "is_read"]
        )
        GroupActor.objects.using(db).bulk_create([a for a in actors.values() if a.pk is None])
        GroupActor.objects.using(db).bulk_update([a for a in actors.values() if a.pk is not None], ["activity_count"])
        GroupEntry.objects.using(db).bulk_create(
            [
                GroupEntry(feed=feed, group_name=name, activity_id=key, actor=actor, origin=origin)
                for key, name, actor, origin in new
            ]
        )
        ActivityGroup.objects.using(db).filter(pk__in=[g.pk for g in groups.values() if not g.activity_count]).delete()
        with connections[db].cursor() as cursor:
            for name in sorted(first):
                self._cap_group(cursor, name, "%s", [feed], group.activities_per_group)

    # -- reads -----------------------------------------------------------

    def read_groups(
        self,
        feed: str,
        group: FeedGroup,
        page: Page,
        mark_seen: bool | Sequence[str] = False,
        mark_read: bool | Sequence[str] = False,
    ) -> GroupPage:
        if group.is_notification and (mark_seen or mark_read):
            return self._read_and_mark(feed, group, page, mark_seen, mark_read)
        with self._guard():
            return self._read_groups(feed, group, page)

    @retry_on_deadlock
    def _read_and_mark(
        self, feed: str, group: FeedGroup, page: Page, mark_seen: bool | Sequence[str], mark_read: bool | Sequence[str]
    ) -> GroupPage:
        """Read a page, then mark groups, in one transaction (retried whole
        when the database chose it as a deadlock victim)."""
        with self._write() as cursor:
            result = self._read_groups(feed, group, page)
            self._mark(cursor, feed, {"is_seen": mark_seen, "is_read": mark_read})
        return result

    def _read_groups(self, feed: str, group: FeedGroup, page: Page) -> GroupPage:
        db = self.using
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

    def _mark(self, cursor: CursorWrapper, feed: str, marks: dict[str, bool | Sequence[str]]) -> None:
        """Set the flags ``marks`` names (``is_seen``/``is_read``: ``True``
        for every group, or group names) of ``feed``'s groups.

        The groups are locked first, all in one statement and in name
        order, as every writer of a feed's groups locks them.
        """
        wanted: list[tuple[str, str, list[Any]]] = []
        for field, which in marks.items():
            if not which:
                continue
            condition = f"{field} = %s"
            params: list[Any] = [False]
            if not isinstance(which, bool):
                condition += f" AND name IN ({sql.placeholders(which)})"
                params += list(which)
            wanted.append((field, condition, params))
        if not wanted:
            return
        where = " OR ".join(f"({condition})" for _, condition, _ in wanted)
        cursor.execute(
            f"SELECT id FROM {GROUP}{sql.by_feed_and_name(self.vendor)} WHERE feed = %s AND ({where}) "
            f"ORDER BY feed, name{sql.row_lock(self.vendor, exclusive=True)}",
            [feed, *(p for _, _, params in wanted for p in params)],
        )
        locked = [row[0] for row in cursor.fetchall()]
        if not locked:
            return
        for field, condition, params in wanted:
            cursor.execute(
                f"UPDATE {GROUP} SET {field} = %s WHERE id IN ({sql.placeholders(locked)}) AND {condition}",
                [True, *locked, *params],
            )

    @staticmethod
    def _cursor_filter(qs: QuerySet[ActivityGroup], field: str, page: Page) -> QuerySet[ActivityGroup]:
        for op in ("lt", "lte", "gt", "gte"):
            value = getattr(page, op)
            if value is not None:
                qs = qs.filter(**{f"{field}__{op}": value})
        return qs
