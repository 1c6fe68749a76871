"""
The backend under test for the contract suite.

``feeds`` is the ``stream_client`` of one local backend; the suite runs once
per backend listed in ``BACKENDS``, and once more per backend through the
async API (``async_stream_client`` behind a sync adapter), so the two APIs
keep one contract. The async run covers a part of it on some legs, for CI
time (``async_runs``).
"""

from __future__ import annotations

import asyncio
import inspect
import os
from collections.abc import Callable
from typing import Any

import pytest
from asgiref.sync import async_to_sync

from stream_django.backends import get_backend
from stream_django.feeds import get_async_client, get_client
from tests import redis_support
from tests.local_backends import LOCAL_BACKENDS, use_backend

BACKENDS = list(LOCAL_BACKENDS)
APIS = ["sync", "async"]
#: The modules the async API runs on every store and leg (``async_runs``).
ASYNC_MODULES = {"test_flat", "test_aggregated", "test_follows", "test_client"}


class SyncAdapter:
    """A sync face over an async client or feed: each coroutine method is
    awaited through ``run``."""

    def __init__(self, target: Any, run: Callable[[Any], Any]) -> None:
        self._target = target
        self._run = run

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._target, name)
        if name == "feed":
            return lambda *args: SyncAdapter(value(*args), self._run)
        if not inspect.iscoroutinefunction(value):
            return value
        return lambda *args, **kwargs: self._run(value(*args, **kwargs))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SyncAdapter) and other._target == self._target

    def __hash__(self) -> int:
        return hash(self._target)


def in_own_loop(coroutine: Any) -> Any:
    """Await ``coroutine`` with ``async_to_sync``: in an event loop of its
    own, Django's sync thread being this one (so the ORM calls of the
    database backend share the test's transaction), then close the loop's
    connections, as at the end of a request."""
    backend = get_backend()

    async def main() -> Any:
        try:
            return await coroutine
        finally:
            await backend.aclose()

    return async_to_sync(main)()


@pytest.fixture
def event_loop_runner():
    """Await coroutines in one event loop for the whole test, as an ASGI
    worker does: the Redis clients of that loop are reused, and closed at
    the end (a Redis Cluster client's first use reads the slot table)."""
    loop = asyncio.new_event_loop()
    yield loop.run_until_complete
    loop.run_until_complete(get_backend().aclose())
    loop.close()


@pytest.fixture(params=BACKENDS)
def backend_name(request):
    return request.param


def async_runs(module: str, backend: str) -> str | None:
    """Why the async API does not run ``module`` on ``backend`` on this leg
    (CI time), or ``None`` when it does.

    The SQLite leg runs every module through it, except on the Redis
    Cluster (``ASYNC_MODULES`` there); the PostgreSQL and MariaDB legs run
    ``ASYNC_MODULES`` on the database backend (Redis is the same store as on
    the SQLite leg); the Valkey leg runs ``ASYNC_MODULES``.
    """
    database = os.environ.get("STREAM_TEST_DB", "sqlite")
    if module in ASYNC_MODULES:
        if database != "sqlite" and backend != "database":
            return f"the async API runs on {backend} on the SQLite leg (see async_runs)"
        return None
    if database != "sqlite" or redis_support.FLAVOUR != "redis":
        return "the async API runs this module on the SQLite leg only (see async_runs)"
    if backend == "redis_cluster":
        return "the async API runs ASYNC_MODULES only on the Redis Cluster (see async_runs)"
    return None


@pytest.fixture(params=APIS)
def api(request, backend_name):
    if request.param == "async":
        reason = async_runs(request.module.__name__.rsplit(".", 1)[-1], backend_name)
        if reason:
            pytest.skip(reason)
    return request.param


@pytest.fixture
def feeds(request, backend_name, api, settings, db):
    use_backend(request, settings, backend_name)
    if api == "sync":
        return get_client()
    if get_backend().native_async:
        # Redis: one loop for the test, in this thread; the fan-out writes
        # run in asgiref's sync thread, and reach no database table.
        return SyncAdapter(get_async_client(), request.getfixturevalue("event_loop_runner"))
    return SyncAdapter(get_async_client(), in_own_loop)
