"""Template context of every page: demo mode and the notification badge."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.http import HttpRequest

from stream_django.exceptions import StreamApiException
from stream_django.feed_manager import feed_manager

logger = logging.getLogger(__name__)


def notification_counts(user: Any) -> dict[str, int] | None:
    """Return ``{"unseen": n, "unread": m}`` for ``user``'s notification feed.

    ``None`` when the feed store cannot be read, so that the page still
    renders (without the badge).
    """
    try:
        response = feed_manager.get_notification_feed(user.id).get(limit=0)
    except StreamApiException:
        logger.exception("cannot read the notification counts of user %s", user.id)
        return None
    return {"unseen": response["unseen"], "unread": response["unread"]}


def site(request: HttpRequest) -> dict[str, Any]:
    """Add ``demo_mode`` and, for a signed-in user, ``notification_counts``."""
    context: dict[str, Any] = {"demo_mode": bool(getattr(settings, "DEMO_MODE", False))}
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        counts = getattr(request, "notification_counts", None)
        context["notification_counts"] = counts if counts is not None else notification_counts(user)
    return context
