"""
The backend under test for the contract suite.

``feeds`` is the ``stream_client`` of one local backend; the suite runs once
per backend listed in ``BACKENDS``, and once more per backend through the
async API (``async_stream_client`` behind a sync adapter), so the two APIs
keep one contract. The async run covers the whole suite on the SQLite leg
and the modules of ``ASYNC_MODULES`` on the others (CI time).
"""

from __future__ import annotations

import inspect
import os
from typing import Any

import pytest
from asgiref.sync import async_to_sync

from stream_django.feeds import get_async_client, get_client
from tests import redis_support
from tests.local_backends import LOCAL_BACKENDS, use_backend

BACKENDS = list(LOCAL_BACKENDS)
APIS = ["sync", "async"]
#: The modules the async API runs on every leg; SQLite runs them all.
ASYNC_MODULES = {"test_flat", "test_aggregated", "test_follows", "test_client"}


class SyncAdapter:
    """A sync face over an async client or feed: each coroutine method is
    awaited in an event loop of its own (``async_to_sync``), then the
    loop's connections are closed, as at the end of a request."""

    def __init__(self, target: Any) -> None:
        self._target = target

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._target, name)
        if name == "feed":
            return lambda *args: SyncAdapter(value(*args))
        if not inspect.iscoroutinefunction(value):
            return value
        backend = self._target.backend

        async def call(*args: Any, **kwargs: Any) -> Any:
            try:
                return await value(*args, **kwargs)
            finally:
                await backend.aclose()

        return async_to_sync(call)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SyncAdapter) and other._target == self._target

    def __hash__(self) -> int:
        return hash(self._target)


@pytest.fixture(params=BACKENDS)
def backend_name(request):
    return request.param


@pytest.fixture(params=APIS)
def api(request):
    full = os.environ.get("STREAM_TEST_DB", "sqlite") == "sqlite" and redis_support.FLAVOUR == "redis"
    if request.param == "async" and not full:
        if request.module.__name__.rsplit(".", 1)[-1] not in ASYNC_MODULES:
            pytest.skip("the async API runs this module on the SQLite leg only (see ASYNC_MODULES)")
    return request.param


@pytest.fixture
def feeds(request, backend_name, api, settings, db):
    use_backend(request, settings, backend_name)
    if api == "async":
        return SyncAdapter(get_async_client())
    return get_client()
