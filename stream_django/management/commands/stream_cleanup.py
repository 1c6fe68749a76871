"""Delete stored activities that no feed holds any more (database backend)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from stream_django.backends import get_backend
from stream_django.backends.base import BaseStorageBackend


class Command(BaseCommand):
    help = (
        "Delete activity data that no feed references any more (left behind by "
        "trimming). Safe to run at any time, e.g. daily from cron."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        backend = get_backend()
        if not isinstance(backend, BaseStorageBackend) or not backend.supports_orphan_cleanup:
            raise CommandError(f"the {backend.name} backend keeps no orphaned activity data; nothing to do")
        deleted = backend.delete_orphaned_activities()
        self.stdout.write(f"Deleted {deleted} orphaned {'activity' if deleted == 1 else 'activities'}.")
