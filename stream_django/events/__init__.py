"""
Feed events after commit (docs/realtime.md).

Every write through the feeds API stores one record once its transaction
commits; each feed it changed reads it as one ``FeedEvent`` whose ``data``
is Stream's realtime message. In the process, ``stream_django.signals.
feed_changed`` is sent per event; between processes the transport of
``STREAM_EVENTS`` carries them (Redis Streams, or a database table).
"""

from __future__ import annotations

from stream_django.events.live import Subscription, open_subscription, subscribe
from stream_django.events.records import EventsExpired, FeedEvent
from stream_django.events.store import forget, get_transport, history, quiet, transport_name

__all__ = [
    "EventsExpired",
    "FeedEvent",
    "Subscription",
    "forget",
    "get_transport",
    "history",
    "open_subscription",
    "quiet",
    "subscribe",
    "transport_name",
]
