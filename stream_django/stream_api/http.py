"""
Requests and responses as the hosted service speaks them.

``endpoint`` turns a table of handlers (one per HTTP method, each naming
the permission it needs) into a view: it answers CORS preflights,
authenticates the call (``api_key`` + ``Authorization`` JWT), runs the
handler and writes its result, or Stream's error body
``{"code", "detail", "exception", "status_code", "duration"}``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from stream_django.conf import stream_settings
from stream_django.engine import serializer
from stream_django.exceptions import (
    ApiKeyException,
    DoesNotExistException,
    InputException,
    NotAllowedException,
    SignatureException,
    StreamApiException,
)
from stream_django.feeds.params import Timer
from stream_django.stream_api.tokens import Token, verify

try:  # pragma: no branch
    from stream.exceptions import StreamApiException as _TheirStreamApiException
except ImportError:  # stream-python is an optional extra
    _TheirStreamApiException = StreamApiException

#: Errors the feeds API raises for bad calls: stream-python's (the
#: getstream backend) and this package's, which subclass them when installed.
API_ERRORS: tuple[type[Exception], ...] = (StreamApiException, _TheirStreamApiException)

#: The browser clients send their token in a header, never a cookie, so any
#: origin may call; this is what the hosted service answers too.
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST, PUT, DELETE, OPTIONS",
    "Access-Control-Allow-Headers": "Authorization, Content-Type, Stream-Auth-Type, X-Stream-Client",
    "Access-Control-Max-Age": "86400",
}


def endpoint_keys() -> dict[str, str]:
    """Return ``STREAM_ENDPOINT_KEYS`` (API key -> secret), checked."""
    keys = stream_settings.ENDPOINT_KEYS
    if not isinstance(keys, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and k and v for k, v in keys.items()
    ):
        raise ImproperlyConfigured("STREAM_ENDPOINT_KEYS must be a dict of API key -> secret, both non-empty strings")
    return keys


class Call:
    """One authenticated request to the endpoint."""

    def __init__(self, request: HttpRequest, token: Token, secret: str, timer: Timer) -> None:
        self.request = request
        self.token = token
        self.secret = secret
        self.timer = timer
        self.params = request.GET

    def body(self) -> Any:
        """The JSON body (``{}`` when empty)."""
        if not self.request.body:
            return {}
        try:
            return json.loads(self.request.body)
        except ValueError as e:
            raise InputException(f"the request body is not JSON: {e}") from None

    def object_body(self) -> dict[str, Any]:
        body = self.body()
        if not isinstance(body, dict):
            raise InputException(f"the request body must be a JSON object, got {type(body).__name__}")
        return body

    def require(self, resource: str, action: str, feed: str | None) -> None:
        self.token.require(resource, action, feed)

    def require_targets(self, targets: Any) -> None:
        """Every ``to`` target is one the token may write to, or carries its
        own token for it (``"slug:user_id <token>"``, as stream-python sends)."""
        if self.token.is_server_token or not targets or not isinstance(targets, (list, tuple)):
            return
        for entry in targets:
            if not isinstance(entry, str):
                continue  # the feeds API rejects it by name
            target, _, own = entry.partition(" ")
            if self.token.allows("feed", "write", target):
                continue
            if own:
                try:
                    if Token(verify(own.strip(), self.secret)).allows("feed", "write", target):
                        continue
                except SignatureException:
                    pass
            raise NotAllowedException(
                f"You don't have the permission to do this: the token does not grant feed/write on the 'to' target "
                f"{target}, and the target carries no token of its own"
            )

    def param(self, name: str, default: Any = None) -> Any:
        return self.params.get(name, default)


#: ``handler(call, **url_kwargs) -> (status, result)``
Handler = Callable[..., tuple[int, Any]]


def respond(status: int, result: Any, timer: Timer) -> HttpResponse:
    if isinstance(result, dict) and "duration" not in result:
        result = {**result, "duration": timer.duration}
    response = HttpResponse(serializer.dumps(result), status=status, content_type="application/json")
    for name, value in CORS_HEADERS.items():
        response[name] = value
    return response


def error_response(e: Exception, timer: Timer) -> HttpResponse:
    status = int(getattr(e, "status_code", None) or 500)
    detail = getattr(e, "detail", None) or str(e)
    body = {
        "code": getattr(e, "code", 1),
        "detail": detail,
        "exception": type(e).__name__,
        "status_code": status,
        "duration": timer.duration,
    }
    return respond(status, body, timer)


def authenticate(request: HttpRequest) -> tuple[Token, str]:
    """Return the request's token and its key's secret, or raise 401."""
    keys = endpoint_keys()
    api_key = request.GET.get("api_key")
    if not api_key:
        raise ApiKeyException("the api_key query parameter is missing")
    secret = keys.get(api_key)
    if secret is None:
        raise ApiKeyException(f"api_key {api_key!r} is not valid")
    if request.headers.get("Stream-Auth-Type", "").lower() != "jwt":
        raise SignatureException("the Stream-Auth-Type header must be 'jwt'")
    raw = request.headers.get("Authorization", "").strip()
    if raw.lower().startswith("bearer "):
        raw = raw[7:].strip()
    if not raw:
        raise SignatureException("the Authorization header (a JWT signed with the API secret) is missing")
    return Token(verify(raw, secret)), secret


def endpoint(handlers: dict[str, Handler]) -> Callable[..., HttpResponse]:
    """Return the view serving ``handlers`` (HTTP method -> handler)."""

    @csrf_exempt
    def view(request: HttpRequest, **kwargs: Any) -> HttpResponse:
        timer = Timer()
        if request.method == "OPTIONS":
            return respond(200, {}, timer)
        try:
            token, secret = authenticate(request)
            handler = handlers.get(request.method or "")
            if handler is None:
                allowed = ", ".join(sorted(handlers)) or "none"
                raise NotAllowedException(
                    f"method {request.method} is not allowed on {request.path} (allowed: {allowed})", status_code=405
                )
            status, result = handler(Call(request, token, secret, timer), **kwargs)
        except API_ERRORS as e:
            return error_response(e, timer)
        except ValueError as e:
            return error_response(InputException(str(e)), timer)
        return respond(status, result, timer)

    return view


def unknown_route(call: Call, **kwargs: Any) -> tuple[int, Any]:
    raise DoesNotExistException(
        f"{call.request.path} is not a route of this API: the site serves feeds, follows and activities; "
        "reactions, collections, users, personalization, files, images and analytics are not served"
    )
