"""Erase a user from the feeds (GDPR): their activities everywhere, their feeds and follows."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from stream_django import maintenance
from stream_django.exceptions import InputException, MaintenanceUnsupported
from stream_django.management.progress import ProgressBar, plural


class Command(BaseCommand):
    help = (
        "Remove every activity whose actor is the user from every feed it reached, delete the "
        "user's feeds and their follows both ways (docs/operations.md). Safe to run again."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("user_id", help="The user's id, as in their feed ids (user:<id>).")
        parser.add_argument("--actor", default=None, help="The actor reference (default: <user model label>:<id>).")
        parser.add_argument("--dry-run", action="store_true", help="Say what would be erased; change nothing.")

    def handle(self, *args: Any, user_id: str, actor: str | None, dry_run: bool, **options: Any) -> None:
        bar = ProgressBar(self.stderr, "Activities", options["verbosity"])
        try:
            report = maintenance.erase_user(user_id, actor=actor, dry_run=dry_run, progress=bar)
        except (InputException, MaintenanceUnsupported) as e:
            raise CommandError(str(e)) from None
        finally:
            bar.finish()
        counts = (
            f"{plural(len(report.activities), 'activity', 'activities')} by {report.actor} "
            f"(held by {plural(report.copies, 'feed entry', 'feed entries')}), "
            f"{plural(report.follows, 'follow')}, {plural(report.failures, 'recorded failure')}"
        )
        if dry_run:
            self.stdout.write(f"Would erase {counts}, and the feeds {', '.join(report.feeds)}.")
            self.stdout.write("(dry run: nothing was erased)")
        else:
            self.stdout.write(
                f"Erased {counts}; deleted {plural(report.entries, 'entry', 'entries')} of the user's feeds "
                f"and the copies made from them."
            )
