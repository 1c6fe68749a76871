"""
The configured transport, publishing after commit, and reading back.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from django.db import DEFAULT_DB_ALIAS, transaction

from stream_django.backends import get_backend
from stream_django.backends.base import BaseStorageBackend
from stream_django.conf import DATABASE_BACKEND, EVENTS_DEFAULTS, REDIS_BACKEND, stream_settings
from stream_django.engine.plan import FeedLayout
from stream_django.events.records import EventsExpired, FeedEvent, RecordBuilder, resolve, split_id
from stream_django.events.transports import BaseTransport, DatabaseTransport, RedisTransport
from stream_django.exceptions import InputException
from stream_django.signals import feed_changed, resets_on_setting_changed

logger = logging.getLogger("stream_django.events")

TRANSPORTS = {"database": DatabaseTransport, "redis": RedisTransport}
#: Records read per query when replaying.
BATCH = 200

_transport: list[BaseTransport | None] = []


def options() -> dict[str, Any]:
    """``STREAM_EVENTS`` over its defaults; ``InputException`` for unknown keys."""
    given = stream_settings.EVENTS or {}
    unknown = set(given) - set(EVENTS_DEFAULTS)
    if unknown:
        raise InputException(f"STREAM_EVENTS has unknown keys {sorted(unknown)}; known: {sorted(EVENTS_DEFAULTS)}")
    return {**EVENTS_DEFAULTS, **given}


def transport_name() -> str | None:
    """The transport in use: ``"redis"``, ``"database"`` or ``None`` (no local events)."""
    chosen = options()["transport"]
    if chosen != "auto":
        if chosen is not None and chosen not in TRANSPORTS:
            raise InputException(
                f"STREAM_EVENTS['transport'] must be 'auto', 'database', 'redis' or None, got {chosen!r}"
            )
        return chosen
    path = stream_settings.backend_path
    if path == REDIS_BACKEND:
        return "redis"
    if path == DATABASE_BACKEND or isinstance(get_backend(), BaseStorageBackend):
        return "database"
    return None  # getstream.io: its realtime service sends the events


def get_transport() -> BaseTransport | None:
    if not _transport:
        name = transport_name()
        _transport.append(TRANSPORTS[name](options()) if name else None)
    return _transport[0]


def enabled() -> bool:
    """Whether writes record feed events (a transport is configured)."""
    return get_transport() is not None


@resets_on_setting_changed
def reset() -> None:
    for transport in _transport:
        if transport is not None:
            transport.close()
    _transport.clear()


def local_storage() -> BaseStorageBackend:
    storage = get_backend()
    if not isinstance(storage, BaseStorageBackend):
        raise InputException(f"feed events need a local backend; {storage.name} sends its own (docs/realtime.md)")
    return storage


_quiet: contextvars.ContextVar[bool] = contextvars.ContextVar("stream_django_events_quiet", default=False)


@contextmanager
def quiet() -> Iterator[None]:
    """Record no feed events for the writes inside (user erasure: its
    removals must not store the erased ids again)."""
    token = _quiet.set(True)
    try:
        yield
    finally:
        _quiet.reset(token)


def is_quiet() -> bool:
    return _quiet.get()


def forget(needles: Sequence[str]) -> int:
    """Delete the stored event records whose data contains any of
    ``needles`` (ids, foreign ids, feed ids); return how many went."""
    transport = get_transport()
    needles = [n for n in dict.fromkeys(needles) if n]
    if transport is None or not needles:
        return 0
    return transport.forget(needles)


def publish(storage: BaseStorageBackend, record: RecordBuilder) -> None:
    """Store ``record`` once the writing transaction commits, then send
    ``feed_changed`` in this process; a failure is logged, never raised."""
    if not record or _quiet.get():
        return
    using = getattr(storage, "using", DEFAULT_DB_ALIAS)
    if transaction.get_connection(using).in_atomic_block:
        transaction.on_commit(lambda: _send(storage, record), using=using, robust=True)
    else:
        _send(storage, record)


def _send(storage: BaseStorageBackend, record: RecordBuilder) -> None:
    try:
        transport = get_transport()
        if transport is None:
            return
        text = record.to_json()
        record_id = transport.append(text)
        transport.notify_local()
    except Exception:
        logger.exception("stream_django: feed events not stored")
        return
    if feed_changed.has_listeners():
        from stream_django.engine import serializer

        for event in resolve(record_id, serializer.loads(text), None, storage, FeedLayout.current()):
            feed_changed.send(sender=FeedEvent, event=event)


def check_after(transport: BaseTransport, after_id: str | None) -> tuple[str, str] | None:
    """Validate ``after_id``; raise ``EventsExpired`` if its record is gone."""
    if after_id is None:
        return None
    record, feed = split_id(after_id)
    try:
        transport.order(record)
    except ValueError:
        raise InputException(f"{after_id!r} is not a feed event id of the {transport.name} transport") from None
    if not transport.exists(record):
        raise EventsExpired(after_id)
    return record, feed


def history(
    feed_ids: Sequence[str], after_id: str | None = None, limit: int = 100, *, upto: str | None = None
) -> list[FeedEvent]:
    """Return the events of ``feed_ids`` after ``after_id`` (oldest first,
    at most ``limit``), or without ``after_id`` the newest ``limit`` of the
    window (oldest first). Raises ``EventsExpired`` when ``after_id`` is
    older than the window."""
    transport = get_transport()
    if transport is None:
        raise InputException("no local feed events on this backend (docs/realtime.md)")
    if limit <= 0:
        raise InputException(f"limit must be positive, got {limit}")
    feeds = sorted(set(feed_ids))
    storage, layout = local_storage(), FeedLayout.current()
    start = check_after(transport, after_id)
    if start is None:
        found: list[FeedEvent] = []
        before = None
        while len(found) < limit:
            rows = transport.read_back(before, BATCH)
            for record_id, record in rows:
                found = resolve(record_id, record, feeds, storage, layout) + found
            if len(rows) < BATCH:
                break
            before = rows[-1][0]
        return found[-limit:]
    return replay(transport, feeds, start[0], start[1], upto, limit, storage, layout)


def replay(
    transport: BaseTransport,
    feeds: Sequence[str],
    record: str,
    feed: str,
    upto: str | None,
    limit: int,
    storage: BaseStorageBackend | None = None,
    layout: FeedLayout | None = None,
) -> list[FeedEvent]:
    """The events of ``feeds`` after event ``record/feed`` up to record ``upto``."""
    storage = local_storage() if storage is None else storage
    layout = FeedLayout.current() if layout is None else layout
    body = transport.get(record)
    events = [e for e in resolve(record, body, feeds, storage, layout) if e.feed > feed] if body else []
    cursor: str | None = record
    while len(events) < limit:
        rows = transport.read(cursor, upto, BATCH)
        for record_id, data in rows:
            events += resolve(record_id, data, feeds, storage, layout)
        if len(rows) < BATCH:
            break
        cursor = rows[-1][0]
    return events[:limit]


def resolve_rows(rows: Sequence[tuple[str, dict[str, Any]]], feeds: Sequence[str]) -> list[FeedEvent]:
    storage, layout = local_storage(), FeedLayout.current()
    events: list[FeedEvent] = []
    for record_id, data in rows:
        events += resolve(record_id, data, feeds, storage, layout)
    return events
