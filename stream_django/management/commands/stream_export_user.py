"""Print what the feeds hold about a user, as JSON (GDPR access requests)."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from stream_django import maintenance
from stream_django.exceptions import InputException, MaintenanceUnsupported
from stream_django.management.progress import ProgressBar, plural


class Command(BaseCommand):
    help = (
        "Print as JSON the user's activities, the feeds they follow and that follow them, "
        "and their notification state (docs/operations.md)."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("user_id", help="The user's id, as in their feed ids (user:<id>).")
        parser.add_argument("--actor", default=None, help="The actor reference (default: <user model label>:<id>).")
        parser.add_argument("--dry-run", action="store_true", help="Count what would be exported; print no data.")

    def handle(self, *args: Any, user_id: str, actor: str | None, dry_run: bool, **options: Any) -> None:
        bar = ProgressBar(self.stderr, "Activities scanned", options["verbosity"])
        try:
            data = maintenance.export_user(user_id, actor=actor, progress=bar)
        except (InputException, MaintenanceUnsupported) as e:
            raise CommandError(str(e)) from None
        finally:
            bar.finish()
        if dry_run:
            follows = sum(len(v) for v in data["following"].values())
            followers = sum(len(v) for v in data["followers"].values())
            self.stdout.write(
                f"Would export {plural(len(data['activities']), 'activity', 'activities')} by {data['actor']}, "
                f"{plural(follows, 'followed feed')}, {plural(followers, 'follower')} and "
                f"{plural(len(data['notifications']), 'notification feed')} (dry run: nothing printed)."
            )
            return
        self.stdout.write(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False))
