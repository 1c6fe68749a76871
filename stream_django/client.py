"""
``stream_client``: the feeds client of the configured backend.

With the database or Redis backend it is a ``stream_django.engine.client.Client``
with stream-python's methods; with the getstream backend it is stream-python's
own ``stream.Client``. It is resolved on each use, so ``override_settings``
of ``STREAM_BACKEND`` takes effect at once.
"""

from __future__ import annotations

from typing import Any

from stream_django.backends import get_backend


def init_client(raise_config_error: bool = False) -> Any:
    """Return the client of the configured backend (stream-django's name)."""
    return get_backend().client


class _StreamClientProxy:
    """Forwards every attribute to the configured backend's client."""

    def __getattr__(self, name: str) -> Any:
        return getattr(get_backend().client, name)

    def __repr__(self) -> str:
        return f"<stream_client -> {get_backend().client!r}>"


stream_client: Any = _StreamClientProxy()
