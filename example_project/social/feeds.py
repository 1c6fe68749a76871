"""
Reading feeds for the pages: one page of a feed, enriched, with its cursor.

Pages are read newest first; the "older" link of a page carries the id of
its last activity (or group), and the next page is read with ``id_lt``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count

from example_project.social.models import Like, Post
from stream_django.enrich import Enrich

PAGE_SIZE = 20


class SiteEnrich(Enrich):
    """``Enrich`` that loads posts with their author and like count."""

    def fetch_post_instances(self, pks: Any) -> dict[Any, Post]:
        """Return ``{pk: post}``, each with ``user`` and ``like_count``."""
        posts = Post.objects.select_related("user").annotate(like_count=Count("likes"))
        return posts.in_bulk(list(pks))


@dataclass
class FeedPage:
    """One page of a feed, ready for a template."""

    activities: list[Any]
    #: The ``id_lt`` cursor of the next (older) page; empty on the last page.
    older: str = ""
    #: Ids of the posts on the page that the reader likes.
    liked_post_ids: set[int] = field(default_factory=set)
    #: Notification feeds only: counts from before this read marked anything.
    unseen: int = 0
    unread: int = 0


def read_feed(
    feed: Any,
    reader: Any,
    *,
    aggregated: bool = False,
    id_lt: str | None = None,
    limit: int = PAGE_SIZE,
    **params: Any,
) -> FeedPage:
    """Read and enrich one page of ``feed``.

    ``aggregated`` says whether the feed returns groups (aggregated and
    notification feeds). ``params`` go to ``feed.get()`` (``mark_seen`` on
    notification feeds). Raises ``stream_django.exceptions.InputException``
    for a malformed cursor.
    """
    if id_lt:
        params["id_lt"] = id_lt
    response = feed.get(limit=limit, **params)
    results = response["results"]
    enrich = SiteEnrich()
    if aggregated:
        activities: list[Any] = enrich.enrich_aggregated_activities(results)
        members = [a for group in activities for a in group["activities"]]
    else:
        activities = enrich.enrich_activities(results)
        members = activities
    return FeedPage(
        activities=activities,
        older=results[-1]["id"] if response.get("next") and results else "",
        liked_post_ids=liked_post_ids(reader, members),
        unseen=response.get("unseen", 0),
        unread=response.get("unread", 0),
    )


def liked_post_ids(reader: Any, activities: list[Any]) -> set[int]:
    """Return the ids of the posts among ``activities`` that ``reader`` likes."""
    posts = {a["object"].pk for a in activities if isinstance(a.get("object"), Post)}
    if not posts or not reader.is_authenticated:
        return set()
    return set(Like.objects.filter(user=reader, post_id__in=posts).values_list("post_id", flat=True))
