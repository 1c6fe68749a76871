"""
Settings of stream_django, read lazily from ``django.conf.settings``.

Every setting is optional::

    STREAM_BACKEND = "stream_django.backends.database.DatabaseBackend"
    STREAM_FEEDS = {"user": {"type": "flat"}, ...}

Access them through ``stream_settings`` (``stream_settings.USER_FEED``); the
old module attributes of stream-django (``conf.USER_FEED``,
``conf.NOTIFICATION_FEED``, ...) are still readable from this module.
"""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings

DATABASE_BACKEND = "stream_django.backends.database.DatabaseBackend"
REDIS_BACKEND = "stream_django.backends.redis.RedisBackend"
GETSTREAM_BACKEND = "stream_django.backends.getstream.GetStreamBackend"

DEFAULTS: dict[str, Any] = {
    # Settings kept from stream-django.
    "STREAM_API_KEY": None,
    "STREAM_API_SECRET": None,
    "STREAM_APP_ID": None,
    "STREAM_LOCATION": None,
    "STREAM_TIMEOUT": 6.0,
    "STREAM_FEED_MANAGER_CLASS": "stream_django.managers.FeedManager",
    "STREAM_USER_FEED": "user",
    "STREAM_NEWS_FEEDS": {
        "timeline": "timeline",
        "timeline_aggregated": "timeline_aggregated",
    },
    "STREAM_NOTIFICATION_FEED": "notification",
    "STREAM_DISABLE_MODEL_TRACKING": False,
    # New settings.
    "STREAM_BACKEND": None,
    "STREAM_BACKEND_OPTIONS": {},
    "STREAM_REDIS_URL": None,
    "STREAM_FEEDS": None,
    "STREAM_ACTIVITY_COPY_LIMIT": 100,
    "STREAM_FANOUT_CHUNK_SIZE": 1000,
    # Fan-out through Django's tasks framework (docs/scale-out.md).
    "STREAM_FANOUT_TASK_BACKEND": "default",
    "STREAM_FANOUT_INLINE_LIMIT": 100,
    "STREAM_FANOUT_QUEUE": "stream_fanout",
    "STREAM_FANOUT_BULK_QUEUE": "stream_fanout_bulk",
    "STREAM_FANOUT_RETRY_AFTER": 600,
    "STREAM_PUBLISH_ON_COMMIT": True,
    "STREAM_ON_FAILURE": "record",
    "STREAM_TRACK_UPDATES": True,
    # getstream.io's REST API served by the site (stream_django.stream_api):
    # API key -> secret of the tokens it accepts.
    "STREAM_ENDPOINT_KEYS": {},
    # The django-user-streams API (stream_django.streams).
    "USER_STREAMS_BACKEND": None,
    "USER_STREAMS_USE_UTC": False,
    "USER_STREAMS_FEED": "user_stream",
    "USER_STREAMS_REDIS_KEY_PREFIX": None,
    "USER_STREAMS_REDIS_CLIENT_ARGUMENTS": {},
    # The REST API (stream_django.api, the ``api`` extra; docs/api.md).
    "STREAM_API_SERIALIZERS": {},
    "STREAM_API_DEFAULT_SERIALIZER": "stream_django.api.serializers.ReferenceSerializer",
    "STREAM_API_MISSING_REFERENCES": "omit",
    "STREAM_API_PERMISSION_CLASS": "stream_django.api.permissions.FeedPermission",
    "STREAM_API_THROTTLE_CLASSES": None,
    # Feed events and the SSE endpoint (docs/realtime.md): keys of EVENTS_DEFAULTS.
    "STREAM_EVENTS": {},
}

#: What ``STREAM_EVENTS`` may set (docs/settings.md, docs/realtime.md).
EVENTS_DEFAULTS: dict[str, Any] = {
    # "auto" (Redis Streams on the Redis backend, else the database table;
    # none on getstream.io), "redis", "database" or None (no events).
    "transport": "auto",
    # Seconds of events kept for clients that resume.
    "retention": 86400,
    # Seconds between the SSE endpoint's ": ping" comments.
    "heartbeat": 15,
    # Seconds between polls of the database table when nothing wakes the reader.
    "poll_interval": 1.0,
    # The Redis transport's URL (default STREAM_REDIS_URL) and stream key
    # (default "<key_prefix>{events}").
    "redis_url": None,
    "key": None,
}

#: Old names still honoured: old name -> current name.
RENAMED = {"STREAM_PERSONAL_FEED": "STREAM_NOTIFICATION_FEED"}


class StreamSettings:
    """Lazy, reloadable view of the ``STREAM_*`` settings with defaults."""

    def __init__(self) -> None:
        self._cache: dict[str, Any] = {}

    def __getattr__(self, name: str) -> Any:
        full = name if name.startswith(("STREAM_", "USER_STREAMS_")) else f"STREAM_{name}"
        if full not in DEFAULTS:
            raise AttributeError(f"Invalid stream_django setting: {name!r}")
        try:
            return self._cache[full]
        except KeyError:
            pass
        value = self._read(full)
        self._cache[full] = value
        return value

    def _read(self, full: str) -> Any:
        if hasattr(settings, full):
            return getattr(settings, full)
        for old, new in RENAMED.items():
            if new == full and hasattr(settings, old):
                return getattr(settings, old)
        return DEFAULTS[full]

    def is_set(self, full: str) -> bool:
        """Return whether the user's settings define ``full`` (or its old name)."""
        if hasattr(settings, full):
            return True
        return any(new == full and hasattr(settings, old) for old, new in RENAMED.items())

    @property
    def backend_path(self) -> str:
        """Return the dotted path of the backend in use.

        ``STREAM_BACKEND`` wins; otherwise stream-django's credentials
        (``STREAM_API_KEY`` + ``STREAM_API_SECRET``, or the ``STREAM_URL``
        environment variable) select the getstream.io backend; otherwise the
        database backend.
        """
        if self.BACKEND:
            return self.BACKEND
        if (self.API_KEY and self.API_SECRET) or os.environ.get("STREAM_URL"):
            return GETSTREAM_BACKEND
        return DATABASE_BACKEND

    def reload(self) -> None:
        self._cache.clear()


stream_settings = StreamSettings()

# stream-django's module-level names, resolved lazily.
_COMPAT = {
    "API_KEY": "STREAM_API_KEY",
    "API_SECRET": "STREAM_API_SECRET",
    "LOCATION": "STREAM_LOCATION",
    "TIMEOUT": "STREAM_TIMEOUT",
    "FEED_MANAGER_CLASS": "STREAM_FEED_MANAGER_CLASS",
    "USER_FEED": "STREAM_USER_FEED",
    "NEWS_FEEDS": "STREAM_NEWS_FEEDS",
    "NOTIFICATION_FEED": "STREAM_NOTIFICATION_FEED",
    "DISABLE_MODEL_TRACKING": "STREAM_DISABLE_MODEL_TRACKING",
}


def __getattr__(name: str) -> Any:
    if name in _COMPAT:
        return getattr(stream_settings, _COMPAT[name])
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def is_valid_config() -> bool:
    """Return whether getstream.io credentials are configured (as stream-django)."""
    return bool((stream_settings.API_KEY and stream_settings.API_SECRET) or os.environ.get("STREAM_URL"))
