"""
Validation and normalisation of activities.

``prepare_activity`` turns what a caller passes to ``add_activity`` into a
``PreparedActivity``: every field checked (raising ``InputException`` naming
the bad one, before anything is stored), ``time`` in UTC to the millisecond,
the deterministic ``id``, and the JSON that backends store.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.utils import timezone as dj_timezone

from stream_django.engine import ids, serializer
from stream_django.engine.feeds import parse_feed_id
from stream_django.exceptions import CustomFieldException, InputException

REQUIRED = ("actor", "verb", "object")
STRING_FIELDS = ("actor", "verb", "object", "target", "foreign_id")
#: Fields the engine owns; a custom field of one of these names is an error.
RESERVED = frozenset({"id", "origin", "activities", "is_seen", "is_read", "activity_count", "actor_count", "group"})
MAX_LENGTH = {"verb": 255, "foreign_id": 255}
MAX_JSON_BYTES = 10 * 1024
MAX_TO_TARGETS = 100
#: How deep lists and dicts may nest in a custom field.
MAX_DEPTH = 32


@dataclass(frozen=True)
class PreparedActivity:
    """A validated activity, ready to store."""

    id: str
    key: str
    time: datetime
    foreign_id: str
    actor: str
    verb: str
    to: tuple[str, ...]
    data: dict[str, Any] = field(compare=False)
    json: str = field(compare=False)

    def decoded(self) -> dict[str, Any]:
        """Return the activity as readers see it (times decoded, no origin)."""
        activity: dict[str, Any] = serializer.loads(self.json)
        activity["id"] = self.id
        return activity


def parse_time(value: Any, *, param: str = "time") -> datetime:
    """Return ``value`` (datetime or ISO string) as aware UTC to the millisecond.

    Raises ``InputException`` naming ``param`` for anything else, and for a
    time outside the range of activity ids (``ids.MIN_TIME``-``MAX_TIME``).
    """
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise InputException(f"{param} {value!r} is not an ISO 8601 datetime") from None
    if not isinstance(value, datetime):
        raise InputException(f"{param} must be a datetime or an ISO 8601 string, got {value!r}")
    try:
        utc = ids.to_utc_ms(value)
    except OverflowError:  # a year-1 or year-9999 time with an offset
        raise InputException(
            f"{param} {value.isoformat()} is out of range: activity ids hold times from "
            f"{ids.MIN_TIME.isoformat()} to {ids.MAX_TIME.isoformat()}"
        ) from None
    return ids.check_time(utc, param=param)


def parse_targets(value: Any) -> tuple[str, ...]:
    if not value:
        return ()
    if not isinstance(value, (list, tuple, set)):
        raise InputException(f"'to' must be a list of 'slug:user_id' feed ids, got {value!r}")
    targets = tuple(dict.fromkeys(parse_feed_id(t, what="'to' target") for t in value))
    if len(targets) > MAX_TO_TARGETS:
        raise InputException(f"'to' has {len(targets)} targets; the maximum is {MAX_TO_TARGETS}")
    return targets


def prepare_activity(data: Any, *, now: datetime | None = None) -> PreparedActivity:
    """Validate ``data`` and return the activity to store."""
    if not isinstance(data, dict):
        raise InputException(f"an activity must be a dict, got {type(data).__name__}")
    activity = dict(data)
    for name in sorted(RESERVED & set(activity)):
        raise CustomFieldException(f"{name!r} is a reserved field name and cannot be set on an activity")
    for name in REQUIRED:
        value = activity.get(name)
        if value is None or value == "":
            raise InputException(f"activity field {name!r} is required")
    for name in STRING_FIELDS:
        if name in activity:
            value = activity[name]
            if value is None:
                del activity[name]
                continue
            if isinstance(value, (dict, list, tuple, set, bytes)):
                raise InputException(f"activity field {name!r} must be a string, got {type(value).__name__}")
            activity[name] = str(value)
            limit = MAX_LENGTH.get(name)
            if limit and len(activity[name]) > limit:
                raise InputException(
                    f"activity field {name!r} is {len(activity[name])} characters long; the maximum is {limit}"
                )
    time = parse_time(activity["time"]) if activity.get("time") is not None else ids.to_utc_ms(now or dj_timezone.now())
    activity["time"] = time
    targets = parse_targets(activity.pop("to", None))
    if targets:
        activity["to"] = list(targets)
    foreign_id = activity.get("foreign_id", "")
    for name, value in activity.items():
        if name not in STRING_FIELDS and name != "time":
            check_depth(value, name)
            serializer.dumps(value, field=name)
    text = serializer.dumps(activity)
    if len(text.encode("utf-8")) > MAX_JSON_BYTES:
        raise InputException(
            f"the activity is {len(text.encode('utf-8'))} bytes as JSON; the maximum is "
            f"{MAX_JSON_BYTES} (store references, not content)"
        )
    seed = foreign_id or _seed_without_foreign_id(activity)
    activity_id = ids.activity_id(seed, time)
    return PreparedActivity(
        id=activity_id,
        key=ids.id_to_key(activity_id),
        time=time,
        foreign_id=foreign_id,
        actor=activity["actor"],
        verb=activity["verb"],
        to=targets,
        data=activity,
        json=text,
    )


def check_depth(value: Any, field: str) -> None:
    """Raise ``InputException`` naming ``field`` when lists and dicts nest in
    ``value`` more than ``MAX_DEPTH`` levels (JSON would recurse that deep)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Iterable[Any] = item.values()
        elif isinstance(item, (list, tuple)):
            children = item
        else:
            continue
        if depth > MAX_DEPTH:
            raise InputException(
                f"activity field {field!r} nests lists and dicts more than {MAX_DEPTH} levels deep; "
                f"the maximum is {MAX_DEPTH}"
            )
        stack.extend((child, depth + 1) for child in children)


def _seed_without_foreign_id(activity: dict[str, Any]) -> str:
    """Same data and time give the same id, as on the hosted service."""
    return serializer.dumps({k: v for k, v in activity.items() if k != "to"})


def prepare_many(items: Iterable[Any]) -> list[PreparedActivity]:
    """Validate every activity first, so that one bad item stores nothing."""
    now = dj_timezone.now()
    prepared = []
    for index, item in enumerate(items):
        try:
            prepared.append(prepare_activity(item, now=now))
        except InputException as e:
            raise type(e)(f"activities[{index}]: {e.detail}") from None
    return prepared


def decode(text: str, activity_id: str, origin: str | None = None) -> dict[str, Any]:
    """Return a stored activity as readers see it."""
    activity: dict[str, Any] = serializer.loads(text)
    activity["id"] = activity_id
    activity["origin"] = origin
    return activity
