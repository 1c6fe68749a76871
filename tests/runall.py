"""
Run the test suite once per database server: ``python -m tests.runall``.

SQLite always runs. PostgreSQL and MariaDB/MySQL run when they answer
(and their Python driver is installed); with ``CI=true`` an unreachable
server or a missing driver is a failure, not a skip. A leg that does not run
is named, with the reason, in the summary at the end (``not run: ...``). Arguments after ``--``
go to every pytest run, e.g. ``python -m tests.runall -- -k follows``.

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

from tests import services

LEGS = [
    # (name, server to reach, driver module, extra environment)
    ("sqlite", None, None, {}),
    ("postgres", "postgres", "psycopg", {}),
    ("mysql", "mysql", "MySQLdb", {}),
]

#: How to install a leg's driver when its server answers but the driver is missing.
DRIVER_HINTS = {
    "psycopg": "pip install 'psycopg[binary]', or make install",
    "MySQLdb": "apt-get install libmariadb-dev pkg-config, then make install",
}


def not_run_reason(name: str, server: str | None, driver: str | None) -> str | None:
    """Why the leg ``name`` cannot run here, or ``None`` when it can."""
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
    for name, server, driver, env_extra in LEGS:
        if only and name not in only.split(","):
            continue
        reason = not_run_reason(name, server, driver)
        if reason:
            print(f"\n=== not run: {reason}", flush=True)
            missing.append(reason)
            continue
        code, counts = run_leg(name, env_extra, args)
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
        print("CI requires every database server: failing")
        failed += len(missing)
    print(f"{passed} passed, {failed} failed, {total['skipped']} skipped")
    return 1 if failed or failed_legs or total["tests"] == 0 else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
