"""
Write plans: what the engine decides before a backend stores anything.

A backend never reads the feed-group configuration during a write. The
engine resolves it once per operation into a ``FeedLayout`` (every feed
group: its type, trim bound, group size and aggregation format) and, for
activities it writes, a ``WritePlan`` that also holds the aggregation group
of each activity in each aggregated feed group, computed once. The backend
executes the plan: which feeds are flat, where an activity's entry goes in
an aggregated feed, how far to trim.

Activities a store reads back itself (the newest ones of a feed copied on
follow, the bodies of a fan-out chunk) are grouped through the layout's
``FeedGroup.group_key``, the same function the plan used.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from stream_django.engine.activities import PreparedActivity
from stream_django.engine.feeds import FeedGroup, feed_groups, get_group, slug_of
from stream_django.exceptions import FeedConfigException


@dataclass(frozen=True)
class FeedLayout:
    """The feed groups of the site, resolved for one operation."""

    groups: Mapping[str, FeedGroup]

    @classmethod
    def current(cls) -> FeedLayout:
        """Return the layout of the configured feed groups (``STREAM_FEEDS``)."""
        return cls(MappingProxyType(dict(feed_groups())))

    def of(self, feed: str) -> FeedGroup:
        """Return the group of ``feed`` (``"slug:user_id"`` or a slug)."""
        group = self.groups.get(slug_of(feed))
        if group is None:
            get_group(slug_of(feed))  # raises the error that names the configured groups
            raise FeedConfigException(f"feed group of {feed!r} does not exist")  # pragma: no cover
        return group

    def get(self, feed: str) -> FeedGroup | None:
        """Return the group of ``feed``, or ``None`` for an unknown slug."""
        return self.groups.get(slug_of(feed))

    def is_flat(self, feed: str) -> bool:
        return self.of(feed).is_flat

    @property
    def flat_slugs(self) -> list[str]:
        return [slug for slug, group in self.groups.items() if group.is_flat]

    @property
    def grouped_slugs(self) -> list[str]:
        """The slugs of the aggregated and notification feed groups."""
        return [slug for slug, group in self.groups.items() if group.is_aggregated]

    def flat(self, feeds: Iterable[str]) -> list[str]:
        """Return the flat feeds among ``feeds``, once each, in order."""
        return [f for f in dict.fromkeys(feeds) if self.of(f).is_flat]

    def __iter__(self) -> Iterator[tuple[str, FeedGroup]]:
        return iter(self.groups.items())


@dataclass(frozen=True)
class WritePlan:
    """Activities to write, with the layout and their aggregation groups.

    ``names[(slug, key)]`` is the group of the activity ``key`` in the
    aggregated feed group ``slug``, for every aggregated group of the layout.
    """

    layout: FeedLayout
    activities: tuple[PreparedActivity, ...]
    names: Mapping[tuple[str, str], str] = field(default_factory=dict)

    def group_name(self, group: FeedGroup | str, activity: PreparedActivity | str) -> str:
        """Return the aggregation group of ``activity`` in feed group ``group``."""
        slug = group if isinstance(group, str) else group.slug
        key = activity if isinstance(activity, str) else activity.key
        return self.names[(slug, key)]

    @property
    def keys(self) -> list[str]:
        return [a.key for a in self.activities]

    def direct_feeds(self, feed: str, activity: PreparedActivity) -> list[str]:
        """The feeds ``activity`` is written into directly when added to ``feed``:
        ``feed`` and its ``to`` targets (origin ``None``)."""
        return [feed, *[t for t in activity.to if t != feed]]


def plan_write(activities: Sequence[PreparedActivity], layout: FeedLayout | None = None) -> WritePlan:
    """Return the plan to write ``activities``: each one grouped, once, in
    every aggregated feed group of ``layout`` (default: the configured one)."""
    layout = FeedLayout.current() if layout is None else layout
    names: dict[tuple[str, str], str] = {}
    grouped = [group for _, group in layout if group.is_aggregated]
    if grouped:
        for activity in activities:
            decoded: dict[str, Any] = activity.decoded()
            for group in grouped:
                names[(group.slug, activity.key)] = group.group_key(decoded)
    return WritePlan(layout=layout, activities=tuple(activities), names=MappingProxyType(names))
