"""
The django-user-streams API: plain-text news items per user.

::

    from stream_django.streams import add_stream_item, get_stream_items

    add_stream_item(user, "Your export is ready")
    add_stream_item(User.objects.filter(is_staff=True), "Deploy at 18:00")
    items = get_stream_items(user)      # lazy, newest first
    items[:20]                           # one query
    len(items)                           # one query

An item is stored once, however many users receive it, with one feed entry
per user (the feed group ``USER_STREAMS_FEED``, default ``"user_stream"``).
``USER_STREAMS_BACKEND`` may name a class of your own implementing
``add_stream_item(users, content, created_at)`` and
``get_stream_items(user)``; then these functions delegate to it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any, Iterable, Iterator

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.utils import timezone as dj_timezone
from django.utils.module_loading import import_string

from stream_django.backends import get_backend
from stream_django.backends.base import BaseStorageBackend, Page
from stream_django.conf import stream_settings
from stream_django.engine import serializer
from stream_django.engine.activities import prepare_activity

VERB = "stream_item"
#: Larger than any feed: the limit used for open-ended slices (``items[5:]``).
UNBOUNDED = 2**62


@dataclass(frozen=True)
class StreamItem:
    """One item of a user's stream."""

    content: str
    created_at: datetime


@lru_cache(maxsize=8)
def _custom_backend(path: str) -> Any:
    try:
        return import_string(path)()
    except ImportError as e:
        raise ImproperlyConfigured(f"USER_STREAMS_BACKEND {path!r} cannot be imported: {e}") from e


def _delegate() -> Any:
    path = stream_settings.USER_STREAMS_BACKEND
    return _custom_backend(path) if path else None


def _storage() -> BaseStorageBackend:
    backend = get_backend()
    if not isinstance(backend, BaseStorageBackend):
        raise ImproperlyConfigured(
            f"stream_django.streams needs a local backend (database or Redis); the {backend.name} "
            "backend cannot count a feed in one call. Set USER_STREAMS_BACKEND to a class of your own."
        )
    return backend


def _now() -> datetime:
    """The current time as django-user-streams gives it."""
    if settings.USE_TZ:
        return dj_timezone.now()
    if stream_settings.USER_STREAMS_USE_UTC:
        return datetime.now(timezone.utc).replace(tzinfo=None)
    return datetime.now()


def _to_utc(value: datetime) -> datetime:
    """Turn a created_at given by the caller into an aware UTC datetime."""
    if not isinstance(value, datetime):
        raise TypeError(f"created_at must be a datetime, got {value!r}")
    if dj_timezone.is_aware(value):
        return value.astimezone(timezone.utc)
    if not settings.USE_TZ and stream_settings.USER_STREAMS_USE_UTC:
        return value.replace(tzinfo=timezone.utc)
    return dj_timezone.make_aware(value, dj_timezone.get_default_timezone()).astimezone(timezone.utc)


def _from_utc(value: datetime) -> datetime:
    """Turn a stored (aware UTC) time into what django-user-streams returns."""
    if settings.USE_TZ:
        return value
    if stream_settings.USER_STREAMS_USE_UTC:
        return value.replace(tzinfo=None)
    return dj_timezone.make_naive(value, dj_timezone.get_default_timezone())


def _feed(user_id: Any) -> str:
    from stream_django.engine.feeds import feed_id

    return feed_id(stream_settings.USER_STREAMS_FEED, user_id)


def _user_id_chunks(user_or_users: Any, size: int) -> Iterator[list[Any]]:
    if isinstance(user_or_users, models.Model):
        yield [user_or_users.pk]
        return
    if isinstance(user_or_users, models.QuerySet):
        chunk: list[Any] = []
        for pk in user_or_users.order_by().values_list("pk", flat=True).iterator(chunk_size=size):
            chunk.append(pk)
            if len(chunk) == size:
                yield chunk
                chunk = []
        if chunk:
            yield chunk
        return
    if isinstance(user_or_users, (str, bytes)) or not isinstance(user_or_users, Iterable):
        raise TypeError(
            f"user_or_users must be a user, a list of users or a queryset, got {user_or_users!r}"
        )
    chunk = []
    for user in user_or_users:
        if not isinstance(user, models.Model):
            raise TypeError(f"user_or_users must contain users, got {user!r}")
        chunk.append(user.pk)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def add_stream_item(user_or_users: Any, content: str, created_at: datetime | None = None) -> None:
    """Add ``content`` to the stream of one user, a list of users or a queryset.

    ``created_at`` defaults to now. Each call makes a new item, even for the
    same content and time. A queryset is read in chunks of
    ``STREAM_FANOUT_CHUNK_SIZE`` ids, each written with one set-based insert.
    """
    if not isinstance(content, str):
        raise TypeError(f"content must be a string, got {type(content).__name__}")
    delegate = _delegate()
    if delegate is not None:
        users = [user_or_users] if isinstance(user_or_users, models.Model) else user_or_users
        return delegate.add_stream_item(users, content, created_at or _now())
    when = _to_utc(created_at) if created_at is not None else _to_utc(_now())
    item_id = uuid.uuid4().hex
    activity = prepare_activity(
        {
            "actor": "user_streams",
            "verb": VERB,
            "object": item_id,
            "foreign_id": f"user_streams:{item_id}",
            "time": when,
            "content": content,
        }
    )
    backend = _storage()
    for chunk in _user_id_chunks(user_or_users, stream_settings.FANOUT_CHUNK_SIZE):
        backend.add_to_many(activity, [_feed(pk) for pk in chunk])


class StreamItems:
    """A user's items, newest first: slicing and ``len()`` are one query each."""

    def __init__(self, feed: str) -> None:
        self.feed = feed
        self._length: int | None = None

    def _read(self, offset: int, limit: int) -> list[StreamItem]:
        if limit <= 0:
            return []
        entries = _storage().read_feed(self.feed, Page(limit=limit, offset=offset))
        items = []
        for entry in entries:
            data = serializer.loads(entry.json)
            items.append(StreamItem(content=data["content"], created_at=_from_utc(data["time"])))
        return items

    def __len__(self) -> int:
        if self._length is None:
            self._length = _storage().feed_length(self.feed)
        return self._length

    def count(self) -> int:
        """The number of items (what ``Paginator`` asks for)."""
        return len(self)

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            if (index.start is not None and index.start < 0) or (index.stop is not None and index.stop < 0):
                raise ValueError("Negative indexing is not supported.")
            if index.step not in (None, 1):
                raise ValueError("Stepped slicing of stream items is not supported.")
            start = index.start or 0
            stop = UNBOUNDED if index.stop is None else index.stop
            return self._read(start, stop - start)
        if not isinstance(index, int):
            raise TypeError(f"stream item indices must be integers or slices, not {type(index).__name__}")
        if index < 0:
            raise ValueError("Negative indexing is not supported.")
        found = self._read(index, 1)
        if not found:
            raise IndexError("stream item index out of range")
        return found[0]

    def __iter__(self) -> Iterator[StreamItem]:
        offset, size = 0, 500
        while True:
            page = self._read(offset, size)
            yield from page
            if len(page) < size:
                return
            offset += size

    def __repr__(self) -> str:
        return f"<StreamItems {self.feed}>"


def get_stream_items(user: Any) -> Any:
    """Return the lazy, newest-first items of ``user``'s stream."""
    if not isinstance(user, models.Model):
        raise TypeError(f"user must be a user instance, got {user!r}")
    delegate = _delegate()
    if delegate is not None:
        return delegate.get_stream_items(user)
    return StreamItems(_feed(user.pk))
