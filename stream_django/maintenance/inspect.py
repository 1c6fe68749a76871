"""
The feed inspector's questions: which feeds hold an activity, and why a feed
that should hold it does not.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from stream_django.backends.base import Page
from stream_django.engine import ids
from stream_django.engine.activities import decode
from stream_django.engine.feeds import parse_feed_id
from stream_django.engine.plan import FeedLayout
from stream_django.exceptions import InputException
from stream_django.maintenance.base import storage_backend
from stream_django.models import FailedOperation, FanoutChunk


@dataclass
class Located:
    """One stored activity: its key, id and data (``None`` when no longer
    stored), and every ``(feed, origin)`` entry that holds it."""

    key: str
    id: str
    activity: dict[str, Any] | None
    holders: list[tuple[str, str | None]] = field(default_factory=list)


def _keys_of(reference: str) -> list[str]:
    """The storage keys an activity id or a foreign id names."""
    backend = storage_backend("supports_activity_scan")
    try:
        return [ids.id_to_key(reference)]
    except InputException:
        return backend.keys_of_foreign_id(reference)


def locate_activity(reference: str) -> list[Located]:
    """Return each activity ``reference`` names (an activity id, or a foreign
    id: every activity with it) and the feeds that hold it."""
    reference = str(reference).strip()
    if not reference:
        raise InputException("give an activity id or a foreign id")
    backend = storage_backend("supports_activity_scan")
    keys = _keys_of(reference)
    bodies = backend.get_activities(keys)
    holders = backend.locate_activities(keys, FeedLayout.current())
    found = []
    for key in keys:
        text = bodies.get(key)
        activity = decode(text, ids.key_to_id(key)) if text is not None else None
        if activity is None and not holders[key]:
            continue
        found.append(Located(key, ids.key_to_id(key), activity, holders[key]))
    return found


def explain_absence(feed: str, located: Located) -> list[str]:
    """Say why ``feed`` does not hold the activity ``located`` (an empty list
    when it does): each reason the store can show, most likely first."""
    feed = parse_feed_id(feed, what="feed")
    if any(f == feed for f, _ in located.holders):
        return []
    backend = storage_backend("supports_activity_scan")
    layout = FeedLayout.current()
    reasons: list[str] = []
    key = located.key
    fid = (located.activity or {}).get("foreign_id") or ""
    for op in FailedOperation.objects.all():
        if fid and _foreign_id_of(op.payload) == fid:
            reasons.append(f"a tracking write failed and is recorded (failed operation {op.id}: {op.error})")
    for chunk in FanoutChunk.objects.filter(steps__contains=key):
        state = "failed: " + chunk.error if chunk.error else ("running" if chunk.started_at else "waiting")
        reasons.append(f"fan-out chunk {chunk.id} naming this activity is pending ({state})")
    if located.activity is None:
        reasons.append("the activity is no longer stored: it was removed, or trimmed from every feed")
        return reasons
    sources = [f for f, origin in located.holders if origin is None]
    if not sources:
        reasons.append("no feed holds it directly any more (its origin feed trimmed or removed it)")
    following = {f.target: f for f in backend.following(feed, 0, len(sources) or 1, sources)} if sources else {}
    time = ids.key_time(key)
    for source in sources:
        follow = following.get(source)
        if follow is None:
            kept = layout.of(feed).is_flat and any(
                e.origin == source for e in backend.read_feed(feed, _page(layout, feed))
            )
            if kept:
                reasons.append(f"{feed} unfollowed {source} (keeping its history) before this activity")
            else:
                reasons.append(f"{feed} does not follow {source}, where the activity was added")
        elif follow.created_at > time:
            reasons.append(
                f"{feed} followed {source} after this activity; a follow copies only the newest "
                f"activities, and this one was not among them (or was trimmed since)"
            )
        else:
            reasons.append(f"{feed} follows {source} since before this activity: it was probably trimmed")
    group = layout.of(feed)
    if group.max_length is not None and _full(backend, feed, layout):
        reasons.append(f"{feed} is at its max_length ({group.max_length}) and keeps only the newest")
    return reasons


def _page(layout: FeedLayout, feed: str) -> Page:
    return Page(limit=min(layout.of(feed).max_length or 1000, 1000))


def _full(backend: Any, feed: str, layout: FeedLayout) -> bool:
    group = layout.of(feed)
    assert group.max_length is not None
    if group.is_flat:
        return bool(backend.read_feed(feed, Page(limit=1, offset=group.max_length - 1)))
    return bool(backend.read_groups(feed, group, Page(limit=1, offset=group.max_length - 1)).groups)


def _foreign_id_of(payload: str) -> Any:
    try:
        return json.loads(payload).get("foreign_id")
    except (ValueError, AttributeError):
        return None
