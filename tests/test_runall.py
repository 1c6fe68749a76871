"""The runner's account of the legs it cannot run (``tests/runall.py``)."""

from __future__ import annotations

import socket

from tests import runall, services


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
