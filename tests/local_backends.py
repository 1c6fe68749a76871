"""
The local backends every parametrised test runs on: one registry.

``LOCAL_BACKENDS`` names each store the contract suite, the fan-out tests and
the worker test run against; ``use_backend`` points the settings at one
(starting its server through its fixture, which skips with a reason when the
server is absent, and fails in CI). A new backend adds itself here
(docs/adding-a-backend.md).
"""

from __future__ import annotations

from typing import Any

from stream_django.conf import DATABASE_BACKEND

#: Store name -> the fixture that configures it (``None``: settings only).
LOCAL_BACKENDS: dict[str, str | None] = {
    "database": None,
    "redis": "redis_settings",
    "redis_cluster": "redis_cluster_settings",
}

#: The stores kept in Redis, for tests of that backend alone.
REDIS_BACKENDS = [name for name in LOCAL_BACKENDS if name.startswith("redis")]


def use_backend(request: Any, settings: Any, name: str) -> str:
    """Configure the backend ``name`` of ``LOCAL_BACKENDS`` for this test."""
    fixture = LOCAL_BACKENDS[name]
    if fixture is None:
        settings.STREAM_BACKEND = DATABASE_BACKEND
    else:
        request.getfixturevalue(fixture)
    return name
