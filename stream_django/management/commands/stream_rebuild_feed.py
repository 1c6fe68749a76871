"""Recompute a timeline or aggregated feed from the feeds it follows."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from stream_django import maintenance
from stream_django.exceptions import FeedConfigException, InputException, MaintenanceUnsupported
from stream_django.management.progress import ProgressBar, plural


class Command(BaseCommand):
    help = (
        "Copy into a feed the newest activities of every feed it follows, as following them again "
        "would (for a returning user, or after repairing data), then trim it (docs/operations.md)."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("feed", help="The feed to rebuild, e.g. timeline:42.")
        parser.add_argument(
            "--copy-limit",
            type=int,
            default=None,
            help="Activities copied per followed feed (default: STREAM_ACTIVITY_COPY_LIMIT).",
        )
        parser.add_argument("--dry-run", action="store_true", help="Say what would be copied; change nothing.")

    def handle(self, *args: Any, feed: str, copy_limit: int | None, dry_run: bool, **options: Any) -> None:
        bar = ProgressBar(self.stderr, "Followed feeds", options["verbosity"])
        try:
            report = maintenance.rebuild_feed(feed, copy_limit=copy_limit, dry_run=dry_run, progress=bar)
        except (InputException, FeedConfigException, MaintenanceUnsupported, ValueError) as e:
            raise CommandError(str(e)) from None
        finally:
            bar.finish()
        follows = plural(len(report.followed), "followed feed")
        if dry_run:
            self.stdout.write(
                f"Would copy up to {report.copy_limit} activities from each of {follows} into {report.feed} "
                f"(it holds {report.length_before} now; dry run: nothing was copied)."
            )
        else:
            self.stdout.write(
                f"Rebuilt {report.feed} from {follows}: {report.length_before} -> {report.length_after} "
                f"(entries, or groups of an aggregated feed)."
            )
