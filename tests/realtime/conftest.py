import asyncio

import pytest
from asgiref.sync import sync_to_async
from django.db import connections

from tests.realtime.support import asgi_server  # noqa: F401 - fixture


@pytest.fixture(autouse=True)
def _close_reader_connections():
    """The live readers query from asgiref's shared thread: close its
    connections after each test, so that the test database can be dropped."""
    yield
    asyncio.run(sync_to_async(connections.close_all)())
