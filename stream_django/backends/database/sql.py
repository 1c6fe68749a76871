"""
SQL shared by the database backend's statements: the table names, and the
few spellings that differ between PostgreSQL, SQLite and MySQL.
"""

from __future__ import annotations

from collections.abc import Sequence, Sized
from typing import Any

from stream_django.backends.database.models import (
    ActivityGroup,
    FeedEntry,
    FeedLock,
    GroupActor,
    GroupEntry,
    StoredActivity,
)
from stream_django.backends.database.models import Follow as FollowRow

ENTRY = FeedEntry._meta.db_table
GENTRY = GroupEntry._meta.db_table
GROUP = ActivityGroup._meta.db_table
FOLLOW = FollowRow._meta.db_table
ACTIVITY = StoredActivity._meta.db_table
FEED_LOCK = FeedLock._meta.db_table
GACTOR = GroupActor._meta.db_table


def insert_ignore(vendor: str, table: str, columns: Sequence[str], select: str) -> str:
    """``INSERT ... SELECT`` that skips rows violating a unique constraint."""
    cols = ", ".join(columns)
    if vendor == "mysql":
        return f"INSERT IGNORE INTO {table} ({cols}) {select}"
    return f"INSERT INTO {table} ({cols}) {select} ON CONFLICT DO NOTHING"


def random_below(vendor: str, bound: str = "%s") -> str:
    """A condition true with probability ``bound`` (by default one float parameter)."""
    if vendor == "postgresql":
        return f"random() < {bound}"
    if vendor == "mysql":
        return f"RAND() < {bound}"
    return f"abs(random()) / 9223372036854775807.0 < {bound}"


def placeholders(values: Sized) -> str:
    return ", ".join(["%s"] * len(values))


def range_condition(chunk: tuple[str | None, str | None], column: str) -> tuple[str, list[Any]]:
    """The condition on ``column`` of a follower range ``(after, upto]``,
    as ``" AND ..."`` clauses and their parameters."""
    after, upto = chunk
    where, params = "", []
    if after is not None:
        where += f" AND {column} > %s"
        params.append(after)
    if upto is not None:
        where += f" AND {column} <= %s"
        params.append(upto)
    return where, params


def upsert(
    vendor: str, table: str, columns: Sequence[str], select: str, conflict: Sequence[str], assignments: str
) -> str:
    """``INSERT ... SELECT`` that runs ``assignments`` on rows that already exist.

    In ``assignments``, ``{table}.column`` is the existing row's value.
    """
    cols = ", ".join(columns)
    if vendor == "mysql":
        return f"INSERT INTO {table} ({cols}) {select} ON DUPLICATE KEY UPDATE {assignments}"
    return f"INSERT INTO {table} ({cols}) {select} ON CONFLICT ({', '.join(conflict)}) DO UPDATE SET {assignments}"


def by_feed_and_name(vendor: str) -> str:
    """The hint that makes MySQL/MariaDB read (and so lock) groups in
    (feed, name) order: they lock rows as they read them, before sorting."""
    return " FORCE INDEX (stream_group_feed_name)" if vendor == "mysql" else ""


def row_lock(vendor: str, *, exclusive: bool) -> str:
    """The clause that locks the rows a ``SELECT`` reads, until commit.

    SQLite has none: it lets one writer at a time into the whole database.
    """
    if vendor == "postgresql":
        return " FOR UPDATE" if exclusive else " FOR SHARE"
    if vendor == "mysql":
        return " FOR UPDATE" if exclusive else " LOCK IN SHARE MODE"
    return ""


def key_share_lock(vendor: str) -> str:
    """The clause that locks the rows a ``SELECT`` reads against deletion
    (and key changes) until commit, the lock a foreign key check takes.

    PostgreSQL's ``FOR KEY SHARE`` lets updates of other columns through
    (a replace of the activity's data); MySQL/MariaDB have only the shared
    lock. SQLite has none (one writer at a time).
    """
    if vendor == "postgresql":
        return " FOR KEY SHARE"
    if vendor == "mysql":
        return " LOCK IN SHARE MODE"
    return ""


def feed_locks(vendor: str, feeds: Sequence[str], *, exclusive: bool) -> tuple[str, list[Any]] | None:
    """The statement that locks ``feeds`` (sorted: one lock order everywhere)
    until the transaction ends: shared for a write to them, exclusive for a
    follow or unfollow of them. ``None`` on SQLite (one writer at a time).

    PostgreSQL: transaction-scoped advisory locks on a hash of each feed id
    (a collision only makes two feeds wait for each other). MySQL/MariaDB:
    the feed's row in ``FEED_LOCK``; ``INSERT IGNORE`` of an existing key
    takes a shared lock on it, ``ON DUPLICATE KEY UPDATE`` an exclusive one.
    """
    ordered = sorted(set(feeds))
    if not ordered:
        return None
    if vendor == "postgresql":
        call = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
        locks = ", ".join(f"{call}(hashtextextended(%s, 0))" for _ in ordered)
        return f"SELECT {locks}", ordered
    if vendor == "mysql":
        rows = ", ".join(["(%s)"] * len(ordered))
        if exclusive:
            return f"INSERT INTO {FEED_LOCK} (feed) VALUES {rows} ON DUPLICATE KEY UPDATE feed = feed", ordered
        return f"INSERT IGNORE INTO {FEED_LOCK} (feed) VALUES {rows}", ordered
    return None
