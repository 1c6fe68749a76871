"""
The database backend's plumbing: options and system check (the contract's
life cycle), the connection, one transaction per write, and retries of the
writes the database chose as deadlock victims.

``ConnectionMixin`` is the root of the backend's mixins; the others build
on it (see ``backend.py``).
"""

from __future__ import annotations

import functools
import random
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from datetime import timezone as dt_timezone
from typing import Any, Concatenate, ParamSpec, TypeVar

from django.conf import settings
from django.core import checks
from django.db import InterfaceError, OperationalError, connections, transaction
from django.db.backends.utils import CursorWrapper
from django.utils.translation import gettext as _

from stream_django.backends.base import BaseStorageBackend
from stream_django.backends.database import sql
from stream_django.exceptions import BackendUnavailable, InvalidStreamBackend, TransactionConflict

#: How often a write that lost a deadlock is retried (outside a caller's
#: transaction only: inside one, the caller's transaction is already lost).
DEADLOCK_RETRIES = 5
#: PostgreSQL's deadlock and serialization failure; MySQL/MariaDB's deadlock,
#: and 1467, which MariaDB reports for a deadlock at a table's AUTO-INC lock
#: (held by an ``INSERT ... SELECT`` until the statement ends).
_DEADLOCK_CODES = {1213, 1467, "40P01", "40001"}

C = TypeVar("C", bound="ConnectionMixin")
P = ParamSpec("P")
R = TypeVar("R")


def _is_deadlock(error: OperationalError) -> bool:
    cause = error.__cause__
    codes = {getattr(cause, "sqlstate", None), *(getattr(cause, "args", ()) or ())[:1]}
    return bool(codes & _DEADLOCK_CODES)


def retry_on_deadlock(method: Callable[Concatenate[C, P], R]) -> Callable[Concatenate[C, P], R]:
    """Run a write (its whole transaction) again when the database chose it
    as a deadlock victim, up to DEADLOCK_RETRIES times; inside the caller's
    transaction, which is lost then, or when the retries run out, raise
    ``TransactionConflict``."""

    @functools.wraps(method)
    def wrapper(self: C, /, *args: P.args, **kwargs: P.kwargs) -> R:
        inside = connections[self.using].in_atomic_block
        retries = 0 if inside else DEADLOCK_RETRIES
        for attempt in range(retries + 1):
            try:
                return method(self, *args, **kwargs)
            except OperationalError as e:
                if not _is_deadlock(e):
                    raise
                if inside:
                    raise TransactionConflict(
                        f"the {self.address} chose this write as a deadlock victim inside your transaction, "
                        f"which is lost: roll it back and run it again ({e})"
                    ) from e
                if attempt == retries:
                    raise TransactionConflict(
                        f"the {self.address} chose this write as a deadlock victim {retries + 1} times in a row ({e})"
                    ) from e
                time.sleep(0.005 * 2**attempt * (1 + self.random.random()))
        raise AssertionError("unreachable")  # pragma: no cover

    return wrapper


def to_db(value: datetime) -> datetime:
    """An aware UTC datetime as the database takes it (naive UTC without USE_TZ)."""
    return value if settings.USE_TZ else value.astimezone(dt_timezone.utc).replace(tzinfo=None)


def from_db(value: datetime) -> datetime:
    """A datetime read back as aware UTC (naive values are UTC)."""
    return value if value.tzinfo is not None else value.replace(tzinfo=dt_timezone.utc)


class ConnectionMixin(BaseStorageBackend):
    """The options (``using``, the database alias), the connection and transactions."""

    option_names = {"using"}

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(options)
        unknown = set(self.options) - self.option_names
        if unknown:
            raise InvalidStreamBackend(
                f"Unknown STREAM_BACKEND_OPTIONS for the database backend: {sorted(unknown)}; "
                f"valid options are {sorted(self.option_names)}"
            )
        self.using: str = self.options.get("using", "default")
        #: The draws of trimming and of deadlock back-offs (seed it to repeat them).
        self.random = random.Random()

    @property
    def address(self) -> str:
        try:
            conn = connections[self.using]
        except Exception:  # noqa: BLE001 - an address for an error message, whatever is wrong
            return f"database {self.using!r}"
        host = conn.settings_dict.get("HOST") or "local"
        return f"database {self.using!r} ({conn.vendor} {conn.settings_dict.get('NAME')} on {host})"

    def check(self, **kwargs: Any) -> list[checks.CheckMessage]:
        if self.using not in settings.DATABASES:
            return [
                checks.Error(
                    _("STREAM_BACKEND_OPTIONS['using'] names database %(value)r, which is not in DATABASES.")
                    % {"value": self.using},
                    hint=_("Use one of %(value)s.") % {"value": sorted(settings.DATABASES)},
                    id="stream_django.E010",
                )
            ]
        return []

    @property
    def vendor(self) -> str:
        return connections[self.using].vendor

    @contextmanager
    def _write(self) -> Iterator[CursorWrapper]:
        """Open a transaction (a savepoint inside the caller's) and a cursor in it."""
        self._connect()
        with transaction.atomic(using=self.using):
            with connections[self.using].cursor() as cursor:
                yield cursor

    def _connect(self) -> None:
        """Open the connection, turning a failure into ``BackendUnavailable``."""
        try:
            connections[self.using].ensure_connection()
        except (OperationalError, InterfaceError) as e:
            raise BackendUnavailable(f"the {self.address} cannot be reached: {e}") from e

    @contextmanager
    def _guard(self) -> Iterator[None]:
        """Run a read, turning a connection failure into ``BackendUnavailable``."""
        self._connect()
        yield

    def _lock_feeds(self, cursor: CursorWrapper, feeds: Sequence[str], *, exclusive: bool) -> None:
        """Lock the flat feeds ``feeds`` until commit (``sql.feed_locks``).

        Writes to a feed lock it shared, follows and unfollows of it
        exclusively, before any other statement of their transaction, so a
        follow's copy and a post's fan-out never miss each other's rows.
        """
        statement = sql.feed_locks(self.vendor, feeds, exclusive=exclusive)
        if statement is not None:
            cursor.execute(*statement)

    def _ignore(self, table: str, columns: Sequence[str], select: str) -> str:
        return sql.insert_ignore(self.vendor, table, columns, select)
