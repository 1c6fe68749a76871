"""
Real Redis servers for the tests: the local server (127.0.0.1:6379, db 9)
and a 3-node Redis Cluster the session starts on loopback ports.

Each test writes under a key prefix of its own and deletes only the keys
under it (never FLUSHDB). The cluster's nodes are child processes of the
test session, stopped (by their process ids) when it ends. Its ports are
the first free ones from 7101 up (each with its cluster bus port, +10000,
free too), or those of ``STREAM_TEST_CLUSTER_PORTS`` ("7101,7102,7103"),
so concurrent test sessions do not collide.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests import services

CLUSTER_HOST = "127.0.0.1"
FIRST_PORT = 7101
NODES = 3


def unique_prefix() -> str:
    return f"sdtest:{uuid.uuid4().hex[:12]}:"


def delete_prefix(client: Any, prefix: str) -> None:
    """Delete the keys under ``prefix`` (one server or every cluster primary)."""
    keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
    if not keys:
        return
    pipe = client.pipeline(transaction=False)
    for key in keys:
        pipe.unlink(key)
    pipe.execute()


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((CLUSTER_HOST, port))
        except OSError:
            return False
    return True


def free_ports(start: int, count: int = NODES) -> list[int]:
    """The first ``count`` consecutive ports from ``start`` that are free,
    with their cluster bus ports (+10000)."""
    port = start
    while port + count + 10000 < 65536:
        block = list(range(port, port + count))
        if all(port_free(p) and port_free(p + 10000) for p in block):
            return block
        port += 1
    raise RuntimeError(f"no {count} free ports from {start} for the test Redis Cluster")


def _listening(port: int) -> bool:
    try:
        with socket.create_connection((CLUSTER_HOST, port), timeout=0.5):
            return True
    except OSError:
        return False


def _cli(port: int, *args: str) -> str:
    return subprocess.run(
        ["redis-cli", "-h", CLUSTER_HOST, "-p", str(port), *args],
        check=True,
        capture_output=True,
        text=True,
        timeout=30,
    ).stdout


def start_server(port: int, directory: str, *extra: str) -> subprocess.Popen[bytes]:
    """Start a redis-server child process on ``port``; wait until it listens."""
    with open(os.path.join(directory, f"{port}.log"), "wb") as log:
        process = subprocess.Popen(
            [
                "redis-server",
                "--bind",
                CLUSTER_HOST,
                "--port",
                str(port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                directory,
                *extra,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 10
    while not _listening(port):
        if process.poll() is not None:
            with open(os.path.join(directory, f"{port}.log"), errors="replace") as f:
                raise RuntimeError(f"redis-server on port {port} exited: {f.read()[-500:]}")
        if time.monotonic() > deadline:
            stop_server(process)
            raise RuntimeError(f"redis-server on port {port} did not start listening")
        time.sleep(0.02)
    return process


def stop_server(process: subprocess.Popen[bytes]) -> None:
    """Stop a server this session started, by its process id."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _start_cluster(ports: list[int], directory: str, started: list[subprocess.Popen[bytes]]) -> None:
    for port in ports:
        started.append(
            start_server(port, directory, "--cluster-enabled", "yes", "--cluster-config-file", f"nodes-{port}.conf")
        )
    subprocess.run(
        [
            "redis-cli",
            "--cluster",
            "create",
            *[f"{CLUSTER_HOST}:{p}" for p in ports],
            "--cluster-replicas",
            "0",
            "--cluster-yes",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    deadline = time.monotonic() + 30
    while not all("cluster_state:ok" in _cli(p, "cluster", "info") for p in ports):
        if time.monotonic() > deadline:
            raise RuntimeError("the test Redis Cluster did not reach cluster_state:ok")
        time.sleep(0.05)


@pytest.fixture(scope="session")
def redis_cluster() -> Iterator[list[str]]:
    """Start a 3-primary Redis Cluster for the session; yield its node URLs."""
    services.require("redis-server")
    services.require("redis-cli")
    fixed = os.environ.get("STREAM_TEST_CLUSTER_PORTS")
    directory = tempfile.mkdtemp(prefix="sd-redis-cluster-")
    started: list[subprocess.Popen[bytes]] = []
    try:
        start = FIRST_PORT
        for attempt in range(3):
            ports = [int(p) for p in fixed.split(",")] if fixed else free_ports(start)
            try:
                _start_cluster(ports, directory, started)
                break
            except RuntimeError as e:
                # Another process took a port between the probe and the
                # start: stop what started and try the next ports.
                for process in started:
                    stop_server(process)
                started.clear()
                if fixed or attempt == 2:
                    message = f"cannot start the test Redis Cluster on ports {ports}: {e}"
                    if services.required():
                        pytest.fail(message, pytrace=False)
                    pytest.skip(message)
                start = ports[-1] + 1
        yield [f"redis://{CLUSTER_HOST}:{p}" for p in ports]
    finally:
        for process in started:
            stop_server(process)
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def redis_settings(settings: Any) -> Iterator[str]:
    """Point the backend at the single test server under a fresh prefix."""
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
    from redis.cluster import RedisCluster

    from stream_django.conf import REDIS_BACKEND

    prefix = unique_prefix()
    settings.STREAM_BACKEND = REDIS_BACKEND
    settings.STREAM_REDIS_URL = redis_cluster
    settings.STREAM_BACKEND_OPTIONS = {"key_prefix": prefix}
    yield prefix
    client = RedisCluster.from_url(redis_cluster[0])
    try:
        delete_prefix(client, prefix)
    finally:
        client.close()
