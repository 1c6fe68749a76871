"""
Copy the follow graph and the recent activities of getstream.io feeds into a
local backend (``manage.py stream_import_getstream`` drives it).

Order, and why:

1. **Follows first**, written with an activity copy limit of 0: the local
   follow graph matches the hosted one before any activity arrives, and
   following copies nothing (there is nothing to copy yet).
2. **Then the activities of every feed**, newest first, up to a limit per
   feed. An entry written directly into a feed on getstream.io (``origin``
   ``null``) is written into the same feed with the local engine's normal
   add, whose fan-out puts it into every follower's timeline with the right
   ``origin`` and into its ``to`` feeds. An entry that is a fan-out copy
   (``origin`` set) is not written where its origin is followed locally:
   that fan-out recreates it. Where it is not (the follow was removed with
   ``keep_history``, or could not be copied), it is written into that feed
   alone, without fan-out. The feeds read are the site's feeds plus every
   feed they follow, so a followed feed outside the site still fills its
   followers' timelines.
3. **Notification feeds last**, so that no later write bumps a group again:
   after each page the groups getstream.io reports as seen or read are
   marked so locally.

Every write is idempotent (a follow is stored once; an activity once per feed
by its id), so a page written but not yet recorded in the journal when the
import stopped is written again harmlessly on resume.

A *catch-up* round, run after a finished import, copies what changed since:
follows added on getstream.io (with the usual activity copy) and removed
there, and the entries newer than the newest one the previous rounds saw.

Ids: an activity with a ``foreign_id`` gets the deterministic id of its
``foreign_id`` and ``time`` (the hosted service's own algorithm), so updates
and removals by ``foreign_id`` + ``time`` keep working locally; when that id
differs from the hosted one the import reports it. An activity without a
``foreign_id`` keeps its hosted id (and is counted).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from stream_django.backends.base import BaseStorageBackend, Page
from stream_django.engine.activities import PreparedActivity, prepare_activity
from stream_django.engine.feeds import get_group, slug_of
from stream_django.engine.ids import id_to_key
from stream_django.engine.plan import FeedLayout, plan_write
from stream_django.exceptions import FeedConfigException, InputException
from stream_django.importers.journal import (
    ACTIVITIES,
    CATCH_UP,
    FOLLOWS,
    IMPORT,
    LOCAL_PAGE,
    MAX_LISTED,
    MAX_PAGE,
    NOTIFICATIONS,
    SERVER_FIELDS,
    ImportStats,
    Journal,
    JournalError,
    Mismatch,
    Progress,
)

__all__ = [
    "ACTIVITIES",
    "CATCH_UP",
    "FOLLOWS",
    "IMPORT",
    "MAX_LISTED",
    "MAX_PAGE",
    "NOTIFICATIONS",
    "GetStreamImporter",
    "ImportStats",
    "Journal",
    "JournalError",
    "Mismatch",
    "iter_ids",
]


class GetStreamImporter:
    """Copies follows and activities from stream-python's ``source`` client into ``destination``.

    Drives the current round of ``journal`` to its end: call
    ``journal.start_round()`` first, or load a journal with an unfinished
    round to resume it.
    """

    def __init__(
        self,
        source: Any,
        destination: BaseStorageBackend,
        journal: Journal,
        *,
        page_size: int = MAX_PAGE,
        copy_limit: int = 100,
        dry_run: bool = False,
        progress: Progress | None = None,
    ) -> None:
        if not isinstance(destination, BaseStorageBackend):
            raise TypeError(f"the destination must be a local storage backend, not {type(destination).__name__}")
        if journal.round is None:
            raise ValueError("the journal has no round to run: call journal.start_round() first")
        if not 1 <= page_size <= MAX_PAGE:
            raise ValueError(f"page_size must be from 1 to {MAX_PAGE}, got {page_size}")
        self.source = source
        self.destination = destination
        self.journal = journal
        self.limit: int = journal.round["limit"]
        self.catch_up = journal.round["mode"] == CATCH_UP
        self.page_size = page_size
        self.copy_limit = copy_limit
        self.dry_run = dry_run
        self.layout = FeedLayout.current()
        self.progress = progress or (lambda phase, done, total, detail: None)
        #: Follows read from getstream.io in this run (dry runs decide with them).
        self.hosted_follows: dict[str, set[str]] = {}
        self._saved = self.stats.copy()

    @property
    def stats(self) -> ImportStats:
        """The totals of the current round (held by the journal)."""
        return self.journal.stats

    # -- driver --------------------------------------------------------------

    def run(self) -> ImportStats:
        """Run the journal's current round to its end; return its totals."""
        journal = self.journal
        feeds = journal.feeds
        for index, feed in enumerate(feeds, 1):
            if feed not in journal.follows_done:
                self.import_follows(feed)
            self.progress(FOLLOWS, index, len(feeds), feed)

        origins = list(dict.fromkeys([*feeds, *journal.followed]))
        notification = [f for f in origins if get_group(slug_of(f)).is_notification]
        others = [f for f in origins if not get_group(slug_of(f)).is_notification]
        for phase, group in ((ACTIVITIES, others), (NOTIFICATIONS, notification)):
            for index, feed in enumerate(group, 1):
                if feed not in journal.done:
                    self.import_activities(feed)
                self.progress(phase, index, len(group), feed)
        self._record({"event": "finished"})
        return self.stats

    def _record(self, event: dict[str, Any]) -> None:
        """Append ``event`` to the journal with the counters changed since the last one."""
        self.journal.record(event, self.stats.delta(self._saved))
        self._saved = self.stats.copy()

    def _problem(self, message: str) -> None:
        if len(self.stats.problems) < MAX_LISTED:
            self.stats.problems.append(message)

    # -- follows -------------------------------------------------------------

    def read_following(self, feed: str) -> list[str]:
        """Return every feed ``feed`` follows on getstream.io (all pages)."""
        slug, user_id = feed.split(":", 1)
        source_feed = self.source.feed(slug, user_id)
        targets: list[str] = []
        offset = 0
        while True:
            page = source_feed.following(offset=offset, limit=self.page_size)["results"]
            targets.extend(item["target_id"] for item in page)
            if len(page) < self.page_size:
                return list(dict.fromkeys(targets))
            offset += len(page)

    def local_following(self, feed: str, among: Sequence[str] | None = None) -> set[str]:
        """Return the feeds ``feed`` follows in the destination (of ``among``, if given)."""
        targets: set[str] = set()
        offset = 0
        size = LOCAL_PAGE if among is None else max(1, len(among))
        while True:
            page = self.destination.following(feed, offset, size, among)
            targets.update(f.target for f in page)
            if len(page) < size:
                return targets
            offset += len(page)

    def import_follows(self, feed: str) -> None:
        """Copy the follows of ``feed``; in a catch-up, also remove those gone."""
        targets = self.read_following(feed)
        accepted = []
        for target in targets:
            try:
                get_group(slug_of(feed))
                if not get_group(slug_of(target)).is_flat:
                    raise FeedConfigException(f"{target} is not a flat feed group here")
            except (FeedConfigException, InputException) as e:
                self.stats.follows_rejected += 1
                self._problem(f"follow {feed} -> {target} not copied: {e}")
                continue
            accepted.append(target)
        if self.dry_run:
            self.hosted_follows[feed] = set(accepted)
        new, gone = accepted, []
        if self.catch_up:
            local = self.local_following(feed)
            new = [t for t in accepted if t not in local]
            gone = sorted(local - set(accepted))
        if not self.dry_run:
            if new:
                # A catch-up follows feeds whose activities are already here:
                # copy them, as getstream.io did when the follow was made.
                self.destination.follow_many(
                    [(feed, t) for t in new], self.copy_limit if self.catch_up else 0, self.layout
                )
            if gone:
                self.destination.unfollow_many([(feed, t, False) for t in gone], self.layout)
        self.stats.follows += len(new)
        self.stats.follows_removed += len(gone)
        site = set(self.journal.feeds)
        self._record({"event": "follows", "feed": feed, "extra": [t for t in accepted if t not in site]})

    def followed_here(self, feed: str, origins: Sequence[str]) -> set[str]:
        """Return which of ``origins`` ``feed`` follows where the import writes."""
        if self.dry_run:
            return self.hosted_follows.get(feed, set()) & set(origins)
        return self.local_following(feed, list(origins))

    # -- activities ------------------------------------------------------------

    def import_activities(self, feed: str) -> None:
        """Copy up to ``limit`` newest entries of ``feed``, resuming where the journal says."""
        slug, user_id = feed.split(":", 1)
        source_feed = self.source.feed(slug, user_id)
        group = get_group(slug)
        cursor, read = self.journal.cursors.get(feed, (None, 0))
        since = self.journal.newest.get(feed) if self.catch_up else None
        # A notification group marked seen or read gets no new id: read a
        # notification feed from its newest group down to the first one
        # already copied, so that the marks of that page are carried too.
        stop_at = _sort_key(since) if since and group.is_notification else None
        if stop_at is not None:
            since = None
        while True:
            if read >= self.limit:
                self._record({"event": "page", "feed": feed, "cursor": cursor, "read": read, "done": True})
                return
            size = min(self.page_size, self.limit - read)
            params: dict[str, Any] = {"limit": size}
            if cursor:
                params["id_lt"] = cursor
            if since:
                params["id_gt"] = since
            response = source_feed.get(**params)
            results = response.get("results") or []
            fresh = [r for r in results if stop_at is None or _sort_key(r["id"]) > stop_at]
            self.stats.activities_read += len(self._activities(results)) - len(self._activities(fresh))
            self._write_page(feed, self._activities(fresh))
            if group.is_notification:
                self._mark(feed, results)
            event: dict[str, Any] = {"event": "page", "feed": feed}
            if cursor is None and results:
                event["newest"] = results[0]["id"]
            read += len(results)
            cursor = results[-1]["id"] if results else cursor
            last = len(results) < size or not response.get("next")
            if stop_at is not None and any(_sort_key(r["id"]) <= stop_at for r in results):
                last = True
            if not last and read >= self.limit and (since or stop_at):
                # more new entries than the limit: the oldest of them are skipped
                self.stats.truncated_feeds += 1
                self._problem(f"{feed}: more than {self.limit} new entries; the older ones were not copied")
            self._record({**event, "cursor": cursor, "read": read, "done": last or read >= self.limit})
            if last or read >= self.limit:
                return

    @staticmethod
    def _activities(results: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        """Flatten a page: activities of a flat feed, or those of each group."""
        flat: list[dict[str, Any]] = []
        for item in results:
            if isinstance(item.get("activities"), list):
                flat.extend(item["activities"])
            else:
                flat.append(item)
        return flat

    def _write_page(self, feed: str, activities: list[dict[str, Any]]) -> None:
        direct: list[PreparedActivity] = []
        copies: list[tuple[str, dict[str, Any]]] = []
        for activity in activities:
            self.stats.activities_read += 1
            if activity.get("origin"):
                copies.append((activity["origin"], activity))
                continue
            prepared = self.prepare(feed, activity)
            if prepared is not None:
                direct.append(prepared)
        if direct and not self.dry_run:
            self.destination.add_activities(feed, plan_write(direct, self.layout))
        self.stats.activities_written += len(direct)
        if not copies:
            return
        followed = self.followed_here(feed, sorted({origin for origin, _ in copies}))
        for origin, activity in copies:
            if origin in followed:
                self.stats.fanout_copies += 1
                continue
            prepared = self.prepare(feed, activity, count=False)
            if prepared is None:
                continue
            if not self.dry_run:
                self.destination.add_to_many(plan_write([prepared], self.layout), [feed])
            self.stats.direct_copies += 1

    def _mark(self, feed: str, groups: list[dict[str, Any]]) -> None:
        """Mark seen / read the local groups holding what getstream.io shows seen / read."""
        group = get_group(slug_of(feed))
        marks: dict[str, set[str]] = {"is_seen": set(), "is_read": set()}
        for hosted in groups:
            flags = [flag for flag in marks if hosted.get(flag)]
            if not flags:
                continue
            for activity in hosted.get("activities") or []:
                prepared = self._quiet_prepare(activity)
                if prepared is not None:
                    for flag in flags:
                        marks[flag].add(group.group_key(prepared.decoded()))
        self.stats.groups_seen += len(marks["is_seen"])
        self.stats.groups_read += len(marks["is_read"])
        if (marks["is_seen"] or marks["is_read"]) and not self.dry_run:
            self.destination.read_groups(
                feed,
                group,
                Page(limit=0),
                mark_seen=sorted(marks["is_seen"]),
                mark_read=sorted(marks["is_read"]),
            )

    # -- one activity ----------------------------------------------------------

    @staticmethod
    def _data(activity: dict[str, Any]) -> dict[str, Any]:
        data = {k: v for k, v in activity.items() if k not in SERVER_FIELDS}
        if data.get("target") == "":  # the hosted service echoes "no target" as ""
            del data["target"]
        if data.get("foreign_id") == "":
            del data["foreign_id"]
        return data

    def _quiet_prepare(self, activity: dict[str, Any]) -> PreparedActivity | None:
        try:
            return prepare_activity(self._data(activity))
        except (InputException, FeedConfigException):
            return None

    def prepare(self, feed: str, activity: dict[str, Any], *, count: bool = True) -> PreparedActivity | None:
        """Return the activity to store for a hosted one, or ``None`` (reported).

        ``count=False`` checks it without counting it again (a fan-out copy
        is counted where its origin feed is read).
        """
        hosted_id = str(activity.get("id") or "")
        try:
            prepared = prepare_activity(self._data(activity))
            for target in prepared.to:
                get_group(slug_of(target))
        except (InputException, FeedConfigException) as e:
            self.stats.rejected += 1
            self._problem(f"activity {hosted_id or '?'} of {feed} not copied: {e}")
            return None
        if prepared.foreign_id:
            if prepared.id != hosted_id and count:
                self._mismatch(feed, prepared, hosted_id)
            return prepared
        if count:
            self.stats.without_foreign_id += 1
        try:
            key = id_to_key(hosted_id)
        except InputException:
            if count:
                self._mismatch(feed, prepared, hosted_id)
            return prepared
        return dataclasses.replace(prepared, id=hosted_id, key=key)

    def _mismatch(self, feed: str, prepared: PreparedActivity, hosted_id: str) -> None:
        self.stats.id_mismatches += 1
        if len(self.stats.mismatches) < MAX_LISTED:
            self.stats.mismatches.append(
                Mismatch(
                    feed=feed,
                    foreign_id=prepared.foreign_id,
                    time=prepared.time.isoformat(),
                    hosted_id=hosted_id,
                    local_id=prepared.id,
                )
            )


def _sort_key(hosted_id: str) -> str:
    """Return the time-ordered key of an activity or group id ("<uuid>.<group>")."""
    return id_to_key(hosted_id.split(".", 1)[0])


def iter_ids(lines: Iterable[str]) -> Iterator[str]:
    """Yield the ids of a user-ids file: one a line, ``#`` starts a comment."""
    for line in lines:
        value = line.split("#", 1)[0].strip()
        if value:
            yield value
