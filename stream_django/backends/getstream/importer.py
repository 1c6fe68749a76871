"""
Copy the follow graph and the recent activities of getstream.io feeds into a
local backend (``manage.py stream_import_getstream`` drives it).

Order, and why:

1. **Follows first**, written with an activity copy limit of 0: the local
   follow graph then matches the hosted one before any activity arrives, and
   following copies nothing (there is nothing to copy yet).
2. **Then the activities of the origin feeds**, newest first: each activity
   is written once, into the feed it was written to on getstream.io (origin
   ``null``), and the local engine's fan-out puts it into every follower's
   timeline with the right ``origin``, and into its ``to`` feeds. Entries
   that are fan-out copies (``origin`` set) are not written themselves: they
   are recreated by that fan-out. The origin feeds are the site's feeds plus
   every feed they follow, so a followed feed outside the site's feeds still
   fills its followers' timelines.

Both steps are idempotent (a follow is stored once; an activity is stored
once per feed by its id), so a page that was written but not yet recorded in
the checkpoint when the import stopped is written again harmlessly on resume.

Ids: an activity with a ``foreign_id`` gets the deterministic id of its
``foreign_id`` and ``time`` (the hosted service's own algorithm), so updates
and removals by ``foreign_id`` + ``time`` keep working locally; when that id
differs from the hosted one the import reports it. An activity without a
``foreign_id`` keeps its hosted id.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

from stream_django.backends.base import BaseStorageBackend
from stream_django.engine.activities import PreparedActivity, prepare_activity
from stream_django.engine.feeds import get_group, slug_of
from stream_django.engine.ids import id_to_key
from stream_django.exceptions import FeedConfigException, InputException

FOLLOWS, ACTIVITIES = "follows", "activities"
#: Fields the hosted service adds to an activity; never stored as data.
SERVER_FIELDS = ("id", "origin", "duration", "score", "analytics", "extra_context")
MAX_PAGE = 100
#: Mismatches kept in the checkpoint and listed in the report.
MAX_LISTED = 100

Progress = Callable[[str, int, int, str], None]


@dataclass
class Mismatch:
    """An activity whose local id differs from its getstream.io id."""

    feed: str
    foreign_id: str
    time: str
    hosted_id: str
    local_id: str


@dataclass
class ImportStats:
    """Totals of an import (over every run of a resumed import)."""

    feeds: int = 0
    followed_feeds: int = 0
    follows: int = 0
    follows_rejected: int = 0
    activities_read: int = 0
    activities_written: int = 0
    fanout_copies: int = 0
    rejected: int = 0
    id_mismatches: int = 0
    mismatches: list[Mismatch] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ImportStats:
        data = dict(data)
        data["mismatches"] = [Mismatch(**m) for m in data.get("mismatches", [])]
        return cls(**data)


class CheckpointMismatch(Exception):
    """The checkpoint file belongs to a different import."""


class Checkpoint:
    """Progress of an import, in a JSON file rewritten atomically after each page.

    ``path=None`` keeps the progress in memory only (dry runs).
    """

    VERSION = 1

    def __init__(self, path: str | None, signature: dict[str, Any]) -> None:
        self.path = path
        self.signature = signature
        self.resumed = False
        self.data: dict[str, Any] = self._fresh()

    def _fresh(self) -> dict[str, Any]:
        return {
            "version": self.VERSION,
            "signature": self.signature,
            "follows_done": [],
            "followed": [],
            "feeds": {},
            "finished": False,
            "stats": ImportStats().to_json(),
        }

    def load(self, restart: bool = False) -> None:
        """Read the file if there is one (unless ``restart``)."""
        if self.path is None or restart or not os.path.exists(self.path):
            return
        with open(self.path, encoding="utf-8") as f:
            data = json.load(f)
        if data.get("version") != self.VERSION or data.get("signature") != self.signature:
            raise CheckpointMismatch(
                f"checkpoint {self.path} belongs to another import ({data.get('signature')}, "
                f"this one is {self.signature})"
            )
        self.data = data
        self.resumed = True

    def save(self) -> None:
        if self.path is None:
            return
        directory = os.path.dirname(os.path.abspath(self.path))
        fd, tmp = tempfile.mkstemp(prefix=".stream-import-", dir=directory)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(self.data, f, indent=1, sort_keys=True)
            os.replace(tmp, self.path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    # -- accessors ---------------------------------------------------------

    @property
    def stats(self) -> ImportStats:
        return ImportStats.from_json(self.data["stats"])

    def feed_state(self, feed: str) -> dict[str, Any]:
        return self.data["feeds"].setdefault(feed, {"cursor": None, "read": 0, "done": False})


class GetStreamImporter:
    """Copies follows and activities from stream-python's ``source`` client into ``destination``."""

    def __init__(
        self,
        source: Any,
        destination: BaseStorageBackend,
        checkpoint: Checkpoint,
        *,
        limit: int = 100,
        page_size: int = MAX_PAGE,
        dry_run: bool = False,
        progress: Progress | None = None,
    ) -> None:
        if not isinstance(destination, BaseStorageBackend):
            raise TypeError(f"the destination must be a local storage backend, not {type(destination).__name__}")
        if limit < 0:
            raise ValueError(f"limit must be 0 or more, got {limit}")
        if not 1 <= page_size <= MAX_PAGE:
            raise ValueError(f"page_size must be from 1 to {MAX_PAGE}, got {page_size}")
        self.source = source
        self.destination = destination
        self.checkpoint = checkpoint
        self.limit = limit
        self.page_size = page_size
        self.dry_run = dry_run
        self.progress = progress or (lambda phase, done, total, detail: None)
        self.stats = checkpoint.stats

    # -- driver --------------------------------------------------------------

    def run(self, feeds: Sequence[str]) -> ImportStats:
        """Import ``feeds`` ("slug:user_id"): their follows, then the activities."""
        feeds = list(dict.fromkeys(feeds))
        self.stats.feeds = len(feeds)
        done = set(self.checkpoint.data["follows_done"])
        followed: dict[str, None] = dict.fromkeys(self.checkpoint.data["followed"])
        for index, feed in enumerate(feeds, 1):
            if feed not in done:
                for target in self.import_follows(feed):
                    followed[target] = None
                self.checkpoint.data["follows_done"].append(feed)
                self.checkpoint.data["followed"] = list(followed)
                self._save()
            self.progress(FOLLOWS, index, len(feeds), feed)

        origins = list(dict.fromkeys([*feeds, *followed]))
        self.stats.followed_feeds = len(origins) - len(feeds)
        for index, feed in enumerate(origins, 1):
            state = self.checkpoint.feed_state(feed)
            if not state["done"]:
                self.import_activities(feed, state)
            self.progress(ACTIVITIES, index, len(origins), feed)
        self.checkpoint.data["finished"] = True
        self._save()
        return self.stats

    def _save(self) -> None:
        self.checkpoint.data["stats"] = self.stats.to_json()
        self.checkpoint.save()

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
                return targets
            offset += len(page)

    def import_follows(self, feed: str) -> list[str]:
        """Copy the follows of ``feed`` (copy limit 0); return the followed feeds."""
        targets = list(dict.fromkeys(self.read_following(feed)))
        pairs = []
        for target in targets:
            try:
                get_group(slug_of(feed))
                if not get_group(slug_of(target)).is_flat:
                    raise FeedConfigException(f"{target} is not a flat feed group here")
            except (FeedConfigException, InputException) as e:
                self.stats.follows_rejected += 1
                self._problem(f"follow {feed} -> {target} not copied: {e}")
                continue
            pairs.append((feed, target))
        if pairs and not self.dry_run:
            self.destination.follow_many(pairs, 0)
        self.stats.follows += len(pairs)
        return [target for _, target in pairs]

    # -- activities ------------------------------------------------------------

    def import_activities(self, feed: str, state: dict[str, Any]) -> None:
        """Copy up to ``limit`` newest entries of ``feed``, resuming at ``state``."""
        slug, user_id = feed.split(":", 1)
        source_feed = self.source.feed(slug, user_id)
        while state["read"] < self.limit:
            size = min(self.page_size, self.limit - state["read"])
            params: dict[str, Any] = {"limit": size}
            if state["cursor"]:
                params["id_lt"] = state["cursor"]
            response = source_feed.get(**params)
            results = response.get("results") or []
            batch = [prepared for prepared in self._prepare(feed, self._activities(results)) if prepared]
            if batch and not self.dry_run:
                self.destination.add_activities(feed, batch)
            self.stats.activities_written += len(batch)
            state["read"] += len(results)
            if results:
                state["cursor"] = results[-1]["id"]
            if len(results) < size or not response.get("next"):
                break
            self._save()
        state["done"] = True
        self._save()

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

    def _prepare(self, feed: str, activities: list[dict[str, Any]]) -> list[PreparedActivity | None]:
        prepared: list[PreparedActivity | None] = []
        for activity in activities:
            self.stats.activities_read += 1
            if activity.get("origin"):
                self.stats.fanout_copies += 1
                continue
            prepared.append(self.prepare(feed, activity))
        return prepared

    def prepare(self, feed: str, activity: dict[str, Any]) -> PreparedActivity | None:
        """Return the activity to store for a hosted one, or ``None`` (reported)."""
        hosted_id = str(activity.get("id") or "")
        data = {k: v for k, v in activity.items() if k not in SERVER_FIELDS}
        if data.get("target") == "":  # the hosted service echoes "no target" as ""
            del data["target"]
        try:
            prepared = prepare_activity(data)
            for target in prepared.to:
                get_group(slug_of(target))
        except (InputException, FeedConfigException) as e:
            self.stats.rejected += 1
            self._problem(f"activity {hosted_id or '?'} of {feed} not copied: {e}")
            return None
        if prepared.foreign_id:
            if prepared.id != hosted_id:
                self._mismatch(feed, prepared, hosted_id)
            return prepared
        try:
            key = id_to_key(hosted_id)
        except InputException:
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
