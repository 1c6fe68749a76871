"""
The shape of ``stream_client`` and its feeds, whatever the backend.

Both this package's ``Client`` and stream-python's ``stream.Client`` (the
getstream backend) have these methods with these arguments, so code typed
against ``StreamClient`` runs on every backend.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol


class StreamFeed(Protocol):
    """One feed: ``stream_client.feed(slug, user_id)``."""

    slug: str
    user_id: str
    id: str

    def add_activity(self, activity_data: dict[str, Any]) -> dict[str, Any]: ...

    def add_activities(self, activity_list: Sequence[dict[str, Any]]) -> Any: ...

    def remove_activity(self, activity_id: str | None = None, foreign_id: str | None = None) -> Any: ...

    def get(self, enrich: bool = False, reactions: dict[str, Any] | None = None, **params: Any) -> Any: ...

    def follow(
        self, target_feed_slug: Any, target_user_id: Any, activity_copy_limit: int | None = None, **extra_data: Any
    ) -> Any: ...

    def unfollow(self, target_feed_slug: Any, target_user_id: Any, keep_history: bool = False) -> Any: ...

    def followers(self, offset: int = 0, limit: int = 25, feeds: Sequence[str] | None = None) -> Any: ...

    def following(self, offset: int = 0, limit: int = 25, feeds: Sequence[str] | None = None) -> Any: ...

    def update_activity_to_targets(
        self,
        foreign_id: str,
        time: Any,
        new_targets: Sequence[str] | None = None,
        added_targets: Sequence[str] | None = None,
        removed_targets: Sequence[str] | None = None,
    ) -> Any: ...


class StreamClient(Protocol):
    """What ``stream_django.client.stream_client`` stands for."""

    def feed(self, feed_slug: Any, user_id: Any) -> StreamFeed: ...

    def follow_many(self, follows: Sequence[dict[str, Any]], activity_copy_limit: int | None = None) -> Any: ...

    def unfollow_many(self, unfollows: Sequence[dict[str, Any]]) -> Any: ...

    def add_to_many(self, activity: dict[str, Any], feeds: Sequence[str]) -> Any: ...

    def get_activities(
        self,
        ids: Sequence[str] | None = None,
        foreign_id_times: Sequence[Any] | None = None,
        enrich: bool = False,
        reactions: dict[str, Any] | None = None,
        **params: Any,
    ) -> Any: ...

    def update_activities(self, activities: Sequence[dict[str, Any]]) -> Any: ...

    def update_activity(self, activity: dict[str, Any]) -> Any: ...

    def activity_partial_update(
        self,
        id: str | None = None,
        foreign_id: str | None = None,
        time: Any = None,
        set: dict[str, Any] | None = None,
        unset: Sequence[str] | None = None,
    ) -> Any: ...

    def activities_partial_update(self, updates: Sequence[dict[str, Any]] | None = None) -> Any: ...

    def follow_stats(
        self,
        feed_id: str,
        followers_slugs: Sequence[str] | None = None,
        following_slugs: Sequence[str] | None = None,
    ) -> Any: ...
