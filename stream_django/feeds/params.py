"""
Parameters of the feeds API: bounds, parsing and the ``duration`` of a call.

The bounds are the hosted service's (stream-semantics.md); every parser
raises an ``InputException`` naming the parameter and the value.
"""

from __future__ import annotations

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
MAX_BATCH = 100
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


def parse_int(value: Any, param: str, *, minimum: int = 0, maximum: int | None = None) -> int:
    """Return ``value`` as an int in range or raise ``InputException`` naming ``param``."""
    if isinstance(value, bool):
        raise InputException(f"{param} must be an integer, got {value!r}")
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise InputException(f"{param} must be an integer, got {value!r}") from None
    if number < minimum:
        raise InputException(f"{param} must be >= {minimum}, got {number}")
    if maximum is not None and number > maximum:
        raise InputException(f"{param} must be <= {maximum}, got {number}")
    return number


def parse_bool(value: Any, param: str) -> bool:
    if value in TRUE_VALUES:
        return True
    if value in FALSE_VALUES:
        return False
    raise InputException(f"{param} must be a boolean, got {value!r}")


def decode_group_name(value: Any, param: str) -> str:
    """Return the group name of a group id (``"<uuid>.<group>"``)."""
    text = str(value)
    uid, sep, name = text.partition(".")
    if not sep or not name:
        raise InputException(f"{param}: {value!r} is not a group id ('<uuid>.<group>')")
    ids.id_to_key(uid, param=param)
    return name
