"""
The storage interface every local backend implements.

The feeds API (``stream_django.feeds``) validates input and shapes
responses; a backend only stores and reads. The engine decides: every write
receives the ``FeedLayout`` of the operation (each feed group's type, trim
bound and aggregation format) or a ``WritePlan`` (the activities, with their
aggregation group in every aggregated feed group, computed once), and a
backend never looks a feed group up itself. Feeds are named by their
``"slug:user_id"`` string and activities by their storage key
(``stream_django.engine.ids.id_to_key``), which sorts in time order.

Semantics every backend keeps (``tests/contract`` states them as tests):

- each write is all or nothing;
- an activity is stored once (by key) and referenced by every feed entry,
  so an update shows everywhere it appears; re-adding a key replaces its data;
- adding to feed F writes F and the activity's ``to`` feeds (origin ``None``),
  then fans out one hop: every feed following F, or following a ``to`` feed,
  receives it with ``origin`` set to the feed it followed;
- aggregated and notification feeds keep their entries in groups: the
  plan's ``group_name`` for the activities it adds, the layout's
  ``FeedGroup.group_key`` for those a store reads back (copies, chunks).

A backend that sets ``supports_fanout_chunks`` also implements the methods
of the "chunked fan-out" section, so that the engine can write the direct
feeds in the request and leave the followers to task workers, in chunks
(``stream_django.fanout``; docs/scale-out.md).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.checks import CheckMessage

from stream_django.engine.activities import PreparedActivity
from stream_django.engine.feeds import FeedGroup
from stream_django.engine.plan import FeedLayout, WritePlan


@dataclass(frozen=True)
class Page:
    """Which part of a feed to read. Cursors are storage keys."""

    limit: int = 25
    offset: int = 0
    lt: str | None = None
    lte: str | None = None
    gt: str | None = None
    gte: str | None = None


@dataclass(frozen=True)
class Entry:
    """One activity of a flat feed, as stored."""

    key: str
    json: str
    origin: str | None


@dataclass(frozen=True)
class Group:
    """One group of an aggregated or notification feed, as stored."""

    name: str
    latest_key: str
    created_at: datetime
    updated_at: datetime
    activity_count: int
    actor_count: int
    activities: list[Entry]
    is_seen: bool = False
    is_read: bool = False


@dataclass(frozen=True)
class GroupPage:
    groups: list[Group]
    unseen: int = 0
    unread: int = 0


@dataclass(frozen=True)
class Follow:
    source: str
    target: str
    created_at: datetime
    updated_at: datetime


class BaseBackend(ABC):  # noqa: B024 - a base for the two kinds below, never used alone
    """Base class of every backend.

    ``options`` is the ``STREAM_BACKEND_OPTIONS`` setting; a backend should
    reject keys it does not know, naming them.
    """

    #: Human-readable name, used in error messages.
    name = "base"
    #: Whether the backend is a remote engine (getstream.io) rather than a
    #: store driven by ``stream_django.engine``.
    is_remote = False

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        self.options = dict(options or {})

    # -- life cycle ------------------------------------------------------

    def check(self, **kwargs: Any) -> list[CheckMessage]:
        """Return system-check messages (no network I/O)."""
        return []

    def close(self) -> None:  # noqa: B027 - an optional hook
        """Release connections; the backend may be used again afterwards."""

    @property
    def address(self) -> str:
        """Where the data lives, for error messages."""
        return self.name


class BaseRemoteBackend(BaseBackend):
    """Base class of a backend whose engine is a remote service (getstream.io).

    ``stream_client`` stands for the service's own client, ``client``.
    """

    is_remote = True

    @property
    @abstractmethod
    def client(self) -> Any:
        """Return the object ``stream_client`` stands for."""


class BaseStorageBackend(BaseBackend):
    """Base class of the local feed stores driven by ``stream_django.engine``.

    Subclasses implement the storage primitives below; the feeds API
    (``stream_django.feeds``) validates input and shapes responses around them.
    """

    # -- writes ----------------------------------------------------------

    @abstractmethod
    def add_activities(self, feed: str, plan: WritePlan) -> None:
        """Store the plan's activities in ``feed`` and their ``to`` feeds, and fan out."""

    @abstractmethod
    def add_to_many(self, plan: WritePlan, feeds: Sequence[str]) -> None:
        """Store the plan's activity directly in each of ``feeds``, without fan-out."""

    @abstractmethod
    def remove_activities(self, feed: str, keys: Sequence[str], layout: FeedLayout) -> None:
        """Remove activities from ``feed``.

        Where ``feed`` holds an activity directly (origin ``None``), remove it
        also from its ``to`` feeds and from every feed that received it by
        fan-out from ``feed`` or a ``to`` feed. Unknown keys are ignored.
        """

    @abstractmethod
    def keys_for_foreign_id(self, feed: str, foreign_id: str, layout: FeedLayout) -> list[str]:
        """Return the keys of the activities of ``feed`` with ``foreign_id``."""

    @abstractmethod
    def follow_many(self, pairs: Sequence[tuple[str, str]], copy_limit: int, layout: FeedLayout) -> None:
        """Make each source feed follow its target feed (idempotent), copying
        the target's newest ``copy_limit`` activities into the source."""

    @abstractmethod
    def unfollow_many(self, items: Sequence[tuple[str, str, bool]], layout: FeedLayout) -> None:
        """Remove follows ``(source, target, keep_history)``; without
        ``keep_history`` purge from the source every entry whose origin is
        the target."""

    @abstractmethod
    def replace_activities(self, activities: Sequence[PreparedActivity]) -> list[str]:
        """Replace the stored data of existing activities (same key).

        Return the keys that existed; the others are not stored.
        """

    @abstractmethod
    def change_targets(self, plan: WritePlan, added: Sequence[str], removed: Sequence[str]) -> None:
        """Replace the activity's data (its new ``to``), write it into the
        ``added`` feeds with fan-out, and remove it from the ``removed`` feeds
        and the feeds that received it through them."""

    # -- chunked fan-out ---------------------------------------------------
    #
    # Used only when ``supports_fanout_chunks`` is true and a task backend is
    # configured. The ``*_direct`` methods and ``count_followers`` run in the
    # request; the ``*_chunk`` methods and ``follower_boundaries`` run in task
    # workers, in any order, possibly twice, possibly after the operation
    # that undoes them. Each chunk therefore makes its slice agree with the
    # current state of the feed it comes from, and is idempotent:
    #
    # - ``fan_out_chunk`` writes an activity only while its source feed still
    #   holds it; ``remove_chunk`` deletes only while the source no longer does;
    # - ``copy_chunk`` copies only while the follow exists; ``purge_chunk``
    #   purges only while it does not;
    # - writing an entry a feed already holds changes nothing (no duplicate,
    #   no second count in an aggregated group).
    #
    # Follower feeds are ordered by their feed id (``"slug:user_id"`` compared
    # as the store compares strings); a chunk covers the followers whose id
    # lies in ``(after, upto]``, ``None`` meaning unbounded, so followers that
    # come and go meanwhile never shift another chunk's range.

    supports_fanout_chunks = False
    """Does the backend implement the chunked fan-out methods?"""

    def _chunking(self, method: str) -> NotImplementedError:
        return NotImplementedError(
            f"{type(self).__name__} does not support chunked fan-out "
            f"(supports_fanout_chunks is false): {method}() is not implemented"
        )

    def add_direct(self, feed: str, plan: WritePlan) -> None:
        """Store ``activities`` in ``feed`` and their ``to`` feeds (origin
        ``None``), as ``add_activities`` does, without fanning out."""
        raise self._chunking("add_direct")

    def remove_direct(self, feed: str, keys: Sequence[str], layout: FeedLayout) -> dict[str, list[str]]:
        """Remove activities from ``feed`` and, where ``feed`` holds one
        directly, from its ``to`` feeds; leave the followers alone.

        Return ``{source feed: [keys]}``: the feeds whose followers may still
        hold those keys (``remove_chunk`` cleans them). Unknown keys are
        ignored.
        """
        raise self._chunking("remove_direct")

    def change_targets_direct(self, plan: WritePlan, added: Sequence[str], removed: Sequence[str]) -> None:
        """Do what ``change_targets`` does, except for the followers of the
        ``added`` and ``removed`` feeds."""
        raise self._chunking("change_targets_direct")

    def count_followers(self, feeds: Sequence[str], at_most: int) -> int:
        """Return how many follows target one of ``feeds``, counting no
        further than ``at_most`` (the cost must not grow past it)."""
        raise self._chunking("count_followers")

    def follower_boundaries(self, feed: str, size: int) -> list[str]:
        """Return the ids of ``feed``'s followers at positions ``size``,
        ``2 * size``, ... in id order, stopping before the last follower.

        ``n`` boundaries cut the followers into ``n + 1`` chunks of at most
        ``size`` feeds: ``(None, b1]``, ``(b1, b2]``, ..., ``(bn, None)``.
        """
        raise self._chunking("follower_boundaries")

    def fan_out_chunk(
        self, source: str, keys: Sequence[str], after: str | None, upto: str | None, layout: FeedLayout
    ) -> None:
        """Write the activities ``keys`` into the followers of ``source``
        whose id is in ``(after, upto]``, with origin ``source``, but only the
        activities ``source`` still holds. Idempotent."""
        raise self._chunking("fan_out_chunk")

    def remove_chunk(self, source: str, keys: Sequence[str], limit: int, layout: FeedLayout) -> int:
        """Delete the activities ``keys`` that ``source`` no longer holds from
        at most ``limit`` feeds that received them from ``source``.

        Return how many feed entries were deleted: fewer than ``limit`` means
        none is left, and the activities' data, if no feed holds them any
        more, is deleted too. Idempotent.
        """
        raise self._chunking("remove_chunk")

    removes_by_range = False
    """Are removals cut into follower ranges, like additions (``remove_range_chunk``),
    rather than into runs of ``remove_chunk``?"""

    def remove_range_chunk(
        self, source: str, keys: Sequence[str], after: str | None, upto: str | None, layout: FeedLayout
    ) -> None:
        """Delete the activities ``keys`` that ``source`` no longer holds from
        the feeds that received them from ``source`` (followers, and feeds
        that unfollowed it keeping their history) whose id is in ``(after,
        upto]``; ``follower_boundaries`` cuts those feeds into ranges. The
        activities' data goes when no feed holds them any more. Idempotent.
        """
        raise self._chunking("remove_range_chunk")

    def copy_chunk(self, pairs: Sequence[tuple[str, str]], copy_limit: int, layout: FeedLayout) -> None:
        """For each ``(source, target)`` follow that exists, copy the target's
        newest ``copy_limit`` activities into the source, as ``follow_many``
        does. Idempotent."""
        raise self._chunking("copy_chunk")

    def purge_chunk(self, pairs: Sequence[tuple[str, str]], layout: FeedLayout, copy_limit: int) -> None:
        """For each ``(source, target)`` pair that is not a follow, remove from
        the source every entry whose origin is the target, as
        ``unfollow_many`` does. A follow made again meanwhile gets its newest
        ``copy_limit`` activities back. Idempotent."""
        raise self._chunking("purge_chunk")

    # -- maintenance -------------------------------------------------------
    #
    # Optional, declared by a flag; ``unsupported()`` names what is missing.

    supports_orphan_cleanup = False
    """Can the backend delete activity data no feed holds (``delete_orphaned_activities``)?"""

    supports_holder_rebuild = False
    """Can the backend rebuild the sets of feeds that hold a feed's entries (``rebuild_holders``)?"""

    def unsupported(self, capability: str, method: str) -> NotImplementedError:
        """Return the error for a call of ``method`` that ``capability`` would allow."""
        return NotImplementedError(
            f"{type(self).__name__} does not support {capability} ({method}() is not implemented)"
        )

    supports_activity_scan = False
    """Can it list every stored activity and the feeds holding one
    (``iter_activities``, ``keys_of_foreign_id``, ``locate_activities``)?"""

    supports_feed_erasure = False
    """Can it delete everything it stores about feeds (``erase_feeds``)?"""

    supports_trim = False
    """Can it list its feeds and cut them to ``max_length`` and their groups to
    ``activities_per_group`` now (``iter_feeds``, ``trim_feeds``)?"""

    def iter_activities(self, batch: int) -> Iterator[list[tuple[str, str]]]:
        """Yield every stored ``(key, json)``, ``batch`` at a time, in any order."""
        raise self.unsupported("activity scan", "iter_activities")

    def keys_of_foreign_id(self, foreign_id: str) -> list[str]:
        """Return the keys of every stored activity with ``foreign_id``."""
        raise self.unsupported("activity scan", "keys_of_foreign_id")

    def locate_activities(self, keys: Sequence[str], layout: FeedLayout) -> dict[str, list[tuple[str, str | None]]]:
        """Return ``{key: [(feed, origin), ...]}``, every entry of each key, by
        feed id. May read the whole store: for operators, not requests."""
        raise self.unsupported("activity scan", "locate_activities")

    def erase_feeds(self, feeds: Sequence[str], layout: FeedLayout) -> int:
        """Delete everything stored about ``feeds`` (entries, groups, seen/read
        state, follows both ways, the entries other feeds received from them,
        kept history included, and their names in other feeds' follow
        bookkeeping) and the activity data left without a feed; return how
        many entries went. Idempotent. Callers unfollow through
        ``unfollow_many`` first, so the other side's counts stay right."""
        raise self.unsupported("feed erasure", "erase_feeds")

    def iter_feeds(self, batch: int) -> Iterator[list[str]]:
        """Yield the ids of the feeds that hold entries, ``batch`` at a time."""
        raise self.unsupported("trimming", "iter_feeds")

    def trim_feeds(self, feeds: Sequence[str], layout: FeedLayout, *, dry_run: bool = False) -> int:
        """Cut ``feeds`` to their ``max_length`` (entries, or groups) and each
        kept group to its newest ``activities_per_group`` now (the groups'
        counts keep counting what was cut), in bounded steps; return how many
        entries went (``dry_run``: would go, nothing changed). Data left
        without a feed goes too, or is left to ``delete_orphaned_activities``
        where the backend has it."""
        raise self.unsupported("trimming", "trim_feeds")

    def delete_orphaned_activities(self) -> int:
        """Delete the stored activities no feed holds; return how many."""
        raise self.unsupported("orphan cleanup", "delete_orphaned_activities")

    def rebuild_holders(self) -> int:
        """Rebuild, from the follows, which feeds hold each feed's entries;
        return how many followed feeds were rebuilt."""
        raise self.unsupported("holder rebuild", "rebuild_holders")

    # -- async -----------------------------------------------------------
    #
    # The async API (``stream_django.feeds.aio``) awaits the primitives of
    # the writes and reads sections through ``acall``. By default the sync
    # method runs in a worker thread through asgiref's ``sync_to_async``
    # with ``thread_sensitive=True``: the one thread Django runs ORM calls
    # from async code in, so a transaction and its connection stay in one
    # thread. A backend with an async client overrides ``acall`` and sets
    # ``native_async`` (Redis, with ``redis.asyncio``).

    #: The primitives ``acall`` awaits.
    ASYNC_METHODS = frozenset(
        {
            "add_activities",
            "add_to_many",
            "remove_activities",
            "keys_for_foreign_id",
            "follow_many",
            "unfollow_many",
            "replace_activities",
            "change_targets",
            "read_feed",
            "read_groups",
            "feed_length",
            "get_activities",
            "followers",
            "following",
            "follow_counts",
        }
    )

    native_async = False
    """Does ``acall`` do its I/O on the event loop, without a thread?"""

    def async_method(self, method: str) -> Any:
        """Return the sync primitive ``method``, refusing a name that is not
        one of ``ASYNC_METHODS``."""
        if method not in self.ASYNC_METHODS:
            raise AttributeError(f"{type(self).__name__} has no awaitable storage method {method!r}")
        return getattr(self, method)

    async def acall(self, method: str, *args: Any) -> Any:
        """Await the storage primitive ``method`` (one of ``ASYNC_METHODS``) with ``args``."""
        from asgiref.sync import sync_to_async

        return await sync_to_async(self.async_method(method), thread_sensitive=True)(*args)

    async def aclose(self) -> None:
        """Release the connections the running event loop holds."""

    # -- reads -----------------------------------------------------------

    @abstractmethod
    def read_feed(self, feed: str, page: Page) -> list[Entry]:
        """Return a page of a flat feed, newest first."""

    @abstractmethod
    def read_groups(
        self,
        feed: str,
        group: FeedGroup,
        page: Page,
        mark_seen: bool | Sequence[str] = False,
        mark_read: bool | Sequence[str] = False,
    ) -> GroupPage:
        """Return a page of groups, most recently updated first.

        Page cursors are the latest key of a group. ``mark_seen`` /
        ``mark_read`` (``True`` or group names) change state after the page
        is read, so the change shows on the next read.
        """

    @abstractmethod
    def feed_length(self, feed: str) -> int:
        """Return how many activities a flat feed holds."""

    @abstractmethod
    def get_activities(self, keys: Sequence[str]) -> dict[str, str]:
        """Return ``{key: json}`` for the stored activities among ``keys``."""

    @abstractmethod
    def followers(self, feed: str, offset: int, limit: int, among: Sequence[str] | None) -> list[Follow]:
        """Return the follows whose target is ``feed``, newest first."""

    @abstractmethod
    def following(self, feed: str, offset: int, limit: int, among: Sequence[str] | None) -> list[Follow]:
        """Return the follows whose source is ``feed``, newest first."""

    @abstractmethod
    def follow_counts(
        self, feed: str, followers_slugs: Sequence[str] | None, following_slugs: Sequence[str] | None
    ) -> tuple[int, int]:
        """Return (followers, following) counts of ``feed``, optionally
        restricted to follower / followed feed groups."""
