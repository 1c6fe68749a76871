"""
Stored activities that no feed holds any more: deleted by the writes that
leave them behind (removals, unfollows, erasure), and the maintenance sweep
``delete_orphaned_activities`` (``manage.py stream_cleanup``) for those
that trimming leaves.

The entry tables have no foreign-key constraint to the activity table
(docs/database.md, "Statistics and the COMMIT"), so these deletes and the
writers of entries order themselves by the activity rows' locks: a delete
first locks its candidates (``FOR UPDATE``), then deletes those still
unreferenced in a new statement, which sees what every writer it waited
for committed; a writer of entries for an activity it did not upsert
locks the activity row shared first (``_hold_activities``) and writes
nothing for one that is gone. SQLite lets one writer in at a time and
takes neither lock.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connections
from django.db.backends.utils import CursorWrapper

from stream_django.backends.database import sql
from stream_django.backends.database.connection import ConnectionMixin, retry_on_deadlock
from stream_django.backends.database.sql import ACTIVITY, ENTRY, GACTOR, GENTRY, GROUP

#: Keys per statement of a delete.
CHUNK = 500


def _unreferenced(table: str) -> str:
    """The condition that no feed entry references the activity row of ``table``."""
    return (
        f"NOT EXISTS (SELECT 1 FROM {ENTRY} e WHERE e.activity_key = {table}.key) "
        f"AND NOT EXISTS (SELECT 1 FROM {GENTRY} g WHERE g.activity_key = {table}.key)"
    )


class OrphanMixin(ConnectionMixin):
    """Delete the data of activities that no feed entry references."""

    supports_orphan_cleanup = True

    def _delete_orphans(self, cursor: CursorWrapper, keys: Sequence[str], *, locked: bool = False) -> None:
        """Delete the data of activities among ``keys`` that no feed holds.

        With ``locked``, the caller has held the rows of ``keys`` exclusively
        since an earlier statement, and they are not locked again.
        """
        keys = sorted(set(keys))
        if not locked and self.vendor != "sqlite":
            keys = self._lock_orphans(cursor, keys)
        self._delete_unreferenced(cursor, keys)

    def _lock_orphans(self, cursor: CursorWrapper, keys: Sequence[str] | None) -> list[str]:
        """Lock (exclusively, until commit) the activities among ``keys`` (all
        of them with ``None``) that no feed entry references in this
        statement's snapshot, in key order; return their keys.

        A writer of entries for one of them that has not committed holds its
        row (``_hold_activities``, or the upsert of ``_store``): this waits
        for it, and the delete that follows, a new statement, sees its
        entries.
        """
        key = connections[self.using].ops.quote_name("key")
        lock = sql.row_lock(self.vendor, exclusive=True)
        if keys is None:
            cursor.execute(f"SELECT a.{key} FROM {ACTIVITY} a WHERE {_unreferenced('a')} ORDER BY a.{key}{lock}")
            return [row[0] for row in cursor.fetchall()]
        locked: list[str] = []
        for start in range(0, len(keys), CHUNK):
            chunk = list(keys[start : start + CHUNK])
            cursor.execute(
                f"SELECT a.{key} FROM {ACTIVITY} a WHERE a.{key} IN ({sql.placeholders(chunk)}) "
                f"AND {_unreferenced('a')} ORDER BY a.{key}{lock}",
                chunk,
            )
            locked += [row[0] for row in cursor.fetchall()]
        return locked

    def _delete_unreferenced(self, cursor: CursorWrapper, keys: Sequence[str]) -> int:
        """Delete the activities among ``keys`` that no feed entry references; return how many."""
        deleted = 0
        for start in range(0, len(keys), CHUNK):
            chunk = list(keys[start : start + CHUNK])
            cursor.execute(
                f"DELETE FROM {ACTIVITY} WHERE {ACTIVITY}.key IN ({sql.placeholders(chunk)}) "
                f"AND {_unreferenced(ACTIVITY)}",
                chunk,
            )
            deleted += int(cursor.rowcount)
        return deleted

    def _hold_activities(self, cursor: CursorWrapper, keys: Sequence[str]) -> set[str]:
        """Lock the stored activities ``keys`` against deletion until commit,
        in one statement; return those that exist.

        A write of entries for activities it did not upsert takes this first
        and writes nothing for those that are gone: with no foreign key
        constraint, this is what keeps an orphan delete (``orphans.py``)
        from deleting an activity under entries it cannot see yet. On SQLite
        (one writer at a time) nothing runs.
        """
        if not keys or self.vendor == "sqlite":
            return set(keys)
        key = connections[self.using].ops.quote_name("key")
        cursor.execute(
            f"SELECT a.{key} FROM {ACTIVITY} a WHERE a.{key} IN ({sql.placeholders(keys)}) "
            f"ORDER BY a.{key}{sql.key_share_lock(self.vendor)}",
            list(keys),
        )
        return {row[0] for row in cursor.fetchall()}

    @retry_on_deadlock
    def delete_orphaned_activities(self) -> int:
        """Delete stored activities that no feed holds any more; return how many.

        Also deletes the actor rows of groups that trimming deleted (they
        name a group id no group has any more, so they count for nothing).
        """
        with self._write() as cursor:
            if self.vendor == "sqlite":  # one writer at a time: nothing to wait for
                cursor.execute(f"DELETE FROM {ACTIVITY} WHERE {_unreferenced(ACTIVITY)}")
                deleted = int(cursor.rowcount)
            else:
                deleted = self._delete_unreferenced(cursor, self._lock_orphans(cursor, None))
            cursor.execute(
                f"DELETE FROM {GACTOR} WHERE NOT EXISTS (SELECT 1 FROM {GROUP} g WHERE g.id = {GACTOR}.group_id)"
            )
            return deleted
