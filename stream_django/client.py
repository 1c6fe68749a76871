"""
``stream_client``: the feeds client of the configured backend.

With the database or Redis backend it is a ``stream_django.feeds.Client``
with stream-python's methods; with the getstream backend it is stream-python's
own ``stream.Client``. It is resolved on each use, so ``override_settings``
of ``STREAM_BACKEND`` takes effect at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from stream_django.feeds import get_client

if TYPE_CHECKING:
    from stream_django.feeds.protocol import StreamClient


def init_client(raise_config_error: bool = False) -> StreamClient:
    """Return the client of the configured backend (stream-django's name)."""
    return cast("StreamClient", get_client())


class _StreamClientProxy:
    """Forwards every attribute to the configured backend's client."""

    def __getattr__(self, name: str) -> Any:
        return getattr(get_client(), name)

    def __repr__(self) -> str:
        return f"<stream_client -> {get_client()!r}>"


stream_client: StreamClient = cast("StreamClient", _StreamClientProxy())
