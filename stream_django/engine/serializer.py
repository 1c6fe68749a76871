"""
JSON as the hosted service speaks it (never pickle).

Datetimes are written as naive UTC ``YYYY-MM-DDTHH:MM:SS.ffffff`` and dates as
``YYYY-MM-DD``; reading turns every string of exactly those shapes, at any
depth, back into an aware UTC ``datetime`` or a ``date``, which is what
stream-python gives its callers.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timezone
from typing import Any

from stream_django.exceptions import InputException

DATETIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%f"
DATE_FORMAT = "%Y-%m-%d"


def format_datetime(value: datetime) -> str:
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc)
    return value.strftime(DATETIME_FORMAT)


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, date):
        return value.strftime(DATE_FORMAT)
    raise TypeError(type(value).__name__)


def dumps(value: Any, *, field: str | None = None) -> str:
    """Return compact, key-sorted JSON for ``value``.

    Raises ``InputException`` naming ``field`` when something in ``value`` is
    not JSON-serialisable.
    """
    try:
        return json.dumps(
            value,
            default=_default,
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
            allow_nan=False,
        )
    except (TypeError, ValueError) as e:
        where = f"field {field!r}" if field else "the activity"
        raise InputException(
            f"{where} is not JSON-serialisable ({e}); store references (create_model_reference) and plain data instead"
        ) from None


def _decode_strings(obj: dict[str, Any]) -> dict[str, Any]:
    for key, value in obj.items():
        if isinstance(value, str) and 10 <= len(value) <= 26 and value[4:5] == "-":
            obj[key] = parse_wire_value(value)
    return obj


#: The exact shapes ``dumps`` writes, which ``fromisoformat`` reads the same
#: way as ``strptime`` does, many times faster (every activity has a time).
_DATETIME_SHAPE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}", re.ASCII)
_DATE_SHAPE = re.compile(r"\d{4}-\d\d-\d\d", re.ASCII)


def parse_wire_value(value: str) -> Any:
    """Return ``value`` as a datetime or date when it has the wire shape of one."""
    if len(value) == 26 and value[10:11] == "T":
        try:
            if _DATETIME_SHAPE.fullmatch(value):
                return datetime.fromisoformat(value + "+00:00")  # faster than .replace(tzinfo=)
            return datetime.strptime(value, DATETIME_FORMAT).replace(tzinfo=timezone.utc)
        except ValueError:
            return value
    if len(value) == 10:
        try:
            if _DATE_SHAPE.fullmatch(value):
                return date.fromisoformat(value)
            return datetime.strptime(value, DATE_FORMAT).date()
        except ValueError:
            return value
    return value


_DECODER = json.JSONDecoder(object_hook=_decode_strings)


def loads(text: str | bytes) -> Any:
    if isinstance(text, (bytes, bytearray)):
        text = text.decode("utf-8")
    return _DECODER.decode(text)
