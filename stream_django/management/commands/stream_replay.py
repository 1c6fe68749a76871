"""Settle the tracking writes that failed (``STREAM_ON_FAILURE = "record"``),
bringing their feeds to the objects' current state (docs/operations.md)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from stream_django.maintenance import replay_failures
from stream_django.models import FailedOperation


class Command(BaseCommand):
    help = "Settle the recorded failures of model tracking: each object's feeds are brought to its current state."

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
        if dry_run:
            for op in pending:
                self.stdout.write(f"{op.id}: {op} ({_count(op.attempts, 'attempt')}; last error: {op.error})")
            self.stdout.write(f"{_count(len(pending), 'operation')} to replay (dry run: nothing was replayed).")
            return
        report = replay_failures(pending)
        for op, error in report.failed:
            self.stderr.write(f"{op.id}: {op} failed again: {error}")
        self.stdout.write(
            f"Replayed {_count(len(report.replayed), 'operation')}; {len(report.failed)} failed and remain recorded."
        )


def _count(n: int, noun: str) -> str:
    """Return "1 operation", "2 operations"."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
