"""
Activity ids, as the hosted service makes them.

An id is a version-1 UUID built from the activity's time (truncated to the
millisecond) and the murmur3 hash of its ``foreign_id``, so the same
``foreign_id`` and ``time`` always give the same id, on every backend.

Storage uses the *key* of an id: the UUID's fields reordered (timestamp,
clock sequence, node) as 31 hex digits, so that comparing two keys as
strings compares the ids in time order, exactly (no float rounding).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

from stream_django.exceptions import InputException

_UUID_EPOCH_OFFSET = 122192928000000000  # 100 ns ticks from 1582-10-15 to 1970
_CLOCK_SEQ = 0x8080
KEY_LENGTH = 31


def murmur3_32(data: bytes, seed: int = 0) -> int:
    """Return the unsigned 32-bit MurmurHash3 (x86) of ``data``."""
    c1, c2 = 0xCC9E2D51, 0x1B873593
    h = seed & 0xFFFFFFFF
    length = len(data)
    tail_start = length & ~3
    for i in range(0, tail_start, 4):
        k = int.from_bytes(data[i : i + 4], "little")
        k = (k * c1) & 0xFFFFFFFF
        k = ((k << 15) | (k >> 17)) & 0xFFFFFFFF
        k = (k * c2) & 0xFFFFFFFF
        h ^= k
        h = ((h << 13) | (h >> 19)) & 0xFFFFFFFF
        h = (h * 5 + 0xE6546B64) & 0xFFFFFFFF
    k = 0
    tail = length & 3
    if tail == 3:
        k ^= data[tail_start + 2] << 16
    if tail >= 2:
        k ^= data[tail_start + 1] << 8
    if tail >= 1:
        k ^= data[tail_start]
        k = (k * c1) & 0xFFFFFFFF
        k = ((k << 15) | (k >> 17)) & 0xFFFFFFFF
        k = (k * c2) & 0xFFFFFFFF
        h ^= k
    h ^= length
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & 0xFFFFFFFF
    h ^= h >> 16
    return h


def to_utc_ms(value: datetime) -> datetime:
    """Return ``value`` as an aware UTC datetime truncated to the millisecond.

    Naive datetimes are taken as UTC, as stream-python does.
    """
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    value = value.astimezone(timezone.utc)
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def check_time(value: datetime, *, param: str = "time") -> datetime:
    """Return ``value`` (aware UTC) if an activity id can hold it.

    Raises ``InputException`` naming ``param``, the value and the range
    otherwise: outside it the id's timestamp would wrap, and the activity
    would sort among the wrong ones for good.
    """
    if not MIN_TIME <= value <= MAX_TIME:
        raise InputException(
            f"{param} {value.isoformat()} is out of range: activity ids hold times from "
            f"{MIN_TIME.isoformat()} to {MAX_TIME.isoformat()}"
        )
    return value


def activity_id(seed: str, time: datetime) -> str:
    """Return the deterministic activity id for ``seed`` (the foreign id) and ``time``."""
    time = check_time(to_utc_ms(time))
    ms = _epoch_ms(time)
    ticks = _UUID_EPOCH_OFFSET + ms * 10_000
    h = murmur3_32(seed.encode("utf-8"))
    if h >= 0x80000000:  # the hosted service works on the signed value
        h -= 0x100000000
    node = (h | 0x100000000) if h > 0 else -h
    node = (node | 0x800000000000) & 0xFFFFFFFFFFFF
    return _uuid1(ticks, _CLOCK_SEQ, node)


def _uuid1(ticks: int, clock_seq: int, node: int) -> str:
    """Return the version-1 UUID string of a timestamp, clock sequence and node."""
    return str(
        uuid.UUID(
            fields=(
                ticks & 0xFFFFFFFF,
                (ticks >> 32) & 0xFFFF,
                0x1000 | ((ticks >> 48) & 0x0FFF),
                clock_seq >> 8,
                clock_seq & 0xFF,
                node,
            )
        )
    )


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
#: The times an activity id holds: its 60-bit timestamp counts 100 ns ticks
#: from the start of the Gregorian calendar (the id is made to the ms).
MIN_TIME = datetime(1582, 10, 15, tzinfo=timezone.utc)
MAX_TIME = _EPOCH + timedelta(milliseconds=((1 << 60) - 1 - _UUID_EPOCH_OFFSET) // 10_000)


def _epoch_ms(time: datetime) -> int:
    delta = time - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def id_to_key(value: str, *, param: str = "id") -> str:
    """Return the sortable storage key of an activity id.

    Raises ``InputException`` naming ``param`` when ``value`` is not a
    version-1 UUID.
    """
    try:
        u = uuid.UUID(str(value))
    except (ValueError, AttributeError, TypeError):
        raise InputException(f"{param} must be an activity id (a version-1 UUID), got {value!r}") from None
    if u.version != 1:
        raise InputException(f"{param} must be an activity id (a version-1 UUID), got {value!r}")
    return f"{u.time:015x}{u.clock_seq_hi_variant:02x}{u.clock_seq_low:02x}{u.node:012x}"


def key_to_id(key: str) -> str:
    """Return the activity id of a storage key (the inverse of ``id_to_key``)."""
    # The key's hex digits rearranged: time_low, time_mid, version 1 +
    # time_hi, clock sequence, node (what _uuid1 would format, faster).
    return f"{key[7:15]}-{key[3:7]}-1{key[:3]}-{key[15:19]}-{key[19:]}".lower()


def key_time(key: str) -> datetime:
    """Return the (millisecond) time embedded in a storage key."""
    ticks = int(key[:15], 16) - _UUID_EPOCH_OFFSET
    return _EPOCH + timedelta(microseconds=ticks // 10)
