"""
SQL shared by the database backend's statements: the table names, and the
few spellings that differ between PostgreSQL, SQLite and MySQL.
"""

from __future__ import annotations

from collections.abc import Sequence, Sized
from typing import Any

from stream_django.backends.database.models import ActivityGroup, FeedEntry, GroupEntry, StoredActivity
from stream_django.backends.database.models import Follow as FollowRow

ENTRY = FeedEntry._meta.db_table
GENTRY = GroupEntry._meta.db_table
GROUP = ActivityGroup._meta.db_table
FOLLOW = FollowRow._meta.db_table
ACTIVITY = StoredActivity._meta.db_table


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


def row_lock(vendor: str, *, exclusive: bool) -> str:
    """The clause that locks the rows a ``SELECT`` reads, until commit.

    SQLite has none: it lets one writer at a time into the whole database.
    """
    if vendor == "postgresql":
        return " FOR UPDATE" if exclusive else " FOR SHARE"
    if vendor == "mysql":
        return " FOR UPDATE" if exclusive else " LOCK IN SHARE MODE"
    return ""
