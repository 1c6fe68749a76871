"""Aggregation format of the example site's aggregated timeline."""

from __future__ import annotations

from typing import Any


def timeline_group(activity: dict[str, Any]) -> str:
    """Return the timeline group of ``activity``, one group per day.

    Likes of one post share a group ("Ann and 3 others liked Bob's post");
    posts and follows are grouped by who made them ("Bob wrote 3 posts",
    "Ann followed Bob and 2 others").
    """
    day = activity["time"].strftime("%Y-%m-%d")
    if activity["verb"] == "like":
        return f"like_{activity['object']}_{day}"
    return f"{activity['verb']}_{activity['actor']}_{day}"
