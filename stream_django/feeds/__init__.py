"""
The feeds API: stream-python's ``Client`` and ``Feed`` over any backend.

``get_client(backend)`` returns what ``stream_client`` stands for: for a
local store (database, Redis) a ``Client`` of this package, built once per
backend instance; for the getstream backend, stream-python's own client.
``get_async_client(backend)`` returns its async twin, what
``async_stream_client`` stands for (``stream_django.feeds.aio``).
"""

from __future__ import annotations

import threading
import weakref
from typing import Any

from stream_django.backends import get_backend
from stream_django.backends.base import BaseBackend, BaseRemoteBackend, BaseStorageBackend
from stream_django.feeds.aio import AsyncClient, AsyncFeed, ThreadedClient
from stream_django.feeds.client import Client
from stream_django.feeds.feed import Feed

__all__ = ["AsyncClient", "AsyncFeed", "Client", "Feed", "get_async_client", "get_client"]

_lock = threading.Lock()
_clients: weakref.WeakKeyDictionary[BaseStorageBackend, Client] = weakref.WeakKeyDictionary()
_async_clients: weakref.WeakKeyDictionary[BaseBackend, AsyncClient | ThreadedClient] = weakref.WeakKeyDictionary()


def get_client(backend: BaseBackend | None = None) -> Any:
    """Return the feeds client of ``backend`` (default: the configured one)."""
    backend = get_backend() if backend is None else backend
    if isinstance(backend, BaseRemoteBackend):
        return backend.client
    if not isinstance(backend, BaseStorageBackend):
        raise TypeError(f"{type(backend).__name__} is neither a storage backend nor a remote one")
    client = _clients.get(backend)
    if client is None:
        with _lock:
            client = _clients.get(backend)
            if client is None:
                client = _clients[backend] = Client(backend)
    return client


def get_async_client(backend: BaseBackend | None = None) -> Any:
    """Return the async feeds client of ``backend`` (default: the configured
    one): an ``AsyncClient`` for a local store, a ``ThreadedClient`` around
    stream-python's client for the getstream backend."""
    backend = get_backend() if backend is None else backend
    client = _async_clients.get(backend)
    if client is None:
        sync = get_client(backend)
        with _lock:
            client = _async_clients.get(backend)
            if client is None:
                client = AsyncClient(sync) if isinstance(sync, Client) else ThreadedClient(sync)
                _async_clients[backend] = client
    return client
