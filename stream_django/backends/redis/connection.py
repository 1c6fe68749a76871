"""
Redis connections: parsing ``STREAM_REDIS_URL`` and one client per process.

A single server is ``"redis://[[user]:password@]host[:port][/db]"`` (or
``rediss://`` for TLS); a cluster is a list of node URLs (database 0 only).
Clients are cached per configuration, so rebuilding the backend (e.g. after
``override_settings``) reuses the same connection pool; redis-py pools
notice a ``fork()`` and open fresh connections in the child.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from stream_django.exceptions import InvalidStreamBackend

SCHEMES = ("redis", "rediss")

#: Keyword arguments of redis-py clients the backend passes through.
CLIENT_OPTIONS = frozenset(
    {
        "username",
        "password",
        "socket_timeout",
        "socket_connect_timeout",
        "socket_keepalive",
        "socket_keepalive_options",
        "health_check_interval",
        "max_connections",
        "client_name",
        "retry_on_timeout",
        "ssl_cert_reqs",
        "ssl_ca_certs",
        "ssl_ca_data",
        "ssl_certfile",
        "ssl_keyfile",
        "ssl_password",
        "ssl_check_hostname",
        "read_from_replicas",
    }
)
#: Client options that only a cluster takes.
CLUSTER_ONLY = frozenset({"read_from_replicas"})


@dataclass(frozen=True)
class Node:
    """One parsed URL."""

    scheme: str
    host: str
    port: int
    db: int
    username: str | None
    password: str | None

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


def parse_url(url: Any, *, cluster: bool = False) -> Node:
    """Parse one Redis URL, raising ``InvalidStreamBackend`` naming it."""
    if not isinstance(url, str):
        raise InvalidStreamBackend(f"STREAM_REDIS_URL: {url!r} is not a redis:// or rediss:// URL")
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES:
        raise InvalidStreamBackend(f"STREAM_REDIS_URL {url!r} must start with redis:// or rediss://")
    try:
        port = parts.port or 6379
    except ValueError:
        raise InvalidStreamBackend(f"STREAM_REDIS_URL {url!r} has an invalid port") from None
    if not parts.hostname:
        raise InvalidStreamBackend(f"STREAM_REDIS_URL {url!r} names no host")
    path = parts.path.strip("/")
    try:
        db = int(path) if path else 0
    except ValueError:
        raise InvalidStreamBackend(
            f"STREAM_REDIS_URL {url!r}: the path must be a database number, got {path!r}"
        ) from None
    if cluster and db:
        raise InvalidStreamBackend(f"STREAM_REDIS_URL {url!r}: a Redis Cluster has only database 0")
    return Node(
        scheme=parts.scheme,
        host=parts.hostname,
        port=port,
        db=db,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


def parse_urls(value: Any) -> tuple[list[Node], bool]:
    """Return the nodes of ``STREAM_REDIS_URL`` and whether it is a cluster."""
    if isinstance(value, str):
        return [parse_url(value)], False
    if isinstance(value, (list, tuple)) and value:
        return [parse_url(v, cluster=True) for v in value], True
    raise InvalidStreamBackend(
        f"STREAM_REDIS_URL must be a redis:// URL or a non-empty list of cluster node URLs, got {value!r}"
    )


_lock = threading.Lock()
_clients: dict[tuple[Any, ...], Any] = {}


def get_client(nodes: list[Node], cluster: bool, options: dict[str, Any]) -> Any:
    """Return the process's client for this configuration (built on first use).

    Building a cluster client connects to discover the slots, so it may
    raise redis-py's connection errors.
    """
    cache_key = (tuple(nodes), cluster, tuple(sorted((k, repr(v)) for k, v in options.items())))
    client = _clients.get(cache_key)
    if client is not None:
        return client
    with _lock:
        client = _clients.get(cache_key)
        if client is None:
            client = _build(nodes, cluster, options)
            _clients[cache_key] = client
    return client


def _kwargs(nodes: list[Node], options: dict[str, Any]) -> dict[str, Any]:
    """The client keyword arguments of every client, sync or async."""
    kwargs: dict[str, Any] = {"decode_responses": True, **options}
    first = nodes[0]
    if first.username and "username" not in kwargs:
        kwargs["username"] = first.username
    if first.password and "password" not in kwargs:
        kwargs["password"] = first.password
    if first.scheme == "rediss":
        kwargs["ssl"] = True
    return kwargs


def _single(kwargs: dict[str, Any], retry: Any) -> dict[str, Any]:
    """``kwargs`` for a single server's connection pool.

    Reconnect and resend after a broken connection, but not after a timeout:
    the server may have run the commands, and the reference counts of
    activity bodies must not change twice.
    """
    from redis.backoff import ExponentialWithJitterBackoff
    from redis.exceptions import ConnectionError as RedisConnectionError

    kwargs = dict(kwargs)
    kwargs.pop("read_from_replicas", None)
    kwargs.pop("ssl", None)
    if not kwargs.get("retry_on_timeout"):
        kwargs["retry"] = retry(ExponentialWithJitterBackoff(base=0.01, cap=1.0), 3, (RedisConnectionError,))
    return kwargs


def _build(nodes: list[Node], cluster: bool, options: dict[str, Any]) -> Any:
    import redis
    import redis.cluster
    import redis.retry

    return _client(redis, redis.cluster, redis.retry.Retry, nodes, cluster, options)


def build_async(nodes: list[Node], cluster: bool, options: dict[str, Any]) -> Any:
    """Return a ``redis.asyncio`` client for this configuration; it serves
    the event loop it is first used in. A cluster client needs
    ``await client.initialize()`` before its slot table is known."""
    import redis.asyncio as aredis
    import redis.asyncio.cluster
    import redis.asyncio.retry

    return _client(aredis, redis.asyncio.cluster, redis.asyncio.retry.Retry, nodes, cluster, options)


def _client(
    package: Any, cluster_module: Any, retry: Any, nodes: list[Node], cluster: bool, options: dict[str, Any]
) -> Any:
    """Build a client with ``package`` (``redis`` or ``redis.asyncio``) and its
    ``cluster_module`` and ``Retry``; both kinds take the same arguments."""
    kwargs = _kwargs(nodes, options)
    if cluster:
        import inspect

        accepted = inspect.signature(cluster_module.RedisCluster).parameters
        open_ended = any(p.kind is p.VAR_KEYWORD for p in accepted.values())
        refused = [] if open_ended else sorted(k for k in kwargs if k not in accepted)
        if refused:
            raise InvalidStreamBackend(
                f"{cluster_module.__name__}.RedisCluster does not take the client options {refused}"
            )
        startup = [cluster_module.ClusterNode(n.host, n.port) for n in nodes]
        return cluster_module.RedisCluster(startup_nodes=startup, **kwargs)
    first = nodes[0]
    connection_class = package.SSLConnection if first.scheme == "rediss" else package.Connection
    kwargs = _single(kwargs, retry)
    pool = package.ConnectionPool(
        connection_class=connection_class, host=first.host, port=first.port, db=first.db, **kwargs
    )
    return package.Redis(connection_pool=pool)


def disconnect(client: Any) -> None:
    """Close the client's connections; the client reconnects when used again."""
    if hasattr(client, "disconnect_connection_pools"):
        client.disconnect_connection_pools()
    else:
        client.connection_pool.disconnect()
