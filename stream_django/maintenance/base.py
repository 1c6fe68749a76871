"""What every maintenance operation needs: the store, its capabilities, progress."""

from __future__ import annotations

from collections.abc import Callable

from stream_django.backends import get_backend
from stream_django.backends.base import BaseStorageBackend
from stream_django.exceptions import MaintenanceUnsupported

#: ``progress(done, total)``: called as an operation advances (``total``:
#: ``None`` when unknown).
Progress = Callable[[int, int | None], None]

CAPABILITIES = {
    "supports_activity_scan": "scanning every stored activity",
    "supports_feed_erasure": "erasing feeds",
    "supports_trim": "trimming feeds",
    "supports_fanout_chunks": "copying into a feed (chunked fan-out)",
}


def storage_backend(*capabilities: str) -> BaseStorageBackend:
    """Return the configured local store, checking that it declares each of
    ``capabilities`` (``supports_*`` flags of ``BaseStorageBackend``)."""
    backend = get_backend()
    if not isinstance(backend, BaseStorageBackend):
        raise MaintenanceUnsupported(
            f"the {backend.name} backend is a remote engine: use the service's own dashboard and API for this"
        )
    for flag in capabilities:
        if not getattr(backend, flag):
            raise MaintenanceUnsupported(
                f"the {backend.name} backend does not support {CAPABILITIES.get(flag, flag)} ({flag} is false)"
            )
    return backend


def noop(done: int, total: int | None) -> None:
    """A progress callback that shows nothing."""
