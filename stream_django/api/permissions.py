"""
Who may read, follow from and mark which feed (``STREAM_API_PERMISSION_CLASS``).

The views check the permission on a ``FeedRef`` before they read or write
anything, so a refusal says nothing about the feed's content. A site's
policy subclasses ``FeedPermission`` and overrides ``can_read``,
``can_follow`` or ``can_mark``, or is any DRF permission class whose
``has_object_permission(request, view, feed)`` reads ``view.feed_action``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from stream_django.conf import stream_settings
from stream_django.engine.feeds import FeedGroup

READ, FOLLOW, MARK = "read", "follow", "mark"


@dataclass(frozen=True)
class FeedRef:
    """The feed a request is about: ``slug``, ``user_id`` and its group."""

    slug: str
    user_id: str
    group: FeedGroup

    @property
    def id(self) -> str:
        return f"{self.slug}:{self.user_id}"


class FeedPermission(BasePermission):
    """The default policy, safe by default.

    A signed-in user reads every feed of their own and any user feed
    (``STREAM_USER_FEED``) of anyone; follows and unfollows only from their
    own feeds; marks only their own feeds (only notification feeds have
    seen and read: the view answers 400 for another type). Staff may also read
    every feed. Anonymous users are refused (401 or 403, as the site's
    authentication classes say).
    """

    message = "You may not do this on this feed."

    def has_permission(self, request: Request, view: Any) -> bool:
        return bool(request.user and request.user.is_authenticated)

    def has_object_permission(self, request: Request, view: Any, obj: Any) -> bool:
        action = getattr(view, "feed_action", READ)
        check = {READ: self.can_read, FOLLOW: self.can_follow, MARK: self.can_mark}[action]
        return check(request.user, obj)

    def owns(self, user: Any, feed: FeedRef) -> bool:
        """Whether ``feed`` is one of ``user``'s feeds (its user id is the user's pk)."""
        return bool(user.is_authenticated) and feed.user_id == str(user.pk)

    def can_read(self, user: Any, feed: FeedRef) -> bool:
        return self.owns(user, feed) or feed.slug == stream_settings.USER_FEED or bool(user.is_staff)

    def can_follow(self, user: Any, feed: FeedRef) -> bool:
        return self.owns(user, feed)

    def can_mark(self, user: Any, feed: FeedRef) -> bool:
        return self.owns(user, feed)
