"""
``HostedClient``: stream-python's ``StreamClient`` with stream_django's errors.

Requests, URLs and bodies are stream-python's own; only the failure paths
change:

- an error answered by the hosted API becomes the ``stream_django.exceptions``
  class of its ``code`` (which also subclasses the ``stream.exceptions``
  namesake, so both ``except`` spellings catch it);
- a network failure or timeout (any ``requests`` exception) becomes
  ``BackendUnavailable`` naming the backend and the API address, chained to
  the original error; so does a 502/503/504 answer without an error body;
- stream-python's own argument checks that raise ``ValueError`` (a bad feed
  slug, user id or ``to`` target, ``remove_activity()`` without an id) raise
  ``InputException`` instead, which is a ``ValueError`` too. Its
  ``TypeError`` checks are left as they are.

This module imports ``stream`` at import time: import it only where
stream-python is known to be installed.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import requests
import stream
from stream import exceptions as theirs
from stream.client import StreamClient
from stream.feed import Feed

from stream_django import exceptions as ours

#: Gateway answers without an error body mean "the service is not there".
UNAVAILABLE_STATUSES = frozenset({502, 503, 504})

F = TypeVar("F", bound=Callable[..., Any])


def input_errors(method: F) -> F:
    """Raise stream-python's client-side ``ValueError`` as ``InputException``."""

    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except ValueError as e:
            if isinstance(e, ours.StreamApiException):
                raise
            raise ours.InputException(str(e)) from e

    return wrapper  # type: ignore[return-value]


@functools.cache
def exception_class(code: Any) -> type[ours.StreamApiException]:
    """Return stream_django's exception class for a hosted error ``code``.

    Codes stream_django defines map to its classes. Other codes stream-python
    knows (e.g. 7, ``SiteSuspendedException``) get a class of the same name
    subclassing both the nearest stream_django class and stream-python's
    class. Unknown codes give ``StreamApiException``.
    """
    if code in ours.EXCEPTIONS_BY_CODE:
        return ours.EXCEPTIONS_BY_CODE[code]
    their_cls = theirs.get_exception_dict().get(code)
    if their_cls is None or their_cls is theirs.StreamApiException:
        return ours.StreamApiException
    base: type[ours.StreamApiException] = ours.StreamApiException
    for ancestor in their_cls.__mro__[1:]:
        candidate = ours.EXCEPTIONS_BY_CODE.get(getattr(ancestor, "code", -1))
        if candidate is not None and candidate.__name__ == ancestor.__name__:
            base = candidate
            break
    return type(
        their_cls.__name__,
        (base, their_cls),
        {
            "code": their_cls.code,
            "status_code": getattr(their_cls, "status_code", ours.StreamApiException.status_code),
            "__module__": __name__,
            "__doc__": f"Hosted error code {their_cls.code} ({their_cls.__name__}).",
        },
    )


def convert(error: theirs.StreamApiException, status_code: int | None = None) -> ours.StreamApiException:
    """Return the stream_django exception equivalent to stream-python's ``error``."""
    if isinstance(error, ours.StreamApiException):
        return error
    cls = exception_class(getattr(error, "code", None))
    status = status_code if status_code is not None else getattr(error, "status_code", None)
    return cls(getattr(error, "detail", str(error)), status_code=status)


class HostedFeed(Feed):
    """stream-python's ``Feed`` whose argument errors are ``InputException``."""

    add_activity = input_errors(Feed.add_activity)
    add_activities = input_errors(Feed.add_activities)
    remove_activity = input_errors(Feed.remove_activity)
    follow = input_errors(Feed.follow)
    unfollow = input_errors(Feed.unfollow)


class HostedClient(StreamClient):
    """stream-python's client whose errors are stream_django's."""

    #: The backend name used in ``BackendUnavailable`` messages.
    backend_name = "getstream"

    @input_errors
    def feed(self, feed_slug: Any, user_id: Any) -> HostedFeed:
        """Return stream-python's feed ``feed_slug:user_id`` as a ``HostedFeed``."""
        feed = super().feed(feed_slug, user_id)
        feed.__class__ = HostedFeed  # adds no state: only wraps methods
        return feed

    get_activities = input_errors(StreamClient.get_activities)

    @property
    def api_address(self) -> str:
        """The base URL of the feeds API, e.g. ``https://api.stream-io-api.com/api/v1.0/``."""
        return self.get_full_url("api", "")

    def _make_request(
        self,
        method: Callable[..., Any],
        relative_url: str,
        signature: str,
        service_name: str = "api",
        params: dict[str, Any] | None = None,
        data: Any = None,
    ) -> Any:
        try:
            return super()._make_request(
                method, relative_url, signature, service_name=service_name, params=params, data=data
            )
        except requests.Timeout as e:
            raise ours.BackendUnavailable(
                f"{self.backend_name} backend: no answer from {self.get_full_url(service_name, relative_url)} "
                f"within {self.timeout} s (STREAM_TIMEOUT): {e}"
            ) from e
        except requests.RequestException as e:
            raise ours.BackendUnavailable(
                f"{self.backend_name} backend: cannot reach {self.get_full_url(service_name, relative_url)}: {e}"
            ) from e

    def raise_exception(self, result: Any, status_code: int) -> None:
        """Raise the stream_django exception for an error answer."""
        has_error_body = isinstance(result, dict) and result.get("exception")
        if not has_error_body and status_code in UNAVAILABLE_STATUSES:
            raise ours.BackendUnavailable(
                f"{self.backend_name} backend: {self.api_address} answered HTTP {status_code}",
                status_code=status_code,
            )
        if isinstance(result, dict) and "detail" not in result:
            # stream-python reads "detail" unguarded; give it the error name.
            result = {**result, "detail": str(result.get("exception") or f"HTTP {status_code}")}
        try:
            super().raise_exception(result, status_code)
        except theirs.StreamApiException as e:
            raise convert(e, status_code) from None


def connect(**kwargs: Any) -> HostedClient:
    """Return ``stream.connect(**kwargs)`` as a ``HostedClient``.

    ``stream.connect`` keeps its own argument handling (``STREAM_URL``,
    ``STREAM_REGION``, ``location``); the client it builds is then given the
    subclass that maps errors, which adds no state of its own.
    """
    client = stream.connect(**kwargs)
    if not isinstance(client, StreamClient):  # pragma: no cover - use_async is never passed
        raise TypeError(f"stream.connect returned {type(client).__name__}, not a StreamClient")
    client.__class__ = HostedClient
    return client
