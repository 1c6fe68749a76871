"""
The journal and report of a getstream.io import: what was copied, what
differs, and where a stopped import resumes (``manage.py
stream_import_getstream``; docs/getstream.md).
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

FOLLOWS, ACTIVITIES, NOTIFICATIONS = "follows", "activities", "notifications"
IMPORT, CATCH_UP = "import", "catch-up"
#: Fields the hosted service adds to an activity; never stored as data.
SERVER_FIELDS = ("id", "origin", "duration", "score", "analytics", "extra_context")
MAX_PAGE = 100
#: Mismatches and problems kept in the journal and listed in the report.
MAX_LISTED = 100
#: Page size when reading the destination's follows.
LOCAL_PAGE = 500

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
    """Totals of one round of an import (over every run that resumed it)."""

    follows: int = 0
    follows_removed: int = 0
    follows_rejected: int = 0
    activities_read: int = 0
    activities_written: int = 0
    fanout_copies: int = 0
    direct_copies: int = 0
    rejected: int = 0
    without_foreign_id: int = 0
    id_mismatches: int = 0
    groups_seen: int = 0
    groups_read: int = 0
    truncated_feeds: int = 0
    mismatches: list[Mismatch] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    COUNTERS = (
        "follows",
        "follows_removed",
        "follows_rejected",
        "activities_read",
        "activities_written",
        "fanout_copies",
        "direct_copies",
        "rejected",
        "without_foreign_id",
        "id_mismatches",
        "groups_seen",
        "groups_read",
        "truncated_feeds",
    )

    def copy(self) -> ImportStats:
        """Return an independent copy (lists included)."""
        return dataclasses.replace(self, mismatches=list(self.mismatches), problems=list(self.problems))

    def delta(self, since: ImportStats) -> dict[str, Any]:
        """Return what changed after ``since``, as JSON (counters and new list items)."""
        data: dict[str, Any] = {}
        for name in self.COUNTERS:
            change = getattr(self, name) - getattr(since, name)
            if change:
                data[name] = change
        if len(self.mismatches) > len(since.mismatches):
            data["mismatches"] = [dataclasses.asdict(m) for m in self.mismatches[len(since.mismatches) :]]
        if len(self.problems) > len(since.problems):
            data["problems"] = self.problems[len(since.problems) :]
        return data

    def apply(self, delta: dict[str, Any]) -> None:
        """Add a ``delta()`` read back from the journal."""
        for name in self.COUNTERS:
            setattr(self, name, getattr(self, name) + int(delta.get(name, 0)))
        self.mismatches.extend(Mismatch(**m) for m in delta.get("mismatches", []))
        self.problems.extend(delta.get("problems", []))


class JournalError(Exception):
    """The journal cannot be used for this import (the message says why)."""


class Journal:
    """Progress of an import: a JSON Lines file, one line appended per step.

    The first line names the import (API key and destination). Each round
    (``import`` or ``catch-up``) starts with a line listing its feeds; then
    one line per feed whose follows are copied, one per page of activities
    (cursor, entries read, counters changed) and a last ``finished`` line.
    Appending keeps each step's cost independent of the size of the import;
    a line cut short by a crash is dropped when the file is read again.

    ``path=None`` keeps everything in memory; ``read_only=True`` reads the
    file but never writes it (dry runs).
    """

    VERSION = 2

    def __init__(self, path: str | None, signature: dict[str, Any], *, read_only: bool = False) -> None:
        self.path = path
        self.signature = signature
        self.read_only = read_only
        self.exists = False
        #: Newest hosted id seen in each feed, over every round.
        self.newest: dict[str, str] = {}
        self.round: dict[str, Any] | None = None
        self._reset_round()

    def _reset_round(self) -> None:
        self.feeds: list[str] = []
        self.follows_done: set[str] = set()
        self.followed: dict[str, None] = {}
        self.cursors: dict[str, tuple[str | None, int]] = {}
        self.done: set[str] = set()
        self.finished = False
        self.stats = ImportStats()

    # -- reading -------------------------------------------------------------

    def load(self) -> None:
        """Read the file, if there is one."""
        if self.path is None or not os.path.exists(self.path):
            return
        with open(self.path, "rb") as f:
            raw = f.read()
        complete = raw[: raw.rfind(b"\n") + 1]
        if len(complete) != len(raw) and not self.read_only:
            with open(self.path, "r+b") as f:  # drop a line cut short by a crash
                f.truncate(len(complete))
        lines = complete.decode("utf-8").splitlines()
        if not lines:
            return
        try:
            header = json.loads(lines[0])
            events = [json.loads(line) for line in lines[1:]]
        except ValueError as e:
            raise JournalError(f"{self.path} is not an import journal: {e}") from e
        if header.get("version") != self.VERSION:
            raise JournalError(f"{self.path} is not an import journal of this version ({self.VERSION})")
        if header.get("signature") != self.signature:
            raise JournalError(
                f"{self.path} belongs to another import ({header.get('signature')}; this one is {self.signature})"
            )
        self.exists = True
        for event in events:
            self._apply(event)

    def _apply(self, event: dict[str, Any]) -> None:
        kind = event["event"]
        if kind == "round":
            self._reset_round()
            self.round = {"mode": event["mode"], "limit": event["limit"]}
            self.feeds = list(event["feeds"])
        elif kind == "follows":
            self.follows_done.add(event["feed"])
            self.followed.update(dict.fromkeys(event.get("extra", [])))
        elif kind == "page":
            feed = event["feed"]
            self.cursors[feed] = (event["cursor"], event["read"])
            if event.get("newest"):
                self.newest[feed] = event["newest"]
            if event.get("done"):
                self.done.add(feed)
        elif kind == "finished":
            self.finished = True
        self.stats.apply(event.get("stats", {}))

    # -- writing -------------------------------------------------------------

    def record(self, event: dict[str, Any], stats: dict[str, Any] | None = None) -> None:
        """Append ``event`` to the file (flushed to disk) and apply it.

        ``stats`` is the change of the counters it brings (an
        ``ImportStats.delta()``), which the caller has already made to
        ``self.stats``: it is written, for the next load, not applied.
        """
        if self.path is not None and not self.read_only:
            lines = []
            if not self.exists:
                lines.append({"version": self.VERSION, "signature": self.signature})
            lines.append({**event, "stats": stats} if stats else event)
            with open(self.path, "a", encoding="utf-8") as f:
                f.writelines(json.dumps(line, sort_keys=True) + "\n" for line in lines)
                f.flush()
                os.fsync(f.fileno())
            self.exists = True
        self._apply(event)

    def start_round(self, mode: str, feeds: Sequence[str], limit: int) -> None:
        """Begin a new round over ``feeds``."""
        self.record({"event": "round", "mode": mode, "feeds": list(feeds), "limit": limit})
