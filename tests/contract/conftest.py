"""
The backend under test for the contract suite.

``feeds`` is the ``stream_client`` of one local backend; the suite runs once
per backend listed in ``BACKENDS``.
"""

from __future__ import annotations

import pytest

from stream_django.feeds import get_client
from tests.local_backends import LOCAL_BACKENDS, use_backend

BACKENDS = list(LOCAL_BACKENDS)


@pytest.fixture(params=BACKENDS)
def backend_name(request):
    return request.param


@pytest.fixture
def feeds(request, backend_name, settings, db):
    use_backend(request, settings, backend_name)
    return get_client()
