"""
The write path's calls into feed events (``stream_django.fanout``): each
builds the one record of a write and publishes it after commit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from stream_django.backends.base import BaseStorageBackend
from stream_django.engine import serializer
from stream_django.engine.plan import FeedLayout, WritePlan
from stream_django.events.records import RecordBuilder
from stream_django.events.store import enabled, is_quiet, publish, quiet

__all__ = ["added", "chunk_ran", "publish", "quiet", "removing"]


def added(
    storage: BaseStorageBackend,
    feed: str | None,
    plan: WritePlan,
    sources: Mapping[str, Sequence[str]] | None,
    feeds: Sequence[str] = (),
) -> None:
    """``plan`` was written to ``feed`` and its ``to`` targets (or to ``feeds``),
    and fanned out to the followers of ``sources`` (``None``: not yet)."""
    record = RecordBuilder()
    for activity in plan.activities:
        record.add(activity.key, activity.json)
        targets = plan.direct_feeds(feed, activity) if feed is not None else list(feeds)
        for target in targets:
            record.direct.setdefault(target, []).append(activity.key)
    for source, keys in (sources or {}).items():
        record.fan[source] = {"keys": list(keys), "range": None}
    publish(storage, record)


def removing(
    storage: BaseStorageBackend, feed: str, keys: Sequence[str], layout: FeedLayout, fan_out: bool
) -> RecordBuilder:
    """Read what removing ``keys`` from ``feed`` will take away (before it
    does); nothing is read when no transport records events."""
    record = RecordBuilder()
    if not enabled() or is_quiet():
        return record
    bodies = storage.get_activities(keys)
    sources: dict[str, list[str]] = {}
    for key in keys:
        text = bodies.get(key)
        if text is None:
            continue
        record.delete(key, text)
        targets = [feed, *[t for t in serializer.loads(text).get("to", []) if t != feed]]
        for target in targets:
            record.lost.setdefault(target, []).append(key)
        for source in layout.flat(t for t in targets if layout.get(t) is not None):
            sources.setdefault(source, []).append(key)
    if fan_out:
        for source, gone in sources.items():
            record.unfan[source] = {"keys": gone, "range": None}
    return record


def chunk_ran(storage: BaseStorageBackend, step: Mapping[str, Any], finished: bool, bodies: Mapping[str, str]) -> None:
    """A worker's fan-out step committed: its followers' events."""
    record = RecordBuilder()
    source, keys = step.get("source"), step.get("keys") or []
    if source is None or step.get("quiet") or not enabled():
        return  # follow copies and purges send no events (docs/realtime.md)
    bounds = step.get("range")
    if step["op"] == "add":
        live = storage.get_activities(keys)
        for key in keys:
            if key in live:
                record.add(key, live[key])
        if record.new:
            record.fan[source] = {"keys": [k for k in keys if k in live], "range": bounds}
    elif bounds is not None or finished:
        for key in keys:
            record.delete(key, bodies.get(key))
        record.unfan[source] = {"keys": list(keys), "range": bounds}
    publish(storage, record)
