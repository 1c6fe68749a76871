"""
A user's data in the feeds: export and erasure (GDPR).

A user's activities are those whose ``actor`` is the user's reference
(``"auth.User:42"``, as model tracking writes it); a user's feeds are
``<slug>:<user id>`` of every configured feed group. Erasure removes each of
those activities from every feed it reached (the feed it was added to, its
``to`` feeds, every fanned-out copy, copies kept after an unfollow), deletes
the user's feeds and follows both ways, and the recorded failures that name
them. Each step is idempotent: running it again after an interruption
finishes the job.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model

from stream_django import events, fanout
from stream_django.activity import model_content_type
from stream_django.backends.base import BaseStorageBackend, Page
from stream_django.engine import ids, serializer
from stream_django.engine.activities import prepare_activity
from stream_django.engine.feeds import feed_id, validate_user_id
from stream_django.engine.plan import FeedLayout
from stream_django.maintenance.base import Progress, noop, storage_backend
from stream_django.models import FailedOperation

#: Activities read per batch of the store scan; follows per page.
BATCH = 500


def user_actor(user_id: Any) -> str:
    """The actor reference of the user ``user_id`` (``"auth.User:42"``)."""
    return f"{model_content_type(get_user_model())}:{validate_user_id(user_id)}"


def user_feeds(user_id: Any, layout: FeedLayout | None = None) -> list[str]:
    """The feeds of ``user_id``: one per configured feed group."""
    layout = FeedLayout.current() if layout is None else layout
    return [feed_id(slug, user_id) for slug, _ in layout]


def _activities_of(
    backend: BaseStorageBackend, actor: str, feeds: Sequence[str] = (), progress: Progress = noop
) -> tuple[list[tuple[str, str]], list[tuple[str, dict[str, Any]]]]:
    """``(key, json)`` of every stored activity whose actor is ``actor``, and
    ``(key, data)`` of the others whose ``to`` names one of ``feeds``;
    ``progress`` counts the activities read."""
    found, addressed = [], []
    names = set(feeds)
    scanned = 0
    for batch in backend.iter_activities(BATCH):
        scanned += len(batch)
        progress(scanned, None)
        for key, text in batch:
            data = serializer.loads(text)
            if data.get("actor") == actor:
                found.append((key, text))
            elif names & set(data.get("to", [])):
                addressed.append((key, data))
    return sorted(found), sorted(addressed, key=lambda item: item[0])


def _all_follows(backend: BaseStorageBackend, feed: str, *, followers: bool) -> list[str]:
    read = backend.followers if followers else backend.following
    found: list[str] = []
    while page := read(feed, len(found), BATCH, None):
        found += [f.source if followers else f.target for f in page]
    return found


def export_user(user_id: Any, *, actor: str | None = None, progress: Progress = noop) -> dict[str, Any]:
    """Return what the feeds hold about ``user_id``, ready for ``json.dumps``:
    their activities, the feeds they follow and those that follow them (per
    feed of theirs), and the state of their notification feeds. ``progress``
    counts the stored activities scanned."""
    backend = storage_backend("supports_activity_scan")
    layout = FeedLayout.current()
    actor = user_actor(user_id) if actor is None else actor
    feeds = user_feeds(user_id, layout)
    activities = [
        json.loads(serializer.dumps({**serializer.loads(text), "id": ids.key_to_id(key)}))
        for key, text in _activities_of(backend, actor, progress=progress)[0]
    ]
    notifications: dict[str, Any] = {}
    for feed in feeds:
        group = layout.of(feed)
        if not group.is_notification:
            continue
        groups: list[dict[str, Any]] = []
        page = backend.read_groups(feed, group, Page(limit=100))
        unseen, unread = page.unseen, page.unread
        while page.groups:
            groups += [
                {
                    "group": g.name,
                    "activity_count": g.activity_count,
                    "is_seen": g.is_seen,
                    "is_read": g.is_read,
                    "updated_at": json.loads(serializer.dumps(g.updated_at)),
                    "activity_ids": [ids.key_to_id(e.key) for e in g.activities],
                }
                for g in page.groups
            ]
            page = backend.read_groups(feed, group, Page(limit=100, lt=page.groups[-1].latest_key))
        notifications[feed] = {"unseen": unseen, "unread": unread, "groups": groups}
    return {
        "user_id": str(user_id),
        "actor": actor,
        "activities": activities,
        "following": {f: _all_follows(backend, f, followers=False) for f in feeds},
        "followers": {f: _all_follows(backend, f, followers=True) for f in feeds},
        "notifications": notifications,
    }


@dataclass
class ErasureReport:
    """What an erasure found and removed (or, with ``dry_run``, would remove):
    the user's activities (ids), the feed entries that held them, the follows,
    the entries of the user's feeds and the copies made from them, the
    recorded failures, and the other actors' activities whose ``to`` named
    one of the user's feeds (kept, without those feeds)."""

    actor: str
    feeds: list[str]
    activities: list[str] = field(default_factory=list)
    copies: int = 0
    follows: int = 0
    entries: int = 0
    failures: int = 0
    retargeted: int = 0


def erase_user(
    user_id: Any, *, actor: str | None = None, dry_run: bool = False, progress: Progress = noop
) -> ErasureReport:
    """Erase ``user_id`` from the feeds (see the module docstring).

    Removals go through the fan-out (``stream_django.fanout``), so with task
    workers the followers' copies go in chunks; copies a chunk has not
    reached yet are removed here too, so when this returns no feed holds one.
    The fan-out chunks still queued name the keys until a worker runs them.
    ``progress`` counts the stored activities scanned, then the user's
    activities removed (of their total). Erasure records no feed events
    (nor do its chunks), and deletes the kept event records that name the
    user's feeds, actor or activities (docs/realtime.md).
    """
    with events.quiet():
        return _erase_user(user_id, actor, dry_run, progress)


def _erase_user(user_id: Any, actor: str | None, dry_run: bool, progress: Progress) -> ErasureReport:
    backend = storage_backend("supports_activity_scan", "supports_feed_erasure")
    layout = FeedLayout.current()
    actor = user_actor(user_id) if actor is None else actor
    feeds = user_feeds(user_id, layout)
    report = ErasureReport(actor=actor, feeds=feeds)
    found, addressed = _activities_of(backend, actor, feeds, progress)
    report.activities = [ids.key_to_id(k) for k, _ in found]
    keys = [k for k, _ in found]
    for start in range(0, len(keys), BATCH):
        batch = keys[start : start + BATCH]
        holders = backend.locate_activities(batch, layout)
        report.copies += sum(len(h) for h in holders.values())
        if not dry_run:
            for key in batch:
                for feed in [f for f, origin in holders[key] if origin is None]:
                    fanout.remove_activities(backend, feed, [key])
            # Copies whose source no longer held the activity (trimmed there,
            # or kept after an unfollow): each from its own feed.
            for key, left in backend.locate_activities(batch, layout).items():
                for feed, _ in left:
                    backend.remove_activities(feed, [key], layout)
        progress(min(start + BATCH, len(keys)), len(keys))
    unfollows: list[tuple[str, str, bool]] = []
    for feed in feeds:
        unfollows += [(feed, target, False) for target in _all_follows(backend, feed, followers=False)]
        unfollows += [(source, feed, False) for source in _all_follows(backend, feed, followers=True)]
    unfollows = list(dict.fromkeys(unfollows))
    report.follows = len(unfollows)
    failures = [op.id for op in FailedOperation.objects.all() if op.feed in feeds or _actor_of(op.payload) == actor]
    report.failures = len(failures)
    report.retargeted = len(addressed)
    if dry_run:
        return report
    for key, data in addressed:
        # Another actor's activity addressed to the user: it stays, without
        # the user's feeds in its "to" (the key does not depend on "to").
        removed = [t for t in data["to"] if t in feeds]
        data["to"] = [t for t in data["to"] if t not in feeds]
        prepared = prepare_activity(data)
        if prepared.key == key:
            fanout.change_targets(backend, prepared, [], removed)
    if unfollows:
        fanout.unfollow_many(backend, unfollows)
    report.entries = backend.erase_feeds(feeds, layout)
    FailedOperation.objects.filter(id__in=failures).delete()
    # The feed events kept for resuming clients name them too.
    foreign_ids = [str(serializer.loads(text).get("foreign_id") or "") for _, text in found]
    events.forget([*keys, *report.activities, *foreign_ids, *feeds, actor])
    return report


def _actor_of(payload: str) -> Any:
    try:
        return serializer.loads(payload).get("actor")
    except (ValueError, AttributeError):
        return None
