"""
Feed events: what one write stores, and the realtime message each feed gets.

A write stores one *record* whatever the number of followers: the bodies of
the activities it added, the ids it removed, the feeds it wrote directly
and the feeds whose followers it reached (with the follower range of a
fan-out chunk). Expanding the followers happens when the record is read,
for the feeds someone listens to only (one ``among`` query per record), so
a feed nobody listens to costs nothing at write time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from stream_django.backends.base import BaseStorageBackend
from stream_django.engine import ids, serializer
from stream_django.engine.activities import decode
from stream_django.engine.plan import FeedLayout
from stream_django.exceptions import InputException

#: ``(after, upto)`` of a fan-out chunk's followers, ``None`` meaning unbounded.
Range = tuple[str | None, str | None]


@dataclass(frozen=True)
class FeedEvent:
    """One feed's share of one write.

    ``id`` (``"<record>/<feed>"``) increases strictly in the order events
    are delivered, per store; it is what the SSE endpoint sends as ``id:``.
    ``data`` is the realtime message: ``feed``, ``new``, ``deleted``,
    ``deleted_foreign_ids`` and ``published_at``.
    """

    id: str
    feed: str
    data: dict[str, Any] = field(compare=False)


class EventsExpired(Exception):
    """The events after the given id are no longer all kept (older than the
    retention window, or the transport lost them): reload the feed."""

    def __init__(self, after_id: str) -> None:
        super().__init__(f"the feed events after {after_id!r} are no longer kept: reload the feed")
        self.after_id = after_id


def split_id(event_id: str) -> tuple[str, str]:
    """Return ``(record id, feed)`` of an event id; ``InputException`` if malformed."""
    record, sep, feed = str(event_id).partition("/")
    if not sep or not record or ":" not in feed:
        raise InputException(f"{event_id!r} is not a feed event id (<record>/<slug>:<user_id>)")
    return record, feed


@dataclass
class RecordBuilder:
    """What one write did, gathered for one record."""

    new: dict[str, tuple[str, str]] = field(default_factory=dict)  # key -> (id, json)
    deleted: dict[str, tuple[str, str | None, str | None]] = field(default_factory=dict)  # key -> (id, fid, time)
    direct: dict[str, list[str]] = field(default_factory=dict)  # feed -> keys added with origin None
    fan: dict[str, dict[str, Any]] = field(default_factory=dict)  # source -> {"keys", "range"}
    lost: dict[str, list[str]] = field(default_factory=dict)  # feed -> keys removed directly
    unfan: dict[str, dict[str, Any]] = field(default_factory=dict)  # source -> {"keys", "range"}

    def add(self, key: str, text: str) -> None:
        self.new[key] = (ids.key_to_id(key), text)

    def delete(self, key: str, text: str | None) -> None:
        body = serializer.loads(text) if text is not None else {}
        self.deleted[key] = (ids.key_to_id(key), body.get("foreign_id"), body.get("time"))

    def __bool__(self) -> bool:
        return bool(self.direct or self.fan or self.lost or self.unfan)

    def to_json(self) -> str:
        return serializer.dumps(
            {
                "at": datetime.now(timezone.utc).isoformat().replace("+00:00", "Z"),
                "new": {k: list(v) for k, v in self.new.items()},
                "deleted": {k: list(v) for k, v in self.deleted.items()},
                "direct": self.direct,
                "fan": self.fan,
                "lost": self.lost,
                "unfan": self.unfan,
            }
        )


def _in_range(feed: str, bounds: Sequence[str | None] | None) -> bool:
    if not bounds:
        return True
    after, upto = bounds
    return (after is None or feed > after) and (upto is None or feed <= upto)


def followers_among(
    storage: BaseStorageBackend, source: str, feeds: Sequence[str] | None, bounds: Sequence[str | None] | None
) -> list[str]:
    """Return the followers of ``source`` among ``feeds`` (``None``: all) in
    the chunk range ``bounds``, compared as the store compares feed ids."""
    using = getattr(storage, "using", None)
    if using is not None:  # the database backend: the range in the database's own order
        from stream_django.backends.database.models import Follow

        rows = Follow.objects.using(using).filter(target=source)
        if feeds is not None:
            rows = rows.filter(source__in=list(feeds))
        if bounds:
            after, upto = bounds
            if after is not None:
                rows = rows.filter(source__gt=after)
            if upto is not None:
                rows = rows.filter(source__lte=upto)
        return list(rows.values_list("source", flat=True))
    found: list[str] = []
    page = 1000 if feeds is None else max(1, len(feeds))
    offset = 0
    while True:
        follows = storage.followers(source, offset, page, None if feeds is None else list(feeds))
        # Redis compares feed ids as bytes: UTF-8 keeps code point order.
        found += [f.source for f in follows if _in_range(f.source, bounds)]
        if feeds is not None or len(follows) < page:
            return found
        offset += page


def resolve(
    record_id: str,
    record: Mapping[str, Any],
    feeds: Iterable[str] | None,
    storage: BaseStorageBackend,
    layout: FeedLayout,
) -> list[FeedEvent]:
    """Return the events of ``record`` for ``feeds`` (``None``: every feed it
    changed), one per feed, in feed order."""
    wanted = None if feeds is None else set(feeds)
    among = None if wanted is None else sorted(wanted)
    added: dict[str, dict[str, str | None]] = {}  # feed -> key -> origin
    lost: dict[str, list[str]] = {}

    for feed, keys in record.get("direct", {}).items():
        if wanted is None or feed in wanted:
            for key in keys:
                added.setdefault(feed, {}).setdefault(key, None)
    for source, step in record.get("fan", {}).items():
        if among == []:
            break
        for feed in followers_among(storage, source, among, step.get("range")):
            for key in step["keys"]:
                added.setdefault(feed, {}).setdefault(key, source)
    for feed, keys in record.get("lost", {}).items():
        if wanted is None or feed in wanted:
            lost.setdefault(feed, []).extend(keys)
    for source, step in record.get("unfan", {}).items():
        if among == []:
            break
        for feed in followers_among(storage, source, among, step.get("range")):
            lost.setdefault(feed, []).extend(step["keys"])

    events = []
    bodies, deleted = record.get("new", {}), record.get("deleted", {})
    for feed in sorted(set(added) | set(lost)):
        group = layout.get(feed)
        new = []
        for key, origin in added.get(feed, {}).items():
            if key not in bodies:
                continue
            activity_id, text = bodies[key]
            activity = decode(text, activity_id, origin)
            if group is not None and group.is_aggregated:
                activity["group"] = group.group_key(activity)
            new.append(activity)
        gone = [deleted[k] for k in dict.fromkeys(lost.get(feed, [])) if k in deleted]
        if not new and not gone:
            continue
        data = {
            "feed": feed,
            "new": new,
            "deleted": [g[0] for g in gone],
            "deleted_foreign_ids": [[g[1], g[2]] for g in gone if g[1]],
            "published_at": record.get("at"),
        }
        events.append(FeedEvent(id=f"{record_id}/{feed}", feed=feed, data=data))
    return events
