"""Rebuild the Redis backend's holder sets (``P{feed}:fl``) from the follows."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from stream_django.backends import get_backend
from stream_django.backends.base import BaseStorageBackend


class Command(BaseCommand):
    help = (
        "Redis backend: rebuild each followed feed's set of holders (its followers and the feeds that "
        "unfollowed it keeping history), which fan-out and removal read. Needed once for follows "
        "stored before that set existed; safe to run at any time."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        backend = get_backend()
        if not isinstance(backend, BaseStorageBackend) or not backend.supports_holder_rebuild:
            raise CommandError(f"the {backend.name} backend keeps no holder sets; nothing to do")
        self.stdout.write(f"Rebuilt the holders of {backend.rebuild_holders()} followed feed(s).")
