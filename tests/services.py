"""
Which real servers the tests can reach.

A test that needs a server calls ``require(name)``: it skips with a clear
reason when the server is down, except when ``CI`` (or
``STREAM_REQUIRE_SERVICES``) is set, where it fails instead.
"""

from __future__ import annotations

import os
import shutil
import socket

import pytest

ADDRESSES = {
    "postgres": (os.environ.get("PGHOST", "127.0.0.1"), int(os.environ.get("PGPORT", "5432"))),
    "mysql": (os.environ.get("MYSQL_HOST", "127.0.0.1"), int(os.environ.get("MYSQL_PORT", "3306"))),
    "redis": (os.environ.get("REDIS_HOST", "127.0.0.1"), int(os.environ.get("REDIS_PORT", "6379"))),
}


def required() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes") or bool(os.environ.get("STREAM_REQUIRE_SERVICES"))


def reachable(name: str) -> bool:
    host, port = ADDRESSES[name]
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def redis_url() -> str:
    host, port = ADDRESSES["redis"]
    return f"redis://{host}:{port}/{os.environ.get('REDIS_TEST_DB', '9')}"


def require(name: str) -> None:
    """Skip (or, in CI, fail) unless the server ``name`` answers."""
    ok = reachable(name) if name in ADDRESSES else shutil.which(name) is not None
    if ok:
        return
    where = "{}:{}".format(*ADDRESSES[name]) if name in ADDRESSES else f"{name} on PATH"
    message = f"server unavailable: {name} ({where})"
    if required():
        pytest.fail(message + " - required in CI", pytrace=False)
    pytest.skip(message)
