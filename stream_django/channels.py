"""
The feed events over a WebSocket, for sites on Django Channels (the
``channels`` extra; docs/realtime.md, "Channels").

Route to ``FeedConsumer`` behind Channels' ``AuthMiddlewareStack`` (the
session's user; a client without the session connects with a feed token,
``?api_key=<key>&token=<jwt>``, as for the SSE endpoint)::

    URLRouter([path("ws/feeds/", FeedConsumer.as_asgi())])

The client sends ``{"type": "subscribe", "feeds": ["timeline:42"],
"last_event_id": "..."}`` (``feeds`` left out: the user's news feeds and
notification feed); each feed is checked with the REST API's permission
policy (``STREAM_API_PERMISSION_CLASS``, ``stream_django.api.permissions``)
before anything is sent. The consumer answers ``{"type": "subscribed",
"feeds": [...]}``, then sends ``{"type": "feed", "id", "feed", "data"}`` for
each event: first those after ``last_event_id``, then the live ones, in the
order and with the ids of the SSE endpoint, from the same subscription as
``stream_django.events.subscribe()`` (``open_subscription``). ``{"type": "reload"}`` says the
events after ``last_event_id`` are no longer kept; ``{"type": "error",
"error", "detail"}`` a refused or malformed request. A new ``subscribe``
replaces the previous one; ``{"type": "unsubscribe"}`` ends it.

Channels' group layer is not used: a group send carries no id and keeps
nothing, so it could neither resume nor replay, and it needs a channel
layer server of its own; each consumer reads the events' transport, as the
SSE endpoint does.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any
from urllib.parse import parse_qs

from asgiref.sync import sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.core.serializers.json import DjangoJSONEncoder
from django.utils.module_loading import import_string

from stream_django.api.permissions import READ, FeedRef
from stream_django.conf import stream_settings
from stream_django.engine.feeds import get_group, parse_feed_id
from stream_django.events import EventsExpired, Subscription, open_subscription
from stream_django.exceptions import FeedConfigException, InputException, NotAllowedException, SignatureException
from stream_django.stream_api import tokens
from stream_django.stream_api.http import endpoint_keys

logger = logging.getLogger(__name__)

#: The most feeds one subscription may name.
MAX_FEEDS = 50

#: WebSocket close code when nobody is signed in (4000-4999: the application's own).
CLOSE_UNAUTHENTICATED = 4401


class _SocketRequest:
    """What the permission policy is handed in place of a DRF request:
    ``user``, ``auth`` (``None``) and ``method`` (``"GET"``: a read), and the
    connection's ASGI ``scope``."""

    method = "GET"
    auth = None

    def __init__(self, scope: dict[str, Any]) -> None:
        self.scope = scope
        self.user = scope.get("user")


class _SocketView:
    """What the permission policy is handed as the view: ``feed_action``."""

    feed_action = READ


class FeedConsumer(AsyncJsonWebsocketConsumer):
    """Sends the events of the feeds a signed-in user may read.

    Subclass and override ``default_feeds(user)`` (which feeds a
    ``subscribe`` without ``feeds`` means) or ``may_read(user, feed)``
    (the permission check; by default the REST API's policy).
    """

    _pump: asyncio.Task[None] | None = None
    #: The connection's feed token (``?api_key=&token=``), once verified.
    _token: tokens.Token | None = None

    async def connect(self) -> None:
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        if "token" in query:
            api_key, token = query.get("api_key", [""])[0], query["token"][0]
            try:
                self._token = await sync_to_async(_verified)(api_key, token)
            except SignatureException:
                await self.close(code=CLOSE_UNAUTHENTICATED)
                return
            await self.accept()
            return
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        await self.accept()

    async def disconnect(self, code: int) -> None:
        await self._stop()

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        kind = content.get("type") if isinstance(content, dict) else None
        if kind == "subscribe":
            await self._subscribe(content)
        elif kind == "unsubscribe":
            await self._stop()
            await self.send_json({"type": "unsubscribed"})
        else:
            await self._error("bad_message", "send {'type': 'subscribe', 'feeds': [...]} or {'type': 'unsubscribe'}")

    @classmethod
    async def encode_json(cls, content: Any) -> str:
        """JSON as the SSE endpoint writes an event's data (Django's JSON
        encoder: times in ISO 8601)."""
        return json.dumps(content, cls=DjangoJSONEncoder, separators=(",", ":"))

    @classmethod
    async def decode_json(cls, text_data: str) -> Any:
        try:
            return await super().decode_json(text_data)
        except ValueError:
            return None  # answered as a bad message

    # -- what a site may override -------------------------------------------------

    def default_feeds(self, user: Any) -> list[str]:
        """The feeds of a ``subscribe`` without ``feeds``: ``user``'s news
        feeds (``STREAM_NEWS_FEEDS``) and notification feed."""
        slugs = [*stream_settings.NEWS_FEEDS.values(), stream_settings.NOTIFICATION_FEED]
        return [f"{slug}:{user.pk}" for slug in dict.fromkeys(slugs)]

    def may_read(self, user: Any, feed: FeedRef) -> bool:
        """Whether ``user`` may read ``feed``: ``STREAM_API_PERMISSION_CLASS``'s
        ``has_permission`` and ``has_object_permission`` for a read, as the
        REST API asks it."""
        policy = import_string(stream_settings.API_PERMISSION_CLASS)()
        request, view = _SocketRequest(self.scope), _SocketView()
        return bool(policy.has_permission(request, view) and policy.has_object_permission(request, view, feed))

    # -- the subscription -----------------------------------------------------------

    async def _subscribe(self, content: dict[str, Any]) -> None:
        await self._stop()
        user = self.scope.get("user")
        feeds = content.get("feeds")
        last_event_id = content.get("last_event_id")
        if last_event_id is not None and not isinstance(last_event_id, str):
            await self._error("bad_message", f"last_event_id must be a string, got {last_event_id!r}")
            return
        if feeds is None:
            if self._token is not None:
                await self._error("bad_message", "a connection with a feed token names its feeds")
                return
            feeds = self.default_feeds(user)
        if not isinstance(feeds, list) or not feeds or len(feeds) > MAX_FEEDS:
            await self._error("bad_message", f"feeds must be a list of 1 to {MAX_FEEDS} 'slug:user_id' strings")
            return
        try:
            refs = await sync_to_async(self._checked)(user, feeds)
        except InputException as e:
            await self._error("bad_feed", str(e))
            return
        except PermissionError as e:
            await self._error("forbidden", str(e))
            return
        ids = [ref.id for ref in refs]
        try:
            subscription = await open_subscription(ids, last_event_id or None)
        except EventsExpired as e:
            await self.send_json({"type": "reload", "detail": str(e)})
            return
        except InputException as e:  # a malformed last_event_id, or no events on this backend
            await self._error("bad_last_event_id" if last_event_id else "unavailable", str(e))
            return
        # Live delivery has started: an event committed from now on is sent.
        await self.send_json({"type": "subscribed", "feeds": ids})
        self._pump = asyncio.ensure_future(self._forward(subscription))

    def _checked(self, user: Any, feeds: list[Any]) -> list[FeedRef]:
        refs: dict[str, FeedRef] = {}
        for value in feeds:
            feed_id = parse_feed_id(value, what="feed")
            slug, user_id = feed_id.split(":", 1)
            try:
                group = get_group(slug)
            except FeedConfigException:
                raise InputException(f"feed group {slug!r} does not exist") from None
            ref = FeedRef(slug=slug, user_id=user_id, group=group)
            if self._token is not None:
                try:
                    self._token.require("feed", "read", ref.id)
                except NotAllowedException:
                    raise PermissionError(f"you may not read the feed {ref.id}") from None
            elif not self.may_read(user, ref):
                raise PermissionError(f"you may not read the feed {ref.id}")
            refs[ref.id] = ref
        return list(refs.values())

    async def _forward(self, subscription: Subscription) -> None:
        try:
            while True:
                event = await subscription.get()
                if event is not None:
                    await self.send_json({"type": "feed", "id": event.id, "feed": event.feed, "data": event.data})
        except EventsExpired as e:
            await self.send_json({"type": "reload", "detail": str(e)})
        except Exception:
            logger.exception("feed events of %s stopped", ", ".join(sorted(subscription.feeds)))
            await self._error("unavailable", "the feed events are unavailable; subscribe again")
        finally:
            subscription.close()

    async def _stop(self) -> None:
        pump, self._pump = self._pump, None
        if pump is not None and not pump.done():
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pump

    async def _error(self, error: str, detail: str) -> None:
        await self.send_json({"type": "error", "error": error, "detail": detail})


def _verified(api_key: str, token: str) -> tokens.Token:
    """The feed token of a connection, checked as the SSE endpoint checks it."""
    secret = endpoint_keys().get(api_key)
    if secret is None:
        raise SignatureException(f"api_key {api_key!r} is not valid")
    return tokens.Token(tokens.verify(token, secret))
