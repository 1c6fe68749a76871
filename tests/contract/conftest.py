"""
The backend under test for the contract suite.

``feeds`` is the ``stream_client`` of one local backend; the suite runs once
per backend listed in ``BACKENDS``.
"""

from __future__ import annotations

import pytest

from stream_django.conf import DATABASE_BACKEND
from stream_django.feeds import get_client

BACKENDS = ["database", "redis", "redis_cluster"]


@pytest.fixture(params=BACKENDS)
def backend_name(request):
    return request.param


@pytest.fixture
def feeds(request, backend_name, settings, db):
    if backend_name == "database":
        settings.STREAM_BACKEND = DATABASE_BACKEND
    elif backend_name == "redis":
        request.getfixturevalue("redis_settings")
    elif backend_name == "redis_cluster":
        request.getfixturevalue("redis_cluster_settings")
    else:  # pragma: no cover - each other backend adds its own branch
        raise AssertionError(f"unknown backend {backend_name}")
    return get_client()
