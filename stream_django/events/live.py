"""
Live events: one reader per event loop, many subscribers.

The reader (``Hub``) waits on the transport for records after the newest
one it has seen, reads them once, resolves them for the union of the
subscribers' feeds (one follower query per record, whatever the number of
subscribers) and hands each subscriber its feeds' events. A subscriber
that falls behind (its queue is full) or joined while a batch was being
resolved catches up from the store, so it gets every event exactly once,
in order.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import weakref
from collections import deque
from collections.abc import AsyncIterator, Sequence
from typing import Any

from asgiref.sync import sync_to_async

from stream_django.engine.feeds import parse_feed_id
from stream_django.events import store
from stream_django.events.records import EventsExpired, FeedEvent
from stream_django.events.transports import BaseTransport
from stream_django.exceptions import InputException

logger = logging.getLogger("stream_django.events")

#: Events queued for one subscriber before it catches up from the store instead.
QUEUE_LIMIT = 1000
REPLAY_PAGE = 500

_hubs: weakref.WeakKeyDictionary[Any, dict[int, Hub]] = weakref.WeakKeyDictionary()


class Subscription:
    """The events of ``feeds`` after a cursor; see ``subscribe``."""

    def __init__(self, hub: Hub, feeds: frozenset[str]) -> None:
        self.hub = hub
        self.feeds = feeds
        self.queue: deque[FeedEvent] = deque()
        self.wake = asyncio.Event()
        self.catch_up_to: str | None = None
        self.expired = False
        self.cursor: tuple[str, str] = ("", "")  # (record, feed) of the last event delivered
        self.pending: deque[FeedEvent] = deque()

    def push(self, event: FeedEvent) -> None:
        if self.catch_up_to is not None or len(self.queue) >= QUEUE_LIMIT:
            self.queue.clear()
            self.catch_up_to = self.hub.position
        else:
            self.queue.append(event)
        self.wake.set()

    def behind(self, upto: str) -> None:
        self.queue.clear()
        self.catch_up_to = upto
        self.wake.set()

    def _after_cursor(self, event: FeedEvent) -> bool:
        record, _, feed = event.id.partition("/")
        order = self.hub.transport.order
        mine = (order(self.cursor[0]), self.cursor[1]) if self.cursor[0] else ((-1,), "")
        return (order(record), feed) > mine

    async def get(self, timeout: float | None = None) -> FeedEvent | None:
        """Return the next event, or ``None`` after ``timeout`` seconds without one."""
        while True:
            while self.pending:
                event = self.pending.popleft()
                if self._after_cursor(event):
                    self.cursor = (event.id.partition("/")[0], event.feed)
                    return event
            if self.expired:
                raise EventsExpired(f"{self.cursor[0]}/{self.cursor[1]}")
            if self.catch_up_to is not None:
                upto, self.catch_up_to = self.catch_up_to, None
                self.pending.extend(await self._replay(upto))
                continue
            if self.queue:
                self.pending.extend(self.queue)
                self.queue.clear()
                continue
            self.wake.clear()
            try:
                await asyncio.wait_for(self.wake.wait(), timeout)
            except asyncio.TimeoutError:
                return None

    async def _replay(self, upto: str) -> list[FeedEvent]:
        record, feed = self.cursor
        events: list[FeedEvent] = []
        while True:
            page = await sync_to_async(_replay_and_close)(
                self.hub.transport, sorted(self.feeds), record, feed, upto, REPLAY_PAGE
            )
            events += page
            if len(page) < REPLAY_PAGE:
                return events
            record, _, feed = page[-1].id.partition("/")

    def close(self) -> None:
        self.hub.subscribers.discard(self)


def _replay_and_close(*args: Any) -> list[FeedEvent]:
    """``store.replay``, then close this thread's database connections: a
    stream's request thread must not hold one while the stream stays open."""
    from django.db import connections

    try:
        return store.replay(*args)
    finally:
        connections.close_all()


class Hub:
    """This event loop's reader of the transport."""

    def __init__(self, transport: BaseTransport) -> None:
        self.transport = transport
        self.subscribers: set[Subscription] = set()
        self.position: str | None = None
        self.task: asyncio.Task[None] | None = None

    async def join(self, feeds: frozenset[str]) -> Subscription:
        if self.position is None:
            latest = await sync_to_async(self.transport.latest)()
            if self.position is None:
                self.position = latest
        subscription = Subscription(self, feeds)
        assert self.position is not None
        subscription.cursor = (self.position, "~")
        self.subscribers.add(subscription)
        if self.task is None or self.task.done():
            # A context of its own: the reader outlives the request that
            # started it, and must not run its sync calls in that request's thread.
            loop = asyncio.get_running_loop()
            self.task = contextvars.Context().run(loop.create_task, self._run())
        return subscription

    async def _run(self) -> None:
        failed = False
        try:
            while self.subscribers:
                try:
                    position = self.position
                    assert position is not None
                    await self.transport.wait(position, self.transport.poll_interval * 10)
                    if (
                        (failed or self.transport.may_lose_records)
                        and position != self.transport.empty_id
                        and not await sync_to_async(self.transport.exists)(position)
                    ):
                        for subscription in list(self.subscribers):
                            subscription.expired = True
                            subscription.wake.set()
                        self.subscribers.clear()
                        return
                    failed = False
                    rows = await sync_to_async(self.transport.read)(position, None, store.BATCH)
                    if not rows:
                        continue
                    snapshot = list(self.subscribers)
                    feeds = sorted(set().union(*(s.feeds for s in snapshot)))
                    events = await sync_to_async(store.resolve_rows)(rows, feeds)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    logger.warning("stream_django: reading feed events failed; retrying", exc_info=True)
                    failed = True
                    await asyncio.sleep(min(1.0, self.transport.poll_interval))
                    continue
                newest = rows[-1][0]
                self.position = newest
                joined = set(snapshot)
                # Indexed by feed, so a batch costs each subscriber a lookup
                # per feed it listens to, not a test per event.
                by_feed: dict[str, list[tuple[int, FeedEvent]]] = {}
                for n, event in enumerate(events):
                    by_feed.setdefault(event.feed, []).append((n, event))
                for subscription in list(self.subscribers):
                    if subscription not in joined:
                        subscription.behind(newest)
                        continue
                    mine = [item for feed in subscription.feeds for item in by_feed.get(feed, ())]
                    if len(mine) > 1:
                        mine.sort(key=lambda item: item[0])
                    for _n, event in mine:
                        subscription.push(event)
        finally:
            if not self.subscribers:
                self.position = None
                self.task = None  # a subscriber joining now starts a new reader
                await self.transport.aclose()


def hub_for(transport: BaseTransport) -> Hub:
    loop = asyncio.get_running_loop()
    hubs = _hubs.setdefault(loop, {})
    hub = hubs.get(id(transport))
    if hub is None or hub.transport is not transport:
        hub = hubs[id(transport)] = Hub(transport)
    return hub


async def open_subscription(feed_ids: Sequence[str], last_event_id: str | None = None) -> Subscription:
    """Return a ``Subscription`` to ``feed_ids`` after ``last_event_id``.

    Raises ``EventsExpired`` when ``last_event_id`` is older than the window.
    """
    if isinstance(feed_ids, str) or not feed_ids:
        raise InputException(f"subscribe takes a non-empty list of feed ids, got {feed_ids!r}")
    feeds = frozenset(str(f) for f in feed_ids)
    for feed in feeds:
        parse_feed_id(feed)
    transport = await sync_to_async(store.get_transport)()
    if transport is None:
        raise InputException("no local feed events on this backend (docs/realtime.md)")
    start = await sync_to_async(store.check_after)(transport, last_event_id)
    hub = hub_for(transport)
    subscription = await hub.join(feeds)
    if start is not None:
        # Replay from the client's event to where live delivery starts.
        upto = subscription.cursor[0]
        subscription.cursor = start
        subscription.catch_up_to = upto
    return subscription


async def subscribe(feed_ids: Sequence[str], last_event_id: str | None = None) -> AsyncIterator[FeedEvent]:
    """Yield the events of ``feed_ids``: first those after ``last_event_id``
    (exactly once, in order), then live ones, until the caller stops.

    Raises ``EventsExpired`` (before or while yielding) when events after
    the client's position are no longer kept: the client must reload.
    """
    subscription = await open_subscription(feed_ids, last_event_id)
    try:
        while True:
            event = await subscription.get()
            if event is not None:
                yield event
    finally:
        subscription.close()
