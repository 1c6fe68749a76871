"""
What the tests of the Stream API endpoint share: the keys, a live server
with them, and tokens signed as the hosted service's clients sign them.
"""

from __future__ import annotations

from typing import Any

import pytest

KEY = "site-key"
SECRET = "site-secret-0123456789-abcdefghijklmnop"
#: A second key, as during a rotation.
OLD_KEY = "old-key"
OLD_SECRET = "old-secret-9876543210-abcdefghijklmnop"


def token(secret: str = SECRET, **claims: Any) -> str:
    """A JWT signed with ``secret`` (HS256), as stream-python signs one."""
    import jwt  # PyJWT, which stream-python signs with; not in the no-extras session

    return jwt.encode(claims, secret, algorithm="HS256")


def feed_token(feed: str, action: str = "*", resource: str = "*", secret: str = SECRET) -> str:
    """A feed-scoped token for ``"slug:user_id"``."""
    return token(secret, resource=resource, action=action, feed_id=feed.replace(":", ""))


@pytest.fixture
def endpoint(live_server, settings):
    """The live server's base URL, answering for ``KEY`` and ``OLD_KEY``."""
    settings.STREAM_ENDPOINT_KEYS = {KEY: SECRET, OLD_KEY: OLD_SECRET}
    return live_server.url
