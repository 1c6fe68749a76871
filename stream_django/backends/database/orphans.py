"""
Stored activities that no feed holds any more: deleted by the writes that
leave them behind (removals, unfollows), and the maintenance sweep
``delete_orphaned_activities`` (``manage.py stream_cleanup``) for those
that trimming leaves.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db.backends.utils import CursorWrapper

from stream_django.backends.database import sql
from stream_django.backends.database.connection import ConnectionMixin
from stream_django.backends.database.sql import ACTIVITY, ENTRY, GACTOR, GENTRY, GROUP


class OrphanMixin(ConnectionMixin):
    """Delete the data of activities that no feed entry references."""

    supports_orphan_cleanup = True

    def _delete_orphans(self, cursor: CursorWrapper, keys: Sequence[str]) -> None:
        """Delete the data of activities among ``keys`` that no feed holds."""
        for start in range(0, len(keys), 500):
            chunk = list(keys[start : start + 500])
            cursor.execute(
                f"DELETE FROM {ACTIVITY} WHERE {ACTIVITY}.key IN ({sql.placeholders(chunk)}) "
                f"AND NOT EXISTS (SELECT 1 FROM {ENTRY} e WHERE e.activity_key = {ACTIVITY}.key) "
                f"AND NOT EXISTS (SELECT 1 FROM {GENTRY} g WHERE g.activity_key = {ACTIVITY}.key)",
                chunk,
            )

    def delete_orphaned_activities(self) -> int:
        """Delete stored activities that no feed holds any more; return how many.

        Also deletes the actor rows of groups that trimming deleted (they
        name a group id no group has any more, so they count for nothing).
        """
        with self._write() as cursor:
            cursor.execute(
                f"DELETE FROM {ACTIVITY} WHERE NOT EXISTS (SELECT 1 FROM {ENTRY} e WHERE e.activity_key = {ACTIVITY}.key) "
                f"AND NOT EXISTS (SELECT 1 FROM {GENTRY} g WHERE g.activity_key = {ACTIVITY}.key)"
            )
            deleted = int(cursor.rowcount)
            cursor.execute(
                f"DELETE FROM {GACTOR} WHERE NOT EXISTS (SELECT 1 FROM {GROUP} g WHERE g.id = {GACTOR}.group_id)"
            )
            return deleted
