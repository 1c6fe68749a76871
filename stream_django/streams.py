"""
The django-user-streams API: plain-text news items per user.

::

    from stream_django.streams import add_stream_item, get_stream_items

    add_stream_item(user, "Your export is ready")
    add_stream_item(User.objects.filter(is_staff=True), "Deploy at 18:00")
    items = get_stream_items(user)      # lazy, newest first
    items[:20]                           # one query
    len(items)                           # one query

An item is stored once, however many users receive it, with one entry per
user in a flat feed group of its own (``USER_STREAMS_FEED``, default
``"user_stream"``), written with the backend's set-based ``add_to_many`` in
chunks of ``STREAM_FANOUT_CHUNK_SIZE`` users.

``USER_STREAMS_BACKEND`` may name a class of your own implementing
``add_stream_item(users, content, created_at)`` and ``get_stream_items(user)``
as django-user-streams specifies; then these functions delegate to it.
"""

from __future__ import annotations

import json
import operator
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.utils import timezone as dj_timezone
from django.utils.module_loading import import_string

from stream_django.backends import get_backend
from stream_django.backends.base import BaseStorageBackend, Entry, Page
from stream_django.conf import stream_settings
from stream_django.engine import ids, serializer
from stream_django.engine.activities import (
    MAX_JSON_BYTES,
    PreparedActivity,
    prepare_activity,
)
from stream_django.engine.feeds import feed_id, get_group
from stream_django.engine.plan import plan_write
from stream_django.exceptions import InputException
from stream_django.feeds.params import MAX_OFFSET
from stream_django.signals import resets_on_setting_changed

__all__ = ["StreamItem", "StreamItems", "add_stream_item", "get_stream_items"]

ACTOR = "user_streams"
VERB = "stream_item"
#: Larger than any feed: the limit of open-ended slices (``items[5:]``).
UNBOUNDED = 2**62
#: How many items each query reads while iterating over a whole stream.
ITER_PAGE_SIZE = 500
#: The times the engine's activity ids can hold.
EARLIEST = ids.key_time("0" * ids.KEY_LENGTH)
LATEST = ids.key_time("f" * 15 + "0" * (ids.KEY_LENGTH - 15))


@dataclass(frozen=True)
class StreamItem:
    """One item of a user's stream: ``content`` as given, and ``created_at``."""

    content: str
    created_at: datetime


# -- settings --------------------------------------------------------------


@lru_cache(maxsize=8)
def _custom_backend(path: str) -> Any:
    """Return an instance of the ``USER_STREAMS_BACKEND`` class at ``path``."""
    hint = ""
    if path.startswith("user_streams."):
        hint = (
            " (a django-user-streams backend: remove the setting to use the "
            "configured STREAM_BACKEND, see docs/user-streams.md)"
        )
    try:
        cls = import_string(path)
    except ImportError as e:
        raise ImproperlyConfigured(f"USER_STREAMS_BACKEND {path!r} cannot be imported: {e}{hint}") from e
    backend = cls()
    missing = [name for name in ("add_stream_item", "get_stream_items") if not callable(getattr(backend, name, None))]
    if missing:
        raise ImproperlyConfigured(f"USER_STREAMS_BACKEND {path!r} has no {' or '.join(missing)} method{hint}")
    return backend


resets_on_setting_changed(_custom_backend.cache_clear)


def _delegate() -> Any:
    path = stream_settings.USER_STREAMS_BACKEND
    return _custom_backend(path) if path else None


def _storage() -> BaseStorageBackend:
    backend = get_backend()
    if not isinstance(backend, BaseStorageBackend):
        raise ImproperlyConfigured(
            f"stream_django.streams needs a local backend (database or Redis); the "
            f"{backend.name} backend does not keep user streams. Set "
            "USER_STREAMS_BACKEND to a class of your own."
        )
    return backend


def _slug() -> str:
    """Return the feed group of the streams, checked to be flat."""
    slug = stream_settings.USER_STREAMS_FEED
    group = get_group(slug)
    if not group.is_flat:
        raise ImproperlyConfigured(
            f"USER_STREAMS_FEED {slug!r} names a feed group of type {group.type!r} in "
            "STREAM_FEEDS; user streams need a flat one"
        )
    return slug


# -- users -----------------------------------------------------------------


def _user_pk(user: Any, param: str) -> Any:
    """Return the pk of ``user``, a saved instance of the user model."""
    user_model = get_user_model()
    if not isinstance(user, user_model):
        raise TypeError(f"{param} must be an instance of {user_model._meta.label}, got {user!r}")
    if user.pk is None:
        raise ValueError(f"{param}: user {user!r} is not saved (its pk is None)")
    return user.pk


def _check_users(user_or_users: Any) -> Any:
    """Return ``user_or_users`` as a queryset or a list of users, validated."""
    param = "user_or_users"
    if isinstance(user_or_users, models.QuerySet):
        user_model = get_user_model()
        if not issubclass(user_or_users.model, user_model):
            raise TypeError(
                f"{param} must be a queryset of {user_model._meta.label}, "
                f"got a queryset of {user_or_users.model._meta.label}"
            )
        return user_or_users
    if isinstance(user_or_users, models.Model):
        _user_pk(user_or_users, param)
        return [user_or_users]
    if isinstance(user_or_users, (str, bytes, dict)) or not isinstance(user_or_users, Iterable):
        raise TypeError(f"{param} must be a user, an iterable of users or a queryset of users, got {user_or_users!r}")
    users = list(user_or_users)
    for index, user in enumerate(users):
        _user_pk(user, f"{param}[{index}]")
    return users


def _pk_chunks(users: Any, size: int) -> Iterator[list[Any]]:
    """Yield the pks of ``users`` (validated) in lists of at most ``size``."""
    if isinstance(users, models.QuerySet):
        if not users.query.is_sliced:
            users = users.order_by()
        pks: Iterable[Any] = users.values_list("pk", flat=True).iterator(chunk_size=size)
    else:
        pks = [user.pk for user in users]
    chunk: dict[Any, None] = {}
    for pk in pks:
        chunk[pk] = None
        if len(chunk) == size:
            yield list(chunk)
            chunk = {}
    if chunk:
        yield list(chunk)


# -- times -----------------------------------------------------------------


def _local_now() -> datetime:
    """Return now as django-user-streams gives it for the current settings."""
    now = datetime.now(timezone.utc)
    if settings.USE_TZ:
        return now
    if stream_settings.USER_STREAMS_USE_UTC:
        return now.replace(tzinfo=None)
    return dj_timezone.make_naive(now, dj_timezone.get_default_timezone())


def _to_utc(value: datetime) -> datetime:
    """Return ``created_at`` as an aware UTC datetime.

    A naive value is UTC with ``USER_STREAMS_USE_UTC`` (and no ``USE_TZ``),
    otherwise local time in ``TIME_ZONE``.
    """
    if dj_timezone.is_aware(value):
        return value.astimezone(timezone.utc)
    if not settings.USE_TZ and stream_settings.USER_STREAMS_USE_UTC:
        return value.replace(tzinfo=timezone.utc)
    return dj_timezone.make_aware(value, dj_timezone.get_default_timezone()).astimezone(timezone.utc)


def _stored_time(created_at: datetime) -> datetime:
    """Return ``created_at`` as stored: aware UTC, to the millisecond."""
    try:
        time = ids.to_utc_ms(_to_utc(created_at))
    except OverflowError:
        time = None
    if time is None or not EARLIEST <= time < LATEST:
        raise InputException(
            f"created_at {created_at!r} is out of range: items can be dated from "
            f"{EARLIEST:%Y-%m-%d} to {LATEST:%Y-%m-%d} (UTC)"
        )
    return time


def _from_utc(value: datetime) -> datetime:
    """Return a stored (aware UTC) time as django-user-streams returns it."""
    if settings.USE_TZ:
        return value
    if stream_settings.USER_STREAMS_USE_UTC:
        return value.replace(tzinfo=None)
    return dj_timezone.make_naive(value, dj_timezone.get_default_timezone())


# -- content ---------------------------------------------------------------


def _check_content(content: Any) -> str:
    if not isinstance(content, str):
        raise TypeError(f"content must be a string, got {type(content).__name__}")
    try:
        content.encode("utf-8")
    except UnicodeEncodeError as e:
        raise InputException(
            f"content is not valid Unicode text: {content[e.start : e.end]!r} at position {e.start} is a lone surrogate"
        ) from None
    return str(content)  # a plain str, even for SafeString and other subclasses


def _prepare(content: str, time: datetime) -> PreparedActivity:
    item_id = uuid.uuid4().hex
    data = {
        "actor": ACTOR,
        "verb": VERB,
        "object": item_id,
        "foreign_id": f"{ACTOR}:{item_id}",
        "time": time,
        "content": content,
    }
    size = len(serializer.dumps(data).encode("utf-8"))
    if size > MAX_JSON_BYTES:
        raise InputException(
            f"content is too long: {len(content.encode('utf-8'))} bytes of UTF-8 make "
            f"an item of {size} bytes as JSON; the maximum is {MAX_JSON_BYTES}"
        )
    return prepare_activity(data)


# -- the API ---------------------------------------------------------------


def add_stream_item(user_or_users: Any, content: str, created_at: datetime | None = None) -> None:
    """Add ``content`` to the stream of one user, a list of users or a queryset.

    ``created_at`` defaults to now; a naive value is read as the settings say
    (see docs/user-streams.md) and kept to the millisecond. Each call makes a
    new item, even for the same content and time. A queryset is read in
    chunks of ``STREAM_FANOUT_CHUNK_SIZE`` ids, each written as one stored
    item and a set-based insert of one entry per user.

    Raise ``TypeError`` or ``ValueError`` naming the bad argument, before
    anything is stored.
    """
    content = _check_content(content)
    if created_at is not None and not isinstance(created_at, datetime):
        raise TypeError(f"created_at must be a datetime, got {created_at!r}")
    users = _check_users(user_or_users)
    delegate = _delegate()
    if delegate is not None:
        delegate.add_stream_item(users, content, created_at if created_at is not None else _local_now())
        return
    time = _stored_time(created_at) if created_at is not None else ids.to_utc_ms(datetime.now(timezone.utc))
    activity = _prepare(content, time)
    backend, slug = _storage(), _slug()
    plan = plan_write([activity])
    for chunk in _pk_chunks(users, stream_settings.FANOUT_CHUNK_SIZE):
        backend.add_to_many(plan, [feed_id(slug, pk) for pk in chunk])


def get_stream_items(user: Any) -> Any:
    """Return the items of ``user``'s stream, newest first.

    The result is lazy: ``len()`` and each slice or index cost one read of
    the backend (one query on the database), so it can be handed to Django's
    ``Paginator``.
    """
    pk = _user_pk(user, "user")
    delegate = _delegate()
    if delegate is not None:
        return delegate.get_stream_items(user)
    return StreamItems(_storage(), feed_id(_slug(), pk))


class StreamItems:
    """A user's items, newest first, read lazily.

    Indexing and slicing follow Django querysets: each reads one page (a
    slice gives a list); negative indexes raise ``ValueError``; a step is
    applied to the page read. ``len()`` (and ``count()``) is one query,
    remembered by this object. Iterating reads pages of ``ITER_PAGE_SIZE``.
    """

    #: Tells ``Paginator`` the items have a fixed order.
    ordered = True

    def __init__(self, backend: BaseStorageBackend, feed: str) -> None:
        self.backend = backend
        self.feed = feed
        self._length: int | None = None

    def __repr__(self) -> str:
        return f"<StreamItems {self.feed}>"

    def _read(self, page: Page) -> list[Entry]:
        # Past MAX_OFFSET is past the end of any stream, and no stream holds
        # UNBOUNDED items: bounds beyond them would overflow a store's integers.
        if page.limit <= 0 or page.offset > MAX_OFFSET:
            return []
        return self.backend.read_feed(self.feed, replace(page, limit=min(page.limit, UNBOUNDED)))

    @staticmethod
    def _item(entry: Entry) -> StreamItem:
        # Plain json: the content must not be decoded as a datetime even when
        # it looks like one; the time is the one the entry is sorted by.
        data = json.loads(entry.json)
        return StreamItem(content=data.get("content", ""), created_at=_from_utc(ids.key_time(entry.key)))

    def __len__(self) -> int:
        if self._length is None:
            self._length = self.backend.feed_length(self.feed)
        return self._length

    def count(self) -> int:
        """Return the number of items (what ``Paginator`` asks for)."""
        return len(self)

    def __bool__(self) -> bool:
        if self._length is not None:
            return self._length > 0
        return bool(self._read(Page(limit=1)))

    def __getitem__(self, index: int | slice) -> Any:
        if not isinstance(index, (int, slice)):
            raise TypeError(f"stream item indices must be integers or slices, not {type(index).__name__}.")
        if isinstance(index, int):
            if index < 0:
                raise ValueError("Negative indexing is not supported.")
            found = self._read(Page(limit=1, offset=index))
            if not found:
                raise IndexError("stream item index out of range")
            return self._item(found[0])
        start = 0 if index.start is None else operator.index(index.start)
        stop = None if index.stop is None else operator.index(index.stop)
        if start < 0 or (stop is not None and stop < 0):
            raise ValueError("Negative indexing is not supported.")
        limit = UNBOUNDED if stop is None else stop - start
        items = [self._item(e) for e in self._read(Page(limit=limit, offset=start))]
        return items[:: index.step] if index.step else items

    def __iter__(self) -> Iterator[StreamItem]:
        cursor = None
        while True:
            entries = self._read(Page(limit=ITER_PAGE_SIZE, lt=cursor))
            for entry in entries:
                yield self._item(entry)
            if len(entries) < ITER_PAGE_SIZE:
                return
            cursor = entries[-1].key
