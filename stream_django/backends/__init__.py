"""
Feed storage backends, chosen by ``STREAM_BACKEND``.

``get_backend()`` returns the configured backend, built once per process and
rebuilt when a ``STREAM_*`` setting changes (``override_settings`` works).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from django.utils.module_loading import import_string

from stream_django.conf import stream_settings
from stream_django.exceptions import InvalidStreamBackend
from stream_django.signals import resets_on_setting_changed

if TYPE_CHECKING:
    from stream_django.backends.base import BaseBackend

_lock = threading.Lock()
_backend: BaseBackend | None = None


def load_backend_class(path: str) -> type[BaseBackend]:
    """Import the backend class at ``path`` or raise ``InvalidStreamBackend``."""
    from stream_django.backends.base import BaseBackend

    try:
        cls = import_string(path)
    except ImportError as e:
        raise InvalidStreamBackend(f"Could not import STREAM_BACKEND {path!r}: {e}") from e
    if not (isinstance(cls, type) and issubclass(cls, BaseBackend)):
        raise InvalidStreamBackend(
            f"STREAM_BACKEND {path!r} is not a subclass of stream_django.backends.base.BaseBackend"
        )
    return cls


def get_backend() -> BaseBackend:
    """Return the configured backend instance."""
    global _backend
    backend = _backend
    if backend is None:
        with _lock:
            if _backend is None:
                cls = load_backend_class(stream_settings.backend_path)
                _backend = cls(dict(stream_settings.BACKEND_OPTIONS or {}))
            backend = _backend
    return backend


@resets_on_setting_changed
def reset_backend() -> None:
    """Forget the backend instance, closing it."""
    global _backend
    with _lock:
        if _backend is not None:
            _backend.close()
        _backend = None
