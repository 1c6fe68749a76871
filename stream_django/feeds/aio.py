"""
The async feeds API: stream-python's async client (``stream.connect(...,
use_async=True)``) over any backend.

``AsyncClient`` and ``AsyncFeed`` have the methods of ``Client`` and ``Feed``
with the same arguments and return shapes, as coroutines. Each runs the very
step generator its sync twin runs (``stream_django.feeds.steps``): the
validation, the planning and the shaping of the response are one code; only
the carrying out of a step differs:

- a storage step is awaited through the backend's ``acall`` (natively on
  Redis, in Django's sync thread on the database);
- a fan-out write runs the very ``stream_django.fanout`` function the sync
  API calls, in Django's sync thread: what it does around the storage write
  (deciding to chunk, the ledger row and its transaction, anything that
  follows a write) is one code for both APIs, and is ORM work.

On the getstream backend, ``ThreadedClient`` runs stream-python's sync
client in worker threads (the hosted API is plain HTTP; no thread is held
by Django's ORM).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from asgiref.sync import sync_to_async

from stream_django import fanout
from stream_django.backends.base import BaseStorageBackend
from stream_django.engine.activities import PreparedActivity, prepare_activity
from stream_django.feeds.client import Client, partial_change
from stream_django.feeds.feed import Feed
from stream_django.feeds.steps import Step, Steps, Store

T = TypeVar("T")

#: The coroutine methods of an async feed and of an async client.
FEED_METHODS = frozenset(
    {
        "add_activity",
        "add_activities",
        "remove_activity",
        "get",
        "follow",
        "unfollow",
        "followers",
        "following",
        "update_activity_to_targets",
    }
)
CLIENT_METHODS = frozenset(
    {
        "follow_many",
        "unfollow_many",
        "add_to_many",
        "get_activities",
        "update_activities",
        "update_activity",
        "activity_partial_update",
        "activities_partial_update",
        "follow_stats",
    }
)


async def aexecute(backend: BaseStorageBackend, step: Step) -> Any:
    """Carry out one step with the async API."""
    if isinstance(step, Store):
        return await backend.acall(step.method, *step.args)
    write = getattr(fanout, step.operation)
    return await sync_to_async(write, thread_sensitive=True)(backend, *step.args)


async def arun(backend: BaseStorageBackend, steps: Steps[T]) -> T:
    """Drive ``steps`` to its end with the async API; return its result."""
    try:
        step = next(steps)
        while True:
            step = steps.send(await aexecute(backend, step))
    except StopIteration as done:
        return done.value


class AsyncFeed:
    """One feed, ``async_client.feed(slug, user_id)``: stream-python's ``AsyncFeed``."""

    def __init__(self, client: AsyncClient, feed: Feed) -> None:
        self.client = client
        self.backend = feed.backend
        self.sync = feed
        self.slug = feed.slug
        self.user_id = feed.user_id
        self.id = feed.id
        self.token = feed.token

    def __repr__(self) -> str:
        return f"<AsyncFeed {self.id}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AsyncFeed) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)

    async def add_activity(self, activity_data: dict[str, Any]) -> dict[str, Any]:
        """Add one activity; return it as stored, with ``id``."""
        return await self.add_prepared(prepare_activity(activity_data))

    async def add_prepared(self, activity: PreparedActivity) -> dict[str, Any]:
        """Add an activity already validated by ``prepare_activity``."""
        return await arun(self.backend, self.sync._add_prepared(activity))

    async def add_activities(self, activity_list: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
        """Add several activities, all or nothing; ``None`` for an empty list."""
        return await arun(self.backend, self.sync._add_activities(activity_list))

    async def remove_activity(self, activity_id: str | None = None, foreign_id: str | None = None) -> dict[str, Any]:
        """Remove by ``activity_id`` or ``foreign_id`` (here and everywhere it fanned out)."""
        return await arun(self.backend, self.sync._remove_activity(activity_id, foreign_id))

    async def follow(
        self, target_feed_slug: Any, target_user_id: Any, activity_copy_limit: int | None = None, **extra_data: Any
    ) -> dict[str, Any]:
        """Follow the flat feed ``target_feed_slug:target_user_id``."""
        return await arun(self.backend, self.sync._follow(target_feed_slug, target_user_id, activity_copy_limit))

    async def unfollow(self, target_feed_slug: Any, target_user_id: Any, keep_history: bool = False) -> dict[str, Any]:
        """Stop following; purge its activities here unless ``keep_history``."""
        return await arun(self.backend, self.sync._unfollow(target_feed_slug, target_user_id, keep_history))

    async def update_activity_to_targets(
        self,
        foreign_id: str,
        time: Any,
        new_targets: Sequence[str] | None = None,
        added_targets: Sequence[str] | None = None,
        removed_targets: Sequence[str] | None = None,
    ) -> dict[str, Any]:
        """Change the ``to`` targets of the activity ``(foreign_id, time)``."""
        steps = self.sync._update_activity_to_targets(foreign_id, time, new_targets, added_targets, removed_targets)
        return await arun(self.backend, steps)

    async def get(self, enrich: bool = False, reactions: dict[str, Any] | None = None, **params: Any) -> dict[str, Any]:
        """Read a page (the arguments of ``Feed.get``)."""
        return await arun(self.backend, self.sync._get(reactions, params))

    async def followers(self, offset: int = 0, limit: int = 25, feeds: Sequence[str] | None = None) -> dict[str, Any]:
        """Feeds following this one, newest first; ``feeds`` filters by follower."""
        return await arun(self.backend, self.sync._follows("followers", offset, limit, feeds))

    async def following(self, offset: int = 0, limit: int = 25, feeds: Sequence[str] | None = None) -> dict[str, Any]:
        """Feeds this one follows, newest first; ``feeds`` filters by target."""
        return await arun(self.backend, self.sync._follows("following", offset, limit, feeds))


class AsyncClient:
    """stream-python's ``AsyncStreamClient`` over a local backend (``async_stream_client``)."""

    api_key = None
    api_secret = None

    def __init__(self, client: Client) -> None:
        self.sync = client
        self.backend = client.backend

    @property
    def app_id(self) -> Any:
        return self.sync.app_id

    def __repr__(self) -> str:
        return f"<stream_django AsyncClient backend={self.backend.address}>"

    def feed(self, feed_slug: Any, user_id: Any) -> AsyncFeed:
        """Return the feed ``feed_slug:user_id`` (no I/O: not a coroutine)."""
        return AsyncFeed(self, self.sync.feed(feed_slug, user_id))

    async def follow_many(
        self, follows: Sequence[dict[str, Any]], activity_copy_limit: int | None = None
    ) -> dict[str, Any]:
        """Create many follows ``[{"source": "slug:id", "target": "slug:id"}]``."""
        return await arun(self.backend, self.sync._follow_many(follows, activity_copy_limit))

    async def unfollow_many(self, unfollows: Sequence[dict[str, Any]]) -> dict[str, Any]:
        """Remove many follows ``[{"source", "target", "keep_history"}]``."""
        return await arun(self.backend, self.sync._unfollow_many(unfollows))

    async def add_to_many(self, activity: dict[str, Any], feeds: Sequence[str]) -> dict[str, Any]:
        """Add one activity to many feeds directly, without fan-out."""
        return await arun(self.backend, self.sync._add_to_many(activity, feeds))

    async def get_activities(
        self,
        ids: Sequence[str] | None = None,
        foreign_id_times: Sequence[Any] | None = None,
        enrich: bool = False,
        reactions: dict[str, Any] | None = None,
        **params: Any,
    ) -> dict[str, Any]:
        """Return activities by ``ids`` or by ``(foreign_id, time)`` pairs."""
        return await arun(self.backend, self.sync._get_activities(ids, foreign_id_times))

    async def update_activities(self, activities: Sequence[dict[str, Any]]) -> dict[str, Any]:
        """Replace stored activities, identified by ``foreign_id`` and ``time``."""
        return await arun(self.backend, self.sync._update_activities(activities))

    async def update_activity(self, activity: dict[str, Any]) -> dict[str, Any]:
        return await self.update_activities([activity])

    async def update_prepared(self, prepared: PreparedActivity) -> dict[str, Any] | None:
        """Bring a stored activity to ``prepared`` (see ``Client.update_prepared``)."""
        return await arun(self.backend, self.sync._update_prepared(prepared))

    async def activity_partial_update(
        self,
        id: str | None = None,
        foreign_id: str | None = None,
        time: Any = None,
        set: dict[str, Any] | None = None,
        unset: Sequence[str] | None = None,
    ) -> dict[str, Any]:
        """Set and unset fields (dotted paths) of one activity."""
        return await self.activities_partial_update([partial_change(id, foreign_id, time, set, unset)])

    async def activities_partial_update(self, updates: Sequence[dict[str, Any]] | None = None) -> dict[str, Any]:
        """Apply several partial updates ``{"id"|("foreign_id","time"), "set", "unset"}``."""
        return await arun(self.backend, self.sync._activities_partial_update(updates))

    async def follow_stats(
        self, feed_id: str, followers_slugs: Sequence[str] | None = None, following_slugs: Sequence[str] | None = None
    ) -> dict[str, Any]:
        """Count the followers and followings of ``feed_id``."""
        return await arun(self.backend, self.sync._follow_stats(feed_id, followers_slugs, following_slugs))


class _Threaded:
    """Forwards attributes to a sync object; ``methods`` become coroutines
    that run it in a worker thread."""

    methods: frozenset[str] = frozenset()

    def __init__(self, target: Any) -> None:
        self.sync = target

    def __getattr__(self, name: str) -> Any:
        value = getattr(self.sync, name)
        if name in self.methods:
            return sync_to_async(value, thread_sensitive=False)
        return value

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.sync!r}>"


class ThreadedFeed(_Threaded):
    """A feed of stream-python's sync client, with awaitable methods."""

    methods = FEED_METHODS


class ThreadedClient(_Threaded):
    """stream-python's sync client (the getstream backend), with awaitable
    methods that run it in worker threads."""

    methods = CLIENT_METHODS

    def feed(self, feed_slug: Any, user_id: Any) -> ThreadedFeed:
        return ThreadedFeed(self.sync.feed(feed_slug, user_id))
