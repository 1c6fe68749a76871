"""Cut every feed to its feed group's max_length and every group to its
activities_per_group now, in batches."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from stream_django import maintenance
from stream_django.exceptions import MaintenanceUnsupported
from stream_django.maintenance.feeds import BATCH
from stream_django.management.progress import ProgressBar, plural


class Command(BaseCommand):
    help = (
        "Apply each feed group's max_length and activities_per_group to the feeds already stored "
        "(writes trim as they go; run this after lowering either, or after upgrading to a version "
        "with the per-group cap), a batch of feeds at a time (docs/operations.md)."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--batch", type=int, default=BATCH, help=f"Feeds per batch (default {BATCH}).")
        parser.add_argument("--dry-run", action="store_true", help="Count the feeds and entries over the limits only.")

    def handle(self, *args: Any, batch: int, dry_run: bool, **options: Any) -> None:
        bar = ProgressBar(self.stderr, "Feeds", options["verbosity"])
        try:
            report = maintenance.trim_feeds(dry_run=dry_run, batch=batch, progress=bar)
        except (MaintenanceUnsupported, ValueError) as e:
            raise CommandError(str(e)) from None
        finally:
            bar.finish()
        over = f"{plural(report.trimmed, 'feed')} of {report.feeds} over their max_length or activities_per_group"
        if dry_run:
            self.stdout.write(
                f"Would trim {over}, removing {plural(report.entries, 'entry', 'entries')} "
                "(dry run: nothing was trimmed)."
            )
        else:
            self.stdout.write(
                f"Trimmed {over}: removed {plural(report.entries, 'entry', 'entries')}, "
                f"deleted {plural(report.orphans, 'orphaned activity', 'orphaned activities')}."
            )
