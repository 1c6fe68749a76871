"""
How the Redis backend reaches the server: its client, pipelines and scripts.

Every operation of the storage contract is a few round trips, each one
pipeline of ``Call`` values (on a cluster, one pipeline per node, all sent
before any reply is read). Scripts go as ``EVALSHA`` and are loaded only
when a server answers ``NOSCRIPT``. Failing to reach Redis raises
``BackendUnavailable`` naming the address (the backend's ``close()`` and
``address`` of the life-cycle section are here too).

An operation that is more than one round trip, or that the async API
awaits, is written once as ``Rounds``: a generator that yields each list of
calls and receives their results. ``rounds`` turns it into a method that
sends them with the sync client, and whose ``aio`` awaits them on a
``redis.asyncio`` client (``_adrive``): the two differ only in the I/O.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable, Generator, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Concatenate, Generic, ParamSpec, TypeVar, cast, overload

from stream_django.backends.redis import connection, scripts
from stream_django.exceptions import BackendUnavailable, InvalidStreamBackend

if TYPE_CHECKING:
    from redis import Redis
    from redis.client import Pipeline
    from redis.cluster import ClusterPipeline, RedisCluster

#: ``(command, args)``: a redis-py pipeline method and its arguments, or
#: ``("script:NAME", (keys, argv))`` for one of ``scripts.SCRIPTS``.
Call = tuple[str, tuple[Any, ...]]

T = TypeVar("T")
P = ParamSpec("P")
#: An operation as round trips: yields lists of calls, receives their results.
Rounds = Generator[list[Call], list[Any], T]


class BoundRounds(Generic[P, T]):
    """A ``rounds`` method of one backend: call it (sync), ``await`` its
    ``aio(...)``, or ``yield from`` its ``steps(...)`` in other ``Rounds``."""

    def __init__(self, owner: Commands, function: Callable[Concatenate[Any, P], Rounds[T]]) -> None:
        self.owner = owner
        self.function = function

    def steps(self, *args: P.args, **kwargs: P.kwargs) -> Rounds[T]:
        return self.function(self.owner, *args, **kwargs)

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> T:
        return self.owner._drive(self.function(self.owner, *args, **kwargs))

    async def aio(self, *args: P.args, **kwargs: P.kwargs) -> T:
        return await self.owner._adrive(self.function(self.owner, *args, **kwargs))


class rounds(Generic[P, T]):
    """Decorator: a method written as ``Rounds`` (see ``BoundRounds``)."""

    def __init__(self, function: Callable[Concatenate[Any, P], Rounds[T]]) -> None:
        self.function = function
        self.__doc__ = function.__doc__

    @overload
    def __get__(self, owner: None, cls: type) -> rounds[P, T]: ...

    @overload
    def __get__(self, owner: Commands, cls: type | None = None) -> BoundRounds[P, T]: ...

    def __get__(self, owner: Commands | None, cls: type | None = None) -> BoundRounds[P, T] | rounds[P, T]:
        return self if owner is None else BoundRounds(owner, self.function)


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
    #: The ``redis.asyncio`` client of each event loop, as the task that builds it (``_aclient``).
    _aredis: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Task[Any]]

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
            nodes, cluster = self._nodes()
            import redis.exceptions as rex

            with self._guard():
                try:
                    self._redis = connection.get_client(nodes, cluster, self.client_options)
                except rex.RedisClusterException as e:  # no startup node answered
                    raise BackendUnavailable(f"the {self.address} cannot be reached: {e}") from e
        return self._redis

    def _nodes(self) -> tuple[list[connection.Node], bool]:
        """The nodes of ``STREAM_REDIS_URL``, once redis-py is known to be there."""
        if self.url is None or self.url == "":
            raise InvalidStreamBackend("STREAM_REDIS_URL is not set (the redis backend needs it)")
        try:
            import redis  # noqa: F401
        except ImportError:
            raise InvalidStreamBackend(
                "the redis backend needs redis-py: pip install 'django-activity-feeds[redis]'"
            ) from None
        return connection.parse_urls(self.url)

    async def _aclient(self) -> Any:
        """The ``redis.asyncio`` client of the running event loop (its
        connections cannot serve another loop), built on first use; callers
        that come meanwhile wait for the same one."""
        loop = asyncio.get_running_loop()
        ready = self._aredis.get(loop)
        if ready is None:
            ready = self._aredis[loop] = loop.create_task(self._aconnect())
        try:
            return await asyncio.shield(ready)
        except BaseException:
            if ready.done() and self._aredis.get(loop) is ready:
                del self._aredis[loop]  # the next call tries again
            raise

    async def _aconnect(self) -> Any:
        nodes, cluster = self._nodes()
        import redis.exceptions as rex

        client = connection.build_async(nodes, cluster, self.client_options)
        if cluster:
            with self._guard():
                try:
                    await client.initialize()  # the slot table, for _evalsha
                except rex.RedisClusterException as e:  # no startup node answered
                    raise BackendUnavailable(f"the {self.address} cannot be reached: {e}") from e
        return client

    def close(self) -> None:
        if self._redis is not None:
            connection.disconnect(self._redis)
            self._redis = None

    async def aclose(self) -> None:
        ready = self._aredis.pop(asyncio.get_running_loop(), None)
        if ready is not None and ready.done() and not ready.cancelled() and ready.exception() is None:
            await ready.result().aclose()

    # -- driving Rounds ------------------------------------------------------

    def _drive(self, steps: Rounds[T]) -> T:
        """Run ``steps`` with the sync client."""
        try:
            calls = next(steps)
            while True:
                calls = steps.send(self._run(calls))
        except StopIteration as done:
            return done.value

    async def _adrive(self, steps: Rounds[T]) -> T:
        """Run ``steps`` with the event loop's ``redis.asyncio`` client."""
        try:
            calls = next(steps)
            while True:
                calls = steps.send(await self._arun(calls))
        except StopIteration as done:
            return done.value

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
            return self._queue(self.redis, calls).execute(raise_on_error=False)

    async def _asend(self, calls: Sequence[Call]) -> list[Any]:
        """``_send`` on the event loop's client."""
        client = await self._aclient()
        with self._guard():
            return cast("list[Any]", await self._queue(client, calls).execute(raise_on_error=False))

    def _queue(self, client: Any, calls: Sequence[Call]) -> Any:
        """A pipeline of ``client`` (sync or async) with ``calls`` queued."""
        pipe = client.pipeline(transaction=False)
        for command, args in calls:
            if command.startswith("script:"):
                keys, argv = args
                self._evalsha(client, pipe, command[7:], keys, argv)
            else:
                getattr(pipe, command)(*args)
        return pipe

    def _pipeline(self, calls: Sequence[Call]) -> list[Any]:
        """Run ``calls`` in one pipeline and return their results."""
        if not calls:
            return []
        out = self._send(calls)
        redo = self._redo(calls, out)
        if redo:
            with self._guard():
                for source in scripts.SCRIPTS.values():
                    self.redis.script_load(source)
            for i, result in zip(redo, self._send([calls[i] for i in redo])):
                out[i] = result
        return self._checked(out)

    async def _apipeline(self, calls: Sequence[Call]) -> list[Any]:
        """``_pipeline`` on the event loop's client."""
        if not calls:
            return []
        out = await self._asend(calls)
        redo = self._redo(calls, out)
        if redo:
            client = await self._aclient()
            with self._guard():
                for source in scripts.SCRIPTS.values():
                    await client.script_load(source)
            for i, result in zip(redo, await self._asend([calls[i] for i in redo])):
                out[i] = result
        return self._checked(out)

    @staticmethod
    def _redo(calls: Sequence[Call], out: list[Any]) -> list[int]:
        """Which calls to send again once the scripts are loaded.

        When a server does not know a script (first use, restart,
        failover), the scripts are loaded and the calls that did not run (a
        NOSCRIPT reply means the script did nothing) are repeated, in order,
        with every read queued after one of them, so that no read answers as
        if a write queued before it had not happened (a follow's copy reading
        the feed before the follow was recorded, say).
        """
        import redis.exceptions as rex

        missing = [i for i, r in enumerate(out) if isinstance(r, rex.NoScriptError)]
        if not missing:
            return []
        return [i for i in range(missing[0], len(calls)) if i in missing or calls[i][0] in READS]

    def _checked(self, out: list[Any]) -> list[Any]:
        """``out``, once no reply is an error (raised, a connection error as
        ``BackendUnavailable``)."""
        import redis.exceptions as rex

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

    async def _arun(self, calls: Sequence[Call]) -> list[Any]:
        """``_run`` on the event loop's client."""
        results: list[Any] = []
        for start in range(0, len(calls), self.batch_size):
            results.extend(await self._apipeline(calls[start : start + self.batch_size]))
        return results

    def _evalsha(
        self, client: Any, pipe: Pipeline | ClusterPipeline, name: str, keys: Sequence[str], argv: Sequence[Any]
    ) -> None:
        """Queue script ``name`` on ``pipe``.

        ``execute_command``, because redis-py's cluster pipeline refuses the
        ``evalsha()`` method (not the command); on a cluster the node is
        given, found from the client's slot table, because otherwise redis-py
        asks a server for the keys of every EVALSHA (a round trip each).
        """
        options = {"target_nodes": cast("RedisCluster", client).get_node_from_key(keys[0])} if self.cluster else {}
        pipe.execute_command("EVALSHA", scripts.SHAS[name], len(keys), *keys, *argv, **options)

    def _call(self, command: str, *args: Any) -> Any:
        return self._pipeline([(command, args)])[0]

    @staticmethod
    def _one(command: str, *args: Any) -> Rounds[Any]:
        """The ``Rounds`` of one call: ``x = yield from self._one(...)``."""
        return (yield [(command, args)])[0]
