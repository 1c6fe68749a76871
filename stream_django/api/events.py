"""
Server-Sent Events of one feed: ``GET {mount}/<slug>/<user_id>/events/``
(docs/realtime.md).

The request is authorised as the REST API authorises a read (the site's
authentication and ``STREAM_API_PERMISSION_CLASS``, with the same errors),
or by a feed token (``?api_key=<key>&token=<jwt>``, a Stream token signed
with a secret of ``STREAM_ENDPOINT_KEYS`` that grants ``feed``/``read`` on
the feed). Each event goes out as ``id: <event id>``, ``event: feed`` and
``data: <realtime message>``; ``Last-Event-ID`` (or ``?last_event_id=``)
replays what followed it, exactly once, in order; ``: ping`` comments keep
the connection alive; when the events after the client's id are no longer
kept it gets ``event: reload`` and the stream ends.

The view is async and streams for as long as the client stays: it needs an
ASGI server. Under WSGI it answers 501.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIRequest
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.views.decorators.http import require_GET
from rest_framework.request import Request
from rest_framework.response import Response

from stream_django.api.permissions import READ
from stream_django.api.views import FeedAPIView
from stream_django.engine.feeds import feed_id
from stream_django.events import EventsExpired, FeedEvent, Subscription, open_subscription
from stream_django.events.store import options
from stream_django.exceptions import InputException, NotAllowedException, SignatureException
from stream_django.stream_api import tokens
from stream_django.stream_api.http import endpoint_keys

#: What a client's ``EventSource`` waits before reconnecting, in milliseconds.
RETRY_MS = 2000


class EventsAccess(FeedAPIView):
    """The REST API's checks for reading the feed, without reading it."""

    feed_action = READ

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        # The client accepts text/event-stream; the errors are the API's JSON.
        return super().perform_content_negotiation(request, force=True)

    def get(self, request: Request, slug: str, user_id: str) -> Response:
        return Response({"feed": self.feed_ref().id})


def _token_error(request: HttpRequest, feed: str) -> HttpResponse | None:
    """Check the feed token of the query; ``None`` when it grants reading ``feed``."""
    api_key, token = request.GET.get("api_key", ""), request.GET.get("token", "")
    secret = endpoint_keys().get(api_key)
    if secret is None:
        return JsonResponse({"detail": f"api_key {api_key!r} is not valid"}, status=401)
    try:
        tokens.Token(tokens.verify(token, secret)).require("feed", "read", feed)
    except SignatureException as e:
        return JsonResponse({"detail": str(e)}, status=401)
    except NotAllowedException as e:
        return JsonResponse({"detail": str(e)}, status=403)
    return None


def frame(event: FeedEvent) -> bytes:
    """One event as the stream sends it."""
    data = json.dumps(event.data, cls=DjangoJSONEncoder, separators=(",", ":"))
    return f"id: {event.id}\nevent: feed\ndata: {data}\n\n".encode()


RELOAD = b'event: reload\ndata: {"reason":"the events since your last one are no longer kept: reload the feed"}\n\n'


async def _stream(subscription: Subscription, heartbeat: float) -> AsyncIterator[bytes]:
    try:
        yield f"retry: {RETRY_MS}\n: connected\n\n".encode()
        while True:
            try:
                event = await subscription.get(timeout=heartbeat)
            except EventsExpired:
                yield RELOAD
                return
            yield b": ping\n\n" if event is None else frame(event)
    finally:
        subscription.close()


def _streaming(body: AsyncIterator[bytes]) -> StreamingHttpResponse:
    response = StreamingHttpResponse(body, content_type="text/event-stream; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx: do not buffer this response
    return response


async def _once(message: bytes) -> AsyncIterator[bytes]:
    yield message


@require_GET
async def feed_events(request: HttpRequest, slug: str, user_id: str) -> HttpResponseBase:
    """The SSE stream of feed ``slug:user_id``."""
    if not isinstance(request, ASGIRequest):
        return JsonResponse(
            {
                "detail": "the events endpoint streams for as long as the client stays, so it needs an "
                "ASGI server (uvicorn, daphne); this site runs under WSGI (docs/realtime.md)"
            },
            status=501,
        )
    if "token" in request.GET:
        try:
            feed = feed_id(slug, user_id)
        except InputException as e:
            return JsonResponse({"detail": str(e)}, status=400)
        refused = await sync_to_async(_token_error)(request, feed)
        if refused is not None:
            return refused
    else:
        checked: Any = await sync_to_async(EventsAccess.as_view())(request, slug=slug, user_id=user_id)
        if checked.status_code != 200:
            return checked
        feed = checked.data["feed"]
    last = request.headers.get("Last-Event-ID") or request.GET.get("last_event_id") or None
    try:
        subscription = await open_subscription([feed], last)
    except EventsExpired:
        return _streaming(_once(RELOAD))
    except InputException as e:
        return JsonResponse({"last_event_id": [str(e)]}, status=400)
    heartbeat = float((await sync_to_async(options)())["heartbeat"])
    return _streaming(_stream(subscription, heartbeat))
