"""
Real Redis servers for the tests: the local server (127.0.0.1:6379, db 9)
and a 3-node Redis Cluster the session starts on loopback ports.

Each test writes under a key prefix of its own and deletes only the keys
under it (never FLUSHDB). The Redis tests run in the sqlite leg of
``tests/runall.py`` only: Redis does not depend on the database.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from typing import Any, Iterator

import pytest

from tests import services

CLUSTER_PORTS = [int(p) for p in os.environ.get("STREAM_TEST_CLUSTER_PORTS", "7101,7102,7103").split(",")]
CLUSTER_HOST = "127.0.0.1"


def require_redis_leg() -> None:
    """Skip unless this run is the sqlite leg (or no leg was chosen)."""
    leg = os.environ.get("STREAM_TEST_DB", "sqlite") or "sqlite"
    if leg != "sqlite":
        pytest.skip(
            f"Redis tests run in the sqlite leg only (STREAM_TEST_DB={leg!r}); "
            "the Redis backend does not use the database"
        )


def unique_prefix() -> str:
    return f"sdtest:{uuid.uuid4().hex[:12]}:"


def cluster_urls() -> list[str]:
    return [f"redis://{CLUSTER_HOST}:{p}" for p in CLUSTER_PORTS]


def delete_prefix(client: Any, prefix: str) -> None:
    """Delete the keys under ``prefix`` (one server or every cluster primary)."""
    keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
    if not keys:
        return
    pipe = client.pipeline(transaction=False)
    for key in keys:
        pipe.unlink(key)
    pipe.execute()


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection((CLUSTER_HOST, port), timeout=0.5):
            return True
    except OSError:
        return False


def _cli(port: int, *args: str) -> str:
    return subprocess.run(
        ["redis-cli", "-h", CLUSTER_HOST, "-p", str(port), *args],
        check=True, capture_output=True, text=True, timeout=30,
    ).stdout


@pytest.fixture(scope="session")
def redis_cluster() -> Iterator[list[str]]:
    """Start a 3-primary Redis Cluster for the session; yield its node URLs."""
    require_redis_leg()
    services.require("redis-server")
    services.require("redis-cli")
    busy = [p for p in CLUSTER_PORTS if _port_open(p)]
    if busy:
        message = f"cannot start the test Redis Cluster: ports {busy} are in use"
        if services.required():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    tmp = tempfile.mkdtemp(prefix="sd-redis-cluster-")
    started: list[int] = []
    try:
        for port in CLUSTER_PORTS:
            subprocess.run(
                ["redis-server", "--bind", CLUSTER_HOST, "--port", str(port), "--cluster-enabled", "yes",
                 "--cluster-config-file", f"nodes-{port}.conf", "--save", "", "--appendonly", "no",
                 "--dir", tmp, "--daemonize", "yes", "--logfile", os.path.join(tmp, f"{port}.log")],
                check=True, timeout=30,
            )
            started.append(port)
        deadline = time.monotonic() + 20
        while not all(_port_open(p) for p in CLUSTER_PORTS):
            if time.monotonic() > deadline:
                raise RuntimeError("the cluster nodes did not start listening")
            time.sleep(0.05)
        subprocess.run(
            ["redis-cli", "--cluster", "create", *[f"{CLUSTER_HOST}:{p}" for p in CLUSTER_PORTS],
             "--cluster-replicas", "0", "--cluster-yes"],
            check=True, capture_output=True, timeout=60,
        )
        while True:
            if all("cluster_state:ok" in _cli(p, "cluster", "info") for p in CLUSTER_PORTS):
                break
            if time.monotonic() > deadline + 20:
                raise RuntimeError("the test Redis Cluster did not reach cluster_state:ok")
            time.sleep(0.1)
        yield cluster_urls()
    finally:
        for port in started:
            try:
                _cli(port, "shutdown", "nosave")
            except subprocess.SubprocessError:
                pass  # the node is already gone
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture
def redis_settings(settings: Any) -> Iterator[str]:
    """Point the backend at the single test server under a fresh prefix."""
    require_redis_leg()
    services.require("redis")
    import redis

    from stream_django.conf import REDIS_BACKEND

    prefix = unique_prefix()
    settings.STREAM_BACKEND = REDIS_BACKEND
    settings.STREAM_REDIS_URL = services.redis_url()
    settings.STREAM_BACKEND_OPTIONS = {"key_prefix": prefix}
    yield prefix
    client = redis.Redis.from_url(services.redis_url())
    try:
        delete_prefix(client, prefix)
    finally:
        client.close()


@pytest.fixture
def redis_cluster_settings(settings: Any, redis_cluster: list[str]) -> Iterator[str]:
    """Point the backend at the test cluster under a fresh prefix."""
    from redis.cluster import ClusterNode, RedisCluster

    from stream_django.conf import REDIS_BACKEND

    prefix = unique_prefix()
    settings.STREAM_BACKEND = REDIS_BACKEND
    settings.STREAM_REDIS_URL = redis_cluster
    settings.STREAM_BACKEND_OPTIONS = {"key_prefix": prefix}
    yield prefix
    client = RedisCluster(startup_nodes=[ClusterNode(CLUSTER_HOST, p) for p in CLUSTER_PORTS])
    try:
        delete_prefix(client, prefix)
    finally:
        client.close()
