"""
Feeds in Redis, one server or a Redis Cluster (docs/redis.md): the backend
class, its options and system checks.

``RedisBackend`` is put together from one mixin per part of the storage
contract; each builds only on the parts below it:

==================  ==================================================
module              holds
==================  ==================================================
``chunks.py``       chunked fan-out, run by task workers
``writes.py``       adding, replacing and removing activities
``follows.py``      following and unfollowing, with copies and purges
``fanout.py``       fan-out to a feed's holders, and its removal
``reads.py``        pages of feeds and groups, bodies, follows, counts
``maintenance.py``  repairs an operator runs (the holder sets)
``erasure.py``      erasing and trimming feeds, for maintenance
``scan.py``         store-wide scans: bodies, feeds, holders of keys
``entries.py``      the per-feed and per-body script calls
``keys.py``         key naming (the key layout)
``commands.py``     the client, pipelines, scripts by SHA1, errors
``connection.py``   ``STREAM_REDIS_URL`` and one client per process
``scripts.py``      the Lua scripts, read from ``lua/``
==================  ==================================================
"""

from __future__ import annotations

import weakref
from typing import Any

from django.core import checks
from django.utils.translation import gettext as _

from stream_django.backends.base import BaseStorageBackend
from stream_django.backends.redis import connection
from stream_django.backends.redis.chunks import Chunks
from stream_django.backends.redis.commands import BoundRounds
from stream_django.backends.redis.erasure import Erasure
from stream_django.backends.redis.follows import Follows
from stream_django.backends.redis.keys import DEFAULT_PREFIX
from stream_django.backends.redis.maintenance import Maintenance
from stream_django.backends.redis.reads import Reads
from stream_django.backends.redis.writes import Writes
from stream_django.exceptions import InvalidStreamBackend

BACKEND_OPTIONS = frozenset({"key_prefix", "batch_size"}) | connection.CLIENT_OPTIONS


class RedisBackend(Chunks, Writes, Follows, Erasure, Reads, Maintenance, BaseStorageBackend):
    """Feed storage in Redis (``STREAM_REDIS_URL``; options in docs/redis.md).

    The mixins' attributes are set here: ``prefix``, ``batch_size``,
    ``client_options``, ``url`` and ``cluster``.
    """

    name = "redis"
    native_async = True

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        from stream_django.conf import stream_settings

        super().__init__(options)
        unknown = set(self.options) - BACKEND_OPTIONS
        if unknown:
            raise InvalidStreamBackend(
                f"Unknown STREAM_BACKEND_OPTIONS for the redis backend: {sorted(unknown)}; "
                f"valid options are {sorted(BACKEND_OPTIONS)}"
            )
        prefix = self.options.get("key_prefix", stream_settings.USER_STREAMS_REDIS_KEY_PREFIX)
        prefix = DEFAULT_PREFIX if prefix is None else prefix
        if not isinstance(prefix, str) or "{" in prefix or "}" in prefix:
            raise InvalidStreamBackend(
                f"STREAM_BACKEND_OPTIONS['key_prefix'] must be a string without braces, got {prefix!r}"
            )
        self.prefix = prefix
        batch = self.options.get("batch_size", stream_settings.FANOUT_CHUNK_SIZE)
        if not isinstance(batch, int) or isinstance(batch, bool) or batch < 1:
            raise InvalidStreamBackend(f"STREAM_BACKEND_OPTIONS['batch_size'] must be a positive int, got {batch!r}")
        self.batch_size = batch
        extra = stream_settings.USER_STREAMS_REDIS_CLIENT_ARGUMENTS
        client_options = dict(extra) if isinstance(extra, dict) else {}
        client_options.update({k: v for k, v in self.options.items() if k in connection.CLIENT_OPTIONS})
        bad = set(client_options) - connection.CLIENT_OPTIONS
        if bad:
            raise InvalidStreamBackend(
                f"USER_STREAMS_REDIS_CLIENT_ARGUMENTS has unsupported keys {sorted(bad)}; "
                f"valid keys are {sorted(connection.CLIENT_OPTIONS)}"
            )
        client_options.setdefault("socket_connect_timeout", stream_settings.TIMEOUT)
        client_options.setdefault("socket_timeout", stream_settings.TIMEOUT)
        self.client_options = client_options
        self.url = stream_settings.REDIS_URL
        self._redis = None
        self._aredis = weakref.WeakKeyDictionary()
        try:
            #: Whether STREAM_REDIS_URL names a cluster (a list of node URLs).
            self.cluster = connection.parse_urls(self.url)[1]
        except InvalidStreamBackend:
            self.cluster = False  # reported by check(), raised at first use

    async def acall(self, method: str, *args: Any) -> Any:
        """Await ``method`` on the event loop's ``redis.asyncio`` client."""
        bound = self.async_method(method)
        if isinstance(bound, BoundRounds):
            return await bound.aio(*args)
        return await super().acall(method, *args)

    # -- configuration -----------------------------------------------------

    def check(self, **kwargs: Any) -> list[checks.CheckMessage]:
        messages: list[checks.CheckMessage] = []
        try:
            import redis  # noqa: F401
        except ImportError:
            messages.append(
                checks.Error(
                    _("The redis backend needs the redis package (redis-py), which is not installed."),
                    hint=_("pip install 'django-activity-feeds[redis]' (or [hiredis] for the faster parser)."),
                    id="stream_django.E020",
                )
            )
        if self.url is None or self.url == "":
            messages.append(
                checks.Error(
                    _("STREAM_BACKEND is the redis backend but STREAM_REDIS_URL is not set."),
                    hint=_("e.g. STREAM_REDIS_URL = 'redis://127.0.0.1:6379/0', or a list of cluster node URLs."),
                    id="stream_django.E021",
                )
            )
        else:
            try:
                _nodes, cluster = connection.parse_urls(self.url)
            except InvalidStreamBackend as e:
                messages.append(checks.Error(str(e), hint=None, id="stream_django.E021"))
            else:
                if not cluster and connection.CLUSTER_ONLY & set(self.client_options):
                    messages.append(
                        checks.Error(
                            _(
                                "STREAM_BACKEND_OPTIONS %(value)s apply to a Redis Cluster only; STREAM_REDIS_URL names one server."
                            )
                            % {"value": sorted(connection.CLUSTER_ONLY & set(self.client_options))},
                            hint=None,
                            id="stream_django.E022",
                        )
                    )
        return messages
