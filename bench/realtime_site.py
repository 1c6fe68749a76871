"""
Middleware of the realtime benchmark's site.

``release_database_when_streaming``: once a view has answered with a
streaming response (an open event stream), close the database connection
that answering it opened (the session and permission checks). Django closes
a request's connection when the request finishes, which for an event
stream is when the client leaves: without this, every open stream would
hold a PostgreSQL connection, and 1,000 streams would need 1,000 of them
(PostgreSQL allows 100 by default). The events endpoint reads its events
through one shared reader per process, not through the request's
connection.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import markcoroutinefunction, sync_to_async
from django.db import connections


def release_database_when_streaming(
    get_response: Callable[[Any], Awaitable[Any]],
) -> Callable[[Any], Awaitable[Any]]:
    async def middleware(request: Any) -> Any:
        response = await get_response(request)
        if getattr(response, "streaming", False):
            # The same thread as the view's database work (thread-sensitive).
            await sync_to_async(connections.close_all)()
        return response

    markcoroutinefunction(middleware)
    return middleware


release_database_when_streaming.async_capable = True  # type: ignore[attr-defined]
release_database_when_streaming.sync_capable = False  # type: ignore[attr-defined]
