"""Rebuilding a feed from what it follows; trimming every feed to its
``max_length`` and every group to its ``activities_per_group``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from stream_django.backends.base import Page
from stream_django.conf import stream_settings
from stream_django.engine.feeds import parse_feed_id
from stream_django.engine.plan import FeedLayout
from stream_django.maintenance.base import Progress, noop, storage_backend

#: Follows copied per call; feeds trimmed per call.
BATCH = 100


@dataclass
class RebuildReport:
    """A rebuild: the feeds followed, the copy bound, the length before and after."""

    feed: str
    followed: list[str]
    copy_limit: int
    length_before: int
    length_after: int | None = None


def _length(backend: Any, feed: str, layout: FeedLayout) -> int:
    group = layout.of(feed)
    if group.is_flat:
        return int(backend.feed_length(feed))
    return len(backend.read_groups(feed, group, Page(limit=group.max_length or 1000)).groups)


def rebuild_feed(
    feed: str, *, copy_limit: int | None = None, dry_run: bool = False, progress: Progress = noop
) -> RebuildReport:
    """Copy into ``feed`` the newest ``copy_limit`` activities (default
    ``STREAM_ACTIVITY_COPY_LIMIT``) of every feed it follows, as following
    them again would, then trim it. Adds what is missing and never
    duplicates; an aggregated feed regroups what it receives. For a returning
    user, or after repairing data."""
    feed = parse_feed_id(feed, what="feed")
    backend = storage_backend("supports_fanout_chunks")
    layout = FeedLayout.current()
    layout.of(feed)  # an unknown feed group is an error naming the configured ones
    limit = stream_settings.ACTIVITY_COPY_LIMIT if copy_limit is None else copy_limit
    if limit < 1:
        raise ValueError(f"copy_limit must be a positive number of activities, got {limit}")
    followed: list[str] = []
    while page := backend.following(feed, len(followed), 1000, None):
        followed += [f.target for f in page]
    report = RebuildReport(feed, followed, limit, _length(backend, feed, layout))
    if dry_run:
        return report
    for start in range(0, len(followed), BATCH):
        pairs = [(feed, target) for target in followed[start : start + BATCH]]
        backend.copy_chunk(pairs, limit, layout)
        progress(start + len(pairs), len(followed))
    if backend.supports_trim:
        backend.trim_feeds([feed], layout)
    report.length_after = _length(backend, feed, layout)
    return report


@dataclass
class TrimReport:
    """A trim: the feeds read, those over their ``max_length`` or holding a
    group over its ``activities_per_group``, the entries removed (on a dry
    run: that would be) and the activity data left without a feed and
    deleted."""

    feeds: int = 0
    trimmed: int = 0
    entries: int = 0
    orphans: int = 0


def trim_feeds(*, dry_run: bool = False, batch: int = BATCH, progress: Progress = noop) -> TrimReport:
    """Cut every feed to its feed group's ``max_length`` (entries of a flat
    feed, groups of an aggregated one) and every group of an aggregated feed
    to its newest ``activities_per_group`` activities (the groups' counts
    keep counting what was cut), ``batch`` feeds at a time, each backend call
    bounded. Writes trim and cut as they go; this applies a smaller
    ``max_length`` or ``activities_per_group``, or the cap itself to data
    stored before it existed, at once."""
    if batch < 1:
        raise ValueError(f"batch must be a positive number of feeds, got {batch}")
    backend = storage_backend("supports_trim")
    layout = FeedLayout.current()
    report = TrimReport()
    for feeds in backend.iter_feeds(batch):
        report.feeds += len(feeds)
        counts = {f: backend.trim_feeds([f], layout, dry_run=True) for f in feeds if layout.get(f) is not None}
        over = [f for f, n in counts.items() if n]
        report.trimmed += len(over)
        if dry_run:
            report.entries += sum(counts.values())
        elif over:
            report.entries += backend.trim_feeds(over, layout)
        progress(report.feeds, None)
    if not dry_run and backend.supports_orphan_cleanup:
        report.orphans = backend.delete_orphaned_activities()
    return report
