"""
Copy the follow graph and recent activities from getstream.io into a local backend.

    python manage.py stream_import_getstream --dry-run
    python manage.py stream_import_getstream --limit 200
    python manage.py stream_import_getstream --user-ids 1 2 3
    python manage.py stream_import_getstream --catch-up

The source is stream-python's client built from ``STREAM_API_KEY`` /
``STREAM_API_SECRET`` (or ``STREAM_URL``, or ``--api-key``/``--api-secret``),
whatever ``STREAM_BACKEND`` says; the destination is a local backend
(default: the database backend). See docs/getstream.md.
"""

from __future__ import annotations

import os
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from stream_django.backends import load_backend_class
from stream_django.backends.base import BaseStorageBackend
from stream_django.backends.getstream.backend import GetStreamBackend
from stream_django.conf import DATABASE_BACKEND, stream_settings
from stream_django.engine.feeds import get_group
from stream_django.exceptions import (
    FeedConfigException,
    InvalidStreamBackend,
    StreamApiException,
)
from stream_django.feed_manager import feed_manager
from stream_django.importers.getstream import (
    CATCH_UP,
    FOLLOWS,
    IMPORT,
    MAX_LISTED,
    MAX_PAGE,
    GetStreamImporter,
    ImportStats,
    Journal,
    JournalError,
    iter_ids,
)

DEFAULT_JOURNAL = "stream_import_getstream.journal"
BAR_WIDTH = 30


class Command(BaseCommand):
    help = (
        "Copy the follows and recent activities of the site's users' feeds from getstream.io "
        "into a local backend. Resumable (progress is kept in a journal file); --catch-up "
        "later copies what changed since."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--destination",
            default=DATABASE_BACKEND,
            help=f"Dotted path of the local backend to fill (default {DATABASE_BACKEND}).",
        )
        parser.add_argument("--limit", type=int, default=100, help="Newest entries to copy per feed (default 100).")
        parser.add_argument(
            "--page-size",
            type=int,
            default=MAX_PAGE,
            help=f"Entries per getstream.io request, 1-{MAX_PAGE} (default {MAX_PAGE}).",
        )
        parser.add_argument(
            "--user-ids",
            nargs="+",
            metavar="ID",
            help="Import these users' feeds (default: every user of the user model).",
        )
        parser.add_argument(
            "--user-ids-file",
            metavar="PATH",
            help="Import the users whose ids are in this file, one per line ('#' comments).",
        )
        parser.add_argument(
            "--checkpoint",
            default=DEFAULT_JOURNAL,
            metavar="PATH",
            help=f"Progress journal (default ./{DEFAULT_JOURNAL}).",
        )
        parser.add_argument("--restart", action="store_true", help="Delete the journal and start over.")
        parser.add_argument(
            "--catch-up",
            action="store_true",
            help="After a finished import: copy the follows and entries changed since.",
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="Allow --catch-up into the backend STREAM_BACKEND names (writes paused).",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Read from getstream.io and report; write nothing (no journal either).",
        )
        parser.add_argument("--api-key", help="getstream.io API key (default STREAM_API_KEY).")
        parser.add_argument("--api-secret", help="getstream.io API secret (default STREAM_API_SECRET).")
        parser.add_argument("--location", help="getstream.io region (default STREAM_LOCATION).")

    # -- inputs ------------------------------------------------------------

    def user_ids(self, options: dict[str, Any]) -> list[str]:
        """Return the ids whose feeds are imported."""
        if options["user_ids"] and options["user_ids_file"]:
            raise CommandError("give --user-ids or --user-ids-file, not both")
        if options["user_ids"]:
            return [str(i) for i in options["user_ids"]]
        if options["user_ids_file"]:
            try:
                with open(options["user_ids_file"], encoding="utf-8") as f:
                    return list(iter_ids(f))
            except OSError as e:
                raise CommandError(f"cannot read --user-ids-file: {e}") from e
        users = get_user_model()._default_manager.order_by("pk").values_list("pk", flat=True)
        return [str(pk) for pk in users.iterator()]

    @staticmethod
    def feeds_of(user_ids: list[str]) -> list[str]:
        """The feeds feed_manager gives each user: user, news and notification feeds."""
        slugs = [feed_manager.user_feed, *feed_manager.news_feeds.values(), feed_manager.notification_feed]
        try:
            for slug in slugs:
                get_group(slug)
        except FeedConfigException as e:
            raise CommandError(f"{e}; describe your getstream.io feed groups in STREAM_FEEDS first") from None
        return [f"{slug}:{user_id}" for user_id in user_ids for slug in dict.fromkeys(slugs)]

    @staticmethod
    def destination(path: str) -> BaseStorageBackend:
        """Return a new instance of the local backend at ``path``."""
        try:
            cls = load_backend_class(path)
        except InvalidStreamBackend as e:
            raise CommandError(f"--destination: {e}") from e
        if not issubclass(cls, BaseStorageBackend):
            raise CommandError(f"--destination {path!r} is not a local backend (a BaseStorageBackend subclass)")
        options = stream_settings.BACKEND_OPTIONS if path == stream_settings.BACKEND else {}
        return cls(dict(options or {}))

    @staticmethod
    def source(options: dict[str, Any]) -> Any:
        """Return stream-python's client for the hosted app to read."""
        creds = GetStreamBackend.credentials()
        if options["api_key"] or options["api_secret"]:
            if not (options["api_key"] and options["api_secret"]):
                raise CommandError("give both --api-key and --api-secret")
            creds.update(api_key=options["api_key"], api_secret=options["api_secret"])
        if options["location"]:
            creds["location"] = options["location"]
        try:
            return GetStreamBackend.build_client(creds)
        except InvalidStreamBackend as e:
            raise CommandError(
                f"cannot read from getstream.io: {e}. Set STREAM_API_KEY and STREAM_API_SECRET "
                "(or STREAM_URL, or pass --api-key and --api-secret)."
            ) from e

    # -- output ------------------------------------------------------------

    def progress(self, phase: str, done: int, total: int, feed: str) -> None:
        """Draw the bar: redrawn in place on a terminal, else a line per percent."""
        percent = 100 * done // total if total else 100
        tty = self.stdout.isatty()
        if not tty and done != total and percent == self._last_percent.get(phase):
            return
        self._last_percent[phase] = percent
        filled = BAR_WIDTH * done // total if total else BAR_WIDTH
        stats = self._importer.stats if self._importer is not None else None
        counts = f"  {stats.activities_read} entries" if stats is not None and phase != FOLLOWS else ""
        line = f"{phase:<13} [{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {done}/{total} feeds{counts}  {feed}"
        if tty:
            self.stdout.write(f"\r{line[:110]:<110}", ending="\n" if done == total else "")
        else:
            self.stdout.write(line)
        self.stdout.flush()

    def report(self, journal: Journal, stats: ImportStats, dry_run: bool) -> None:
        """Print the totals of the journal's current round."""
        verb = "would be written" if dry_run else "written"
        mode = journal.round["mode"] if journal.round else IMPORT
        removed = f", {stats.follows_removed} removed" if mode == CATCH_UP else ""
        self.stdout.write(
            f"{'Catch-up' if mode == CATCH_UP else 'Import'} totals:\n"
            f"Feeds: {len(journal.feeds)} site feeds, {len(journal.followed)} other followed feeds\n"
            f"Follows: {stats.follows} {verb}{removed}, {stats.follows_rejected} not copied\n"
            f"Activities: {stats.activities_read} read, {stats.activities_written} {verb}, "
            f"{stats.fanout_copies} fan-out copies (recreated by fan-out), "
            f"{stats.direct_copies} copies {verb} directly, {stats.rejected} rejected\n"
            f"Notification groups marked: {stats.groups_seen} seen, {stats.groups_read} read\n"
            f"Id mismatches: {stats.id_mismatches}; without foreign_id (hosted id kept): "
            f"{stats.without_foreign_id}"
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
        if len(stats.problems) >= MAX_LISTED:
            self.stderr.write(f"  (only the first {MAX_LISTED} problems are listed)")

    # -- command -----------------------------------------------------------

    def handle(self, *args: Any, **options: Any) -> None:
        self._importer: GetStreamImporter | None = None
        self._last_percent: dict[str, int] = {}
        dry_run, catch_up, restart, limit = (
            options["dry_run"],
            options["catch_up"],
            options["restart"],
            options["limit"],
        )
        if limit < 0:
            raise CommandError(f"--limit must be 0 or more, got {limit}")
        if not 1 <= options["page_size"] <= MAX_PAGE:
            raise CommandError(f"--page-size must be from 1 to {MAX_PAGE}, got {options['page_size']}")
        if restart and catch_up:
            raise CommandError("--restart starts a full import; it cannot be combined with --catch-up")
        if catch_up and not options["force"] and stream_settings.backend_path == options["destination"]:
            raise CommandError(
                f"STREAM_BACKEND is already {options['destination']}: a catch-up would remove the follows "
                "made there since the switch (they are not on getstream.io). Run it before switching, "
                "or pass --force if the site's writes are paused."
            )
        destination = self.destination(options["destination"])
        source = self.source(options)
        feeds = self.feeds_of(self.user_ids(options))
        path = options["checkpoint"]
        signature = {"api_key": source.api_key, "destination": options["destination"]}

        if restart and not dry_run and os.path.exists(path):
            os.unlink(path)
        journal = Journal(path, signature, read_only=dry_run)
        if not restart and (catch_up or not dry_run):
            try:
                journal.load()
            except JournalError as e:
                raise CommandError(f"{e}; pass --restart to start over, or another --checkpoint") from e
        if not self.start(journal, feeds, limit, catch_up, dry_run):
            return
        if dry_run:
            self.stdout.write("Dry run: nothing will be written.")

        self._importer = importer = GetStreamImporter(
            source,
            destination,
            journal,
            page_size=options["page_size"],
            copy_limit=stream_settings.ACTIVITY_COPY_LIMIT,
            dry_run=dry_run,
            progress=self.progress,
        )
        try:
            stats = importer.run()
        except StreamApiException as e:
            where = "" if dry_run else (f" Progress is saved in {path}: run the same command again to resume.")
            raise CommandError(f"import interrupted: {type(e).__name__}: {e}.{where}") from e
        finally:
            destination.close()
        self.report(journal, stats, dry_run)

    def start(self, journal: Journal, feeds: list[str], limit: int, catch_up: bool, dry_run: bool) -> bool:
        """Begin or resume the journal's round; return ``False`` if there is nothing to do."""
        path = journal.path
        current = journal.round
        if current is not None and not journal.finished:
            if current["mode"] == CATCH_UP and not catch_up:
                raise CommandError(f"{path} holds an unfinished catch-up: add --catch-up to finish it")
            if current["mode"] == IMPORT and catch_up:
                raise CommandError(f"the import in {path} is not finished: run it again without --catch-up first")
            if current["limit"] != limit:
                raise CommandError(
                    f"{path} was started with --limit {current['limit']}: resume with that limit, or pass --restart"
                )
            missing = len(set(feeds) - set(journal.feeds))
            self.stdout.write(f"Resuming the {current['mode']} recorded in {path} ({len(journal.feeds)} feeds).")
            if missing:
                self.stdout.write(f"{missing} feeds of users added since are left for a later --catch-up.")
            return True
        if catch_up:
            if current is None:
                raise CommandError(f"no finished import in {path} to catch up with: run the import first")
            journal.start_round(CATCH_UP, feeds, limit)
            return True
        if current is not None:
            self.stdout.write(
                f"The import recorded in {path} is complete; pass --catch-up to copy what changed "
                "since, or --restart to run it again."
            )
            self.report(journal, journal.stats, dry_run)
            return False
        journal.start_round(IMPORT, feeds, limit)
        return True
