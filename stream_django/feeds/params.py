"""
Parameters of the feeds API: bounds, parsing and the ``duration`` of a call.

The bounds are the hosted service's (stream-semantics.md); every parser
raises an ``InputException`` naming the parameter and the value.
"""

from __future__ import annotations

import re
import time as _time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from stream_django.engine import ids
from stream_django.exceptions import InputException

DEFAULT_LIMIT = 25
MAX_LIMIT = 100
MAX_COPY_LIMIT = 1000
MAX_FOLLOW_LIMIT = 500
#: The largest ``offset``: every store's integer type holds it (a read's
#: cost grows with the offset; paginate with ``id_lt``).
MAX_OFFSET = 2**31 - 1
#: Activities per ``add_activities``, ``update_activities``,
#: ``activities_partial_update`` and ``get_activities`` call.
MAX_BATCH = 100
#: Follows per ``follow_many`` / ``unfollow_many`` call.
MAX_FOLLOW_BATCH = 2500
#: Feeds per ``add_to_many`` call (the hosted service's documented limit).
MAX_ADD_TO_MANY = 5000
#: Group ids per ``mark_seen`` / ``mark_read`` list.
MAX_MARK_IDS = 1000
TRUE_VALUES = {True, "1", "true", "True"}
FALSE_VALUES = {False, "0", "false", "False", "", None}


class Timer:
    """Measures a call for the ``duration`` field of its response."""

    def __init__(self) -> None:
        self.start = _time.perf_counter()

    @property
    def duration(self) -> str:
        return f"{(_time.perf_counter() - self.start) * 1000:.2f}ms"


@contextmanager
def timed() -> Iterator[Timer]:
    yield Timer()


_INTEGER = re.compile(r"[+-]?\d+", re.ASCII)


def parse_int(value: Any, param: str, *, minimum: int = 0, maximum: int | None = None) -> int:
    """Return ``value`` as an int in range or raise ``InputException`` naming ``param``.

    ``value`` is an int or the decimal digits of one (a query string's);
    anything else (a float, a bool, ``"2.5"``) is refused, never truncated.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and _INTEGER.fullmatch(value) and len(value) < 4000:
        number = int(value)
    else:
        raise InputException(f"{param} must be an integer, got {value!r}")
    if number < minimum:
        raise InputException(f"{param} must be >= {minimum}, got {number}")
    if maximum is not None and number > maximum:
        raise InputException(f"{param} must be <= {maximum}, got {number}")
    return number


def check_batch(items: Any, param: str, maximum: int) -> list[Any]:
    """Return ``items`` as a list of at most ``maximum`` items, or raise
    ``InputException`` naming ``param``, the count and the bound."""
    if isinstance(items, (str, bytes, dict)) or not hasattr(items, "__iter__"):
        raise InputException(f"{param} must be a list, got {type(items).__name__}")
    listed = list(items)
    if len(listed) > maximum:
        raise InputException(f"{param} has {len(listed)} items; the maximum is {maximum}")
    return listed


def is_false(value: Any) -> bool:
    """Whether ``value`` asks for nothing: one of ``FALSE_VALUES`` or an empty list."""
    if isinstance(value, (list, tuple, set)):
        return not value
    try:
        return value in FALSE_VALUES
    except TypeError:  # unhashable
        return False


def parse_bool(value: Any, param: str) -> bool:
    try:
        if value in TRUE_VALUES:
            return True
        if value in FALSE_VALUES:
            return False
    except TypeError:  # unhashable
        pass
    raise InputException(f"{param} must be a boolean, got {value!r}")


def decode_group_name(value: Any, param: str) -> str:
    """Return the group name of a group id (``"<uuid>.<group>"``)."""
    text = str(value)
    uid, sep, name = text.partition(".")
    if not sep or not name:
        raise InputException(f"{param}: {value!r} is not a group id ('<uuid>.<group>')")
    ids.id_to_key(uid, param=param)
    return name
