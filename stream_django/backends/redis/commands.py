"""
How the Redis backend reaches the server: its client, pipelines and scripts.

Every operation of the storage contract is a few round trips, each one
pipeline of ``Call`` values (on a cluster, one pipeline per node, all sent
before any reply is read). Scripts go as ``EVALSHA`` and are loaded only
when a server answers ``NOSCRIPT``. Failing to reach Redis raises
``BackendUnavailable`` naming the address (the backend's ``close()`` and
``address`` of the life-cycle section are here too).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, cast

from stream_django.backends.redis import connection, scripts
from stream_django.exceptions import BackendUnavailable, InvalidStreamBackend

if TYPE_CHECKING:
    from redis import Redis
    from redis.client import Pipeline
    from redis.cluster import ClusterPipeline, RedisCluster

#: ``(command, args)``: a redis-py pipeline method and its arguments, or
#: ``("script:NAME", (keys, argv))`` for one of ``scripts.SCRIPTS``.
Call = tuple[str, tuple[Any, ...]]


#: The plain commands the backend sends that only read: repeated, in order,
#: after a script that had to be loaded first (see ``_pipeline``).
READS = frozenset({"get", "hmget", "mget", "zcard", "zmscore", "zrange", "zrevrange", "zrevrangebylex", "zscore"})


class Commands:
    """The backend's client and the calls every other part is made of."""

    #: ``STREAM_REDIS_URL``, as configured (``check()`` reports a bad one).
    url: object
    #: Keyword arguments of the redis-py client.
    client_options: dict[str, Any]
    #: Calls per pipeline; follower feeds per fan-out batch.
    batch_size: int
    #: Whether ``url`` names a Redis Cluster.
    cluster: bool
    _redis: Redis | RedisCluster | None

    @property
    def address(self) -> str:
        try:
            nodes, cluster = connection.parse_urls(self.url)
        except InvalidStreamBackend:
            return f"redis backend ({self.url!r})"
        if cluster:
            return f"redis cluster {','.join(n.address for n in nodes)}"
        return f"redis {nodes[0].scheme}://{nodes[0].address}/{nodes[0].db}"

    # -- connection ----------------------------------------------------------

    @property
    def redis(self) -> Redis | RedisCluster:
        """The redis-py client (``Redis`` or ``RedisCluster``), shared per process."""
        if self._redis is None:
            if self.url is None or self.url == "":
                raise InvalidStreamBackend("STREAM_REDIS_URL is not set (the redis backend needs it)")
            try:
                import redis  # noqa: F401
            except ImportError:
                raise InvalidStreamBackend(
                    "the redis backend needs redis-py: pip install 'django-activity-feeds[redis]'"
                ) from None
            nodes, cluster = connection.parse_urls(self.url)
            import redis.exceptions as rex

            with self._guard():
                try:
                    self._redis = connection.get_client(nodes, cluster, self.client_options)
                except rex.RedisClusterException as e:  # no startup node answered
                    raise BackendUnavailable(f"the {self.address} cannot be reached: {e}") from e
        return self._redis

    def close(self) -> None:
        if self._redis is not None:
            connection.disconnect(self._redis)
            self._redis = None

    @contextmanager
    def _guard(self) -> Iterator[None]:
        """Turn "cannot reach Redis" into ``BackendUnavailable`` naming the address."""
        import redis.exceptions as rex

        try:
            yield
        except (rex.ConnectionError, rex.TimeoutError, rex.ClusterError) as e:
            raise BackendUnavailable(f"the {self.address} cannot be reached: {e}") from e

    # -- commands and scripts ------------------------------------------------

    def _send(self, calls: Sequence[Call]) -> list[Any]:
        """Send ``calls`` in one pipeline (on a cluster: one per node, all
        written before any reply is read); errors come back as values."""
        with self._guard():
            pipe = self.redis.pipeline(transaction=False)
            for command, args in calls:
                if command.startswith("script:"):
                    keys, argv = args
                    self._evalsha(pipe, command[7:], keys, argv)
                else:
                    getattr(pipe, command)(*args)
            return pipe.execute(raise_on_error=False)

    def _pipeline(self, calls: Sequence[Call]) -> list[Any]:
        """Run ``calls`` in one pipeline and return their results."""
        import redis.exceptions as rex

        if not calls:
            return []
        out = self._send(calls)
        missing = [i for i, r in enumerate(out) if isinstance(r, rex.NoScriptError)]
        if missing:
            # The server does not know a script (first use, restart,
            # failover): load them all and repeat the calls that did not run
            # (a NOSCRIPT reply means the script did nothing), in order, with
            # every read queued after one of them, so that no read answers as
            # if a write queued before it had not happened (a follow's copy
            # reading the feed before the follow was recorded, say).
            with self._guard():
                for source in scripts.SCRIPTS.values():
                    self.redis.script_load(source)
            redo = [i for i in range(missing[0], len(calls)) if i in missing or calls[i][0] in READS]
            for i, result in zip(redo, self._send([calls[i] for i in redo])):
                out[i] = result
        for result in out:
            if isinstance(result, (rex.ConnectionError, rex.TimeoutError)):
                raise BackendUnavailable(f"the {self.address} cannot be reached: {result}") from result
            if isinstance(result, Exception):
                raise result
        return out

    def _run(self, calls: Sequence[Call]) -> list[Any]:
        """Run ``calls`` in pipelines of ``batch_size``: one round trip per
        chunk on one server, per node of the chunk (in parallel) on a cluster."""
        results: list[Any] = []
        for start in range(0, len(calls), self.batch_size):
            results.extend(self._pipeline(calls[start : start + self.batch_size]))
        return results

    def _evalsha(self, pipe: Pipeline | ClusterPipeline, name: str, keys: Sequence[str], argv: Sequence[Any]) -> None:
        """Queue script ``name`` on ``pipe``.

        ``execute_command``, because redis-py's cluster pipeline refuses the
        ``evalsha()`` method (not the command); on a cluster the node is
        given, found from the client's slot table, because otherwise redis-py
        asks a server for the keys of every EVALSHA (a round trip each).
        """
        options = {"target_nodes": cast("RedisCluster", self._redis).get_node_from_key(keys[0])} if self.cluster else {}
        pipe.execute_command("EVALSHA", scripts.SHAS[name], len(keys), *keys, *argv, **options)

    def _call(self, command: str, *args: Any) -> Any:
        return self._pipeline([(command, args)])[0]
