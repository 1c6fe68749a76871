"""
Copy the follow graph and recent activities from getstream.io into a local backend.

    python manage.py stream_import_getstream --limit 200
    python manage.py stream_import_getstream --user-ids 1 2 3 --dry-run
    python manage.py stream_import_getstream --user-ids-file ids.txt --checkpoint /var/tmp/import.json

The source is stream-python's client built from ``STREAM_API_KEY`` /
``STREAM_API_SECRET`` (or ``STREAM_URL``), whatever ``STREAM_BACKEND`` says;
the destination is a local backend (default: the database backend). See
docs/getstream.md.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from stream_django.backends import load_backend_class
from stream_django.backends.base import BaseStorageBackend
from stream_django.backends.getstream.backend import GetStreamBackend
from stream_django.backends.getstream.importer import (
    MAX_PAGE,
    Checkpoint,
    CheckpointMismatch,
    GetStreamImporter,
    ImportStats,
)
from stream_django.conf import DATABASE_BACKEND, stream_settings
from stream_django.exceptions import StreamApiException
from stream_django.feed_manager import feed_manager

DEFAULT_CHECKPOINT = "stream_import_getstream.checkpoint.json"
BAR_WIDTH = 30


class Command(BaseCommand):
    help = (
        "Copy the follows and recent activities of the site's users' feeds from getstream.io "
        "into a local backend. Resumable: progress is kept in a checkpoint file."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--destination", default=DATABASE_BACKEND,
            help=f"Dotted path of the local backend to fill (default {DATABASE_BACKEND}).",
        )
        parser.add_argument("--limit", type=int, default=100,
                            help="Newest entries to copy per feed (default 100).")
        parser.add_argument("--page-size", type=int, default=MAX_PAGE,
                            help=f"Entries per getstream.io request, 1-{MAX_PAGE} (default {MAX_PAGE}).")
        parser.add_argument("--user-ids", nargs="+", metavar="ID",
                            help="Import these users' feeds (default: every user of the user model).")
        parser.add_argument("--user-ids-file", metavar="PATH",
                            help="Import the users whose ids are in this file, one per line ('#' comments).")
        parser.add_argument("--checkpoint", default=DEFAULT_CHECKPOINT,
                            help=f"Progress file (default ./{DEFAULT_CHECKPOINT}).")
        parser.add_argument("--restart", action="store_true",
                            help="Ignore an existing checkpoint and start over.")
        parser.add_argument("--dry-run", action="store_true",
                            help="Read from getstream.io and report; write nothing (no checkpoint either).")

    # -- inputs ------------------------------------------------------------

    def user_ids(self, options: dict[str, Any]) -> list[str]:
        if options["user_ids"] and options["user_ids_file"]:
            raise CommandError("give --user-ids or --user-ids-file, not both")
        if options["user_ids"]:
            return [str(i) for i in options["user_ids"]]
        if options["user_ids_file"]:
            try:
                with open(options["user_ids_file"], encoding="utf-8") as f:
                    lines = [line.split("#", 1)[0].strip() for line in f]
            except OSError as e:
                raise CommandError(f"cannot read --user-ids-file: {e}") from e
            return [line for line in lines if line]
        return [str(pk) for pk in get_user_model()._default_manager.order_by("pk").values_list("pk", flat=True)]

    @staticmethod
    def feeds_of(user_ids: list[str]) -> list[str]:
        """The feeds feed_manager gives each user: user, news and notification feeds."""
        feeds = []
        for user_id in user_ids:
            feeds.append(feed_manager.get_user_feed(user_id).id)
            feeds.extend(feed.id for feed in feed_manager.get_news_feeds(user_id).values())
            feeds.append(feed_manager.get_notification_feed(user_id).id)
        return feeds

    @staticmethod
    def destination(path: str) -> BaseStorageBackend:
        cls = load_backend_class(path)
        if not issubclass(cls, BaseStorageBackend):
            raise CommandError(f"--destination {path!r} is not a local backend (a BaseStorageBackend subclass)")
        options = stream_settings.BACKEND_OPTIONS if stream_settings.BACKEND == path else {}
        return cls(dict(options or {}))

    @staticmethod
    def source() -> Any:
        backend = GetStreamBackend()
        errors = backend.check()
        if errors:
            raise CommandError(f"cannot read from getstream.io: {errors[0].msg} {errors[0].hint or ''}".strip())
        return backend.client

    # -- output ------------------------------------------------------------

    def progress(self, phase: str, done: int, total: int, feed: str) -> None:
        filled = BAR_WIDTH * done // total if total else BAR_WIDTH
        line = f"{phase:<10} [{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {done}/{total} feeds  {feed}"
        if self.stdout.isatty():
            self.stdout.write(f"\r{line[:100]:<100}", ending="\n" if done == total else "")
        else:
            self.stdout.write(line)
        self.stdout.flush()

    def report(self, stats: ImportStats, dry_run: bool) -> None:
        verb = "would be written" if dry_run else "written"
        self.stdout.write(
            f"Feeds: {stats.feeds} site feeds, {stats.followed_feeds} other followed feeds\n"
            f"Follows: {stats.follows} {verb}, {stats.follows_rejected} not copied\n"
            f"Activities: {stats.activities_read} read, {stats.activities_written} {verb}, "
            f"{stats.fanout_copies} fan-out copies (recreated by fan-out), {stats.rejected} rejected\n"
            f"Id mismatches: {stats.id_mismatches}"
        )
        for m in stats.mismatches:
            self.stdout.write(
                f"  id mismatch in {m.feed}: foreign_id {m.foreign_id!r} time {m.time}: "
                f"getstream.io {m.hosted_id}, local {m.local_id} (stored under the local id)"
            )
        if stats.id_mismatches > len(stats.mismatches):
            self.stdout.write(f"  ... and {stats.id_mismatches - len(stats.mismatches)} more")
        for problem in stats.problems:
            self.stderr.write(f"  {problem}")

    # -- command -----------------------------------------------------------

    def handle(self, *args: Any, **options: Any) -> None:
        dry_run = options["dry_run"]
        if options["limit"] < 0:
            raise CommandError("--limit must be 0 or more")
        if not 1 <= options["page_size"] <= MAX_PAGE:
            raise CommandError(f"--page-size must be from 1 to {MAX_PAGE}")
        destination = self.destination(options["destination"])
        source = self.source()
        feeds = self.feeds_of(self.user_ids(options))
        signature = {
            "api_key": source.api_key,
            "destination": options["destination"],
            "limit": options["limit"],
        }
        checkpoint = Checkpoint(None if dry_run else options["checkpoint"], signature)
        try:
            checkpoint.load(restart=options["restart"])
        except CheckpointMismatch as e:
            raise CommandError(f"{e}; pass --restart to start over, or another --checkpoint") from e
        if checkpoint.data["finished"]:
            self.stdout.write(f"The import recorded in {checkpoint.path} is complete; pass --restart to run it again.")
            self.report(checkpoint.stats, dry_run)
            return
        if checkpoint.resumed:
            self.stdout.write(f"Resuming from {checkpoint.path}")
        if dry_run:
            self.stdout.write("Dry run: nothing will be written.")
        importer = GetStreamImporter(
            source, destination, checkpoint,
            limit=options["limit"], page_size=options["page_size"], dry_run=dry_run, progress=self.progress,
        )
        try:
            stats = importer.run(feeds)
        except StreamApiException as e:
            where = "" if dry_run else f" Progress is saved in {checkpoint.path}: run the same command again to resume."
            raise CommandError(f"import interrupted: {type(e).__name__}: {e}.{where}") from e
        finally:
            destination.close()
        self.report(stats, dry_run)
