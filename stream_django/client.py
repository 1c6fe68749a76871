"""
``stream_client``: the feeds client of the configured backend.

With the database or Redis backend it is a ``stream_django.feeds.Client``
with stream-python's methods; with the getstream backend it is stream-python's
own ``stream.Client``. It is resolved on each use, so ``override_settings``
of ``STREAM_BACKEND`` takes effect at once.

``async_stream_client`` is its async twin (stream-python's
``stream.connect(..., use_async=True)``): the same methods as coroutines,
``await async_stream_client.feed("user", 1).get(limit=10)``; see the
"Async API" section of docs/feeds-api.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from stream_django.feeds import get_async_client, get_client

if TYPE_CHECKING:
    from stream_django.feeds.protocol import StreamClient


def init_client(raise_config_error: bool = False) -> StreamClient:
    """Return the client of the configured backend (stream-django's name)."""
    return cast("StreamClient", get_client())


class _StreamClientProxy:
    """Forwards every attribute to the configured backend's client."""

    def __init__(self, resolve: Any = get_client, name: str = "stream_client") -> None:
        self._resolve = resolve
        self._name = name

    def __getattr__(self, name: str) -> Any:
        return getattr(self._resolve(), name)

    def __repr__(self) -> str:
        return f"<{self._name} -> {self._resolve()!r}>"


stream_client: StreamClient = cast("StreamClient", _StreamClientProxy())
#: The async client of the configured backend (``get_async_client()``), resolved on each use.
async_stream_client: Any = _StreamClientProxy(get_async_client, "async_stream_client")
