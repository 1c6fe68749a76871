"""Retry the tracking writes that failed (``STREAM_ON_FAILURE = "record"``)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from stream_django.engine import serializer
from stream_django.feed_manager import feed_manager
from stream_django.models import FailedOperation


class Command(BaseCommand):
    help = "Retry the feed writes of model tracking that failed and were recorded."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--limit", type=int, default=None, help="Replay at most this many operations.")
        parser.add_argument("--dry-run", action="store_true", help="List the operations without replaying them.")

    def handle(self, *args: Any, limit: int | None = None, dry_run: bool = False, **options: Any) -> None:
        pending = FailedOperation.objects.order_by("id")
        if limit is not None:
            pending = pending[:limit]
        pending = list(pending)
        if not pending:
            self.stdout.write("Nothing to replay: no failed operation is recorded.")
            return
        done = failed = 0
        for op in pending:
            if dry_run:
                self.stdout.write(f"{op.id}: {op} ({_count(op.attempts, 'attempt')}; last error: {op.error})")
                continue
            slug, user_id = op.feed.split(":", 1)
            try:
                feed_manager.perform(op.operation, feed_manager.get_feed(slug, user_id), serializer.loads(op.payload))
            except Exception as e:  # noqa: BLE001 - every failure is recorded and reported
                failed += 1
                op.attempts += 1
                op.error = f"{type(e).__name__}: {e}"
                op.save(update_fields=["attempts", "error"])
                self.stderr.write(f"{op.id}: {op} failed again: {op.error}")
            else:
                done += 1
                op.delete()
        if dry_run:
            self.stdout.write(f"{_count(len(pending), 'operation')} to replay (dry run: nothing was replayed).")
        else:
            self.stdout.write(f"Replayed {_count(done, 'operation')}; {failed} failed and remain recorded.")


def _count(n: int, noun: str) -> str:
    """Return "1 operation", "2 operations"."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
