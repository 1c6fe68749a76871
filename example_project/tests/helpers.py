"""Reading the site's HTML in tests."""

from __future__ import annotations

import html
import re
from typing import Any

from stream_django.feed_manager import feed_manager


def text(response: Any) -> str:
    """Return the visible text of a response, tags removed, spaces collapsed."""
    body = response.content.decode()
    body = re.sub(r"<(script|style)\b.*?</\1>", "", body, flags=re.DOTALL)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", body)).split())


def verbs(response: Any) -> list[str]:
    """Return the ``data-verb`` of every rendered activity, in page order."""
    return re.findall(r'<article class="activity[^"]*" data-verb="(\w+)"', response.content.decode())


def older_cursor(response: Any) -> str | None:
    """Return the ``id_lt`` of the page's "Older" link, if it has one."""
    match = re.search(r'href="\?id_lt=([^"]+)"', response.content.decode())
    return html.unescape(match.group(1)) if match else None


def badge(response: Any) -> str | None:
    """Return the notification badge's number, or ``None`` without a badge."""
    match = re.search(r'id="notification-badge"[^>]*>(\d+)<', response.content.decode())
    return match.group(1) if match else None


def notification_counts(user: Any) -> dict[str, int]:
    response = feed_manager.get_notification_feed(user.id).get(limit=0)
    return {"unseen": response["unseen"], "unread": response["unread"]}


def feed_objects(feed: Any) -> list[str]:
    """Return the ``object`` of each activity of a flat feed, newest first."""
    return [a["object"] for a in feed.get(limit=100)["results"]]
