"""Checks of the databases the package writes to: SQLite's locking (W010)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks
from django.db import router

from stream_django.checks.base import backend_class
from stream_django.conf import stream_settings

FEED_TABLES = "the feed tables"
PACKAGE_TABLES = "the package's own tables (failure ledger, fan-out backlog)"


def written_databases() -> dict[str, list[str]]:
    """Return the database aliases the package writes to, each with what it keeps there."""
    from stream_django.backends.database import DatabaseBackend
    from stream_django.models import FailedOperation, FanoutChunk

    kept: dict[str, list[str]] = {}
    cls = backend_class()
    options = stream_settings.BACKEND_OPTIONS
    if cls is not None and issubclass(cls, DatabaseBackend) and isinstance(options, dict):
        kept[str(options.get("using", "default"))] = [FEED_TABLES]
    for model in (FailedOperation, FanoutChunk):
        what = kept.setdefault(router.db_for_write(model), [])
        if PACKAGE_TABLES not in what:
            what.append(PACKAGE_TABLES)
    return kept


def sqlite_lock_warnings(alias: str, database: dict[str, Any], what: list[str]) -> list[checks.CheckMessage]:
    """Warn (W010) when ``database`` is an SQLite file without
    ``"transaction_mode": "IMMEDIATE"``.

    SQLite's default (deferred) transactions start as readers and take the
    write lock at their first write; a transaction that has read and then
    finds the lock held by another connection cannot wait for it (waiting
    could deadlock), so it fails at once with "database is locked",
    whatever the timeout. Immediate transactions take the lock at ``BEGIN``
    and wait for it up to the timeout. An in-memory database has no other
    writers, so it is not reported.
    """
    if database.get("ENGINE") != "django.db.backends.sqlite3":
        return []
    name = str(database.get("NAME") or "")
    if name in ("", ":memory:") or "mode=memory" in name:
        return []
    mode = (database.get("OPTIONS") or {}).get("transaction_mode")
    if isinstance(mode, str) and mode.upper() in ("IMMEDIATE", "EXCLUSIVE"):
        return []
    kept = " and ".join(what)
    return [
        checks.Warning(
            f"{kept[0].upper()}{kept[1:]} are in SQLite database {alias!r} without immediate transactions: "
            "two processes writing at once fail with 'database is locked'.",
            hint=f'Add "transaction_mode": "IMMEDIATE" to DATABASES[{alias!r}]["OPTIONS"] '
            "(see docs/database.md), or use PostgreSQL or MariaDB.",
            id="stream_django.W010",
        )
    ]


@checks.register()
def check_sqlite_writers(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """W010 for each SQLite file the package writes to without immediate transactions."""
    messages: list[checks.CheckMessage] = []
    for alias, what in written_databases().items():
        database = settings.DATABASES.get(alias)
        if isinstance(database, dict):  # an unknown alias is E010
            messages.extend(sqlite_lock_warnings(alias, database, what))
    return messages
