"""
The request side of fan-out: write inline, or write the named feeds and
leave the followers to task workers.

When the storage backend supports it (``supports_fanout_chunks``) and
``STREAM_FANOUT_TASK_BACKEND`` names a task backend that queues (not the
immediate backend), a write that would reach more than
``STREAM_FANOUT_INLINE_LIMIT`` follower feeds is split in two:

- in the request, the backend writes the feeds named directly (the origin
  feed and the ``to`` targets; the follow rows themselves), and one ledger
  row (``FanoutChunk``) plus one task are created when the transaction
  commits;
- task workers do the rest in chunks of about ``STREAM_FANOUT_CHUNK_SIZE``
  feed entries. The first chunk runs on ``STREAM_FANOUT_QUEUE``; it plans the
  remaining chunks and enqueues them on ``STREAM_FANOUT_BULK_QUEUE``.

Everything else runs inline, in the request, exactly as without a task
backend.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import transaction

from stream_django.backends.base import BaseStorageBackend
from stream_django.conf import stream_settings
from stream_django.engine import serializer
from stream_django.engine.activities import PreparedActivity
from stream_django.engine.plan import FeedLayout, plan_write
from stream_django.events import hooks as events
from stream_django.fanout.ledger import ledger_database
from stream_django.fanout.messages import ADD, COPY, PURGE, REMOVE
from stream_django.fanout.queue import is_immediate, submit, task_backend


def task_backend_for(storage: BaseStorageBackend) -> Any:
    """Return the task backend fan-out is enqueued on, or ``None`` for inline.

    Inline when the storage backend cannot chunk, when
    ``STREAM_FANOUT_TASK_BACKEND`` is ``None``, when no tasks framework is
    installed, or when the task backend is the immediate backend (the
    framework's default when ``TASKS`` is not set).
    """
    if not storage.supports_fanout_chunks:
        return None
    alias = stream_settings.FANOUT_TASK_BACKEND
    if alias is None:
        return None
    try:
        backend = task_backend(alias)
    except ImportError:
        return None
    return None if is_immediate(backend) else backend


def _stays_inline(storage: BaseStorageBackend, sources: Sequence[str]) -> bool:
    """Whether a fan-out from ``sources`` is small enough to run in the request."""
    if not sources:
        return True
    limit = stream_settings.FANOUT_INLINE_LIMIT
    if limit <= 0:
        return False
    return storage.count_followers(list(sources), limit + 1) <= limit


def add_activities(storage: BaseStorageBackend, feed: str, activities: Sequence[PreparedActivity]) -> None:
    """Add ``activities`` to ``feed``; fan out inline or through task workers."""
    plan = plan_write(activities)
    sources: dict[str, list[str]] = {}
    for activity in activities:
        for source in plan.layout.flat([feed, *activity.to]):
            keys = sources.setdefault(source, [])
            if activity.key not in keys:
                keys.append(activity.key)
    if task_backend_for(storage) is None or _stays_inline(storage, list(sources)):
        storage.add_activities(feed, plan)
        events.added(storage, feed, plan, sources)
        return
    with transaction.atomic(using=ledger_database()):
        storage.add_direct(feed, plan)
        submit([{"op": ADD, "source": s, "keys": keys, "plan": True} for s, keys in sources.items()])
        events.added(storage, feed, plan, None)


def add_to_many(storage: BaseStorageBackend, activity: PreparedActivity, feeds: Sequence[str]) -> None:
    """Add ``activity`` directly to each of ``feeds``, without fan-out."""
    plan = plan_write([activity])
    storage.add_to_many(plan, feeds)
    events.added(storage, None, plan, None, feeds)


def remove_activities(storage: BaseStorageBackend, feed: str, keys: Sequence[str]) -> None:
    """Remove ``keys`` from ``feed`` and everywhere they fanned out to."""
    layout = FeedLayout.current()
    if task_backend_for(storage) is None:
        record = events.removing(storage, feed, keys, layout, fan_out=True)
        storage.remove_activities(feed, keys, layout)
        events.publish(storage, record)
        return
    targets = [feed]
    for text in storage.get_activities(keys).values():
        targets += serializer.loads(text).get("to", [])
    if _stays_inline(storage, layout.flat(targets)):
        record = events.removing(storage, feed, keys, layout, fan_out=True)
        storage.remove_activities(feed, keys, layout)
        events.publish(storage, record)
        return
    with transaction.atomic(using=ledger_database()):
        record = events.removing(storage, feed, keys, layout, fan_out=False)
        pending = storage.remove_direct(feed, keys, layout)
        if pending:
            submit([{"op": REMOVE, "source": s, "keys": list(k)} for s, k in pending.items()])
        events.publish(storage, record)


def change_targets(
    storage: BaseStorageBackend, activity: PreparedActivity, added: Sequence[str], removed: Sequence[str]
) -> None:
    """Change the ``to`` targets of ``activity`` (see ``change_targets``)."""
    plan = plan_write([activity])
    added_sources, removed_sources = plan.layout.flat(added), plan.layout.flat(removed)
    if task_backend_for(storage) is None or _stays_inline(storage, added_sources + removed_sources):
        storage.change_targets(plan, added, removed)
        return
    steps = [{"op": ADD, "source": s, "keys": [activity.key], "plan": True} for s in added_sources]
    steps += [{"op": REMOVE, "source": s, "keys": [activity.key]} for s in removed_sources]
    with transaction.atomic(using=ledger_database()):
        storage.change_targets_direct(plan, added, removed)
        submit(steps)


def follow_many(storage: BaseStorageBackend, pairs: Sequence[tuple[str, str]], copy_limit: int) -> None:
    """Create follows; copy the targets' activities inline or through workers."""
    layout = FeedLayout.current()
    inline_limit = stream_settings.FANOUT_INLINE_LIMIT
    if not copy_limit or len(pairs) <= inline_limit or task_backend_for(storage) is None:
        storage.follow_many(pairs, copy_limit, layout)
        return
    with transaction.atomic(using=ledger_database()):
        storage.follow_many(pairs, 0, layout)
        submit([{"op": COPY, "pairs": [list(p) for p in pairs], "limit": copy_limit, "plan": True}])


def unfollow_many(storage: BaseStorageBackend, items: Sequence[tuple[str, str, bool]]) -> None:
    """Remove follows; purge their activities inline or through workers."""
    layout = FeedLayout.current()
    purged = [[source, target] for source, target, keep_history in items if not keep_history]
    inline_limit = stream_settings.FANOUT_INLINE_LIMIT
    if len(purged) <= inline_limit or task_backend_for(storage) is None:
        storage.unfollow_many(items, layout)
        return
    with transaction.atomic(using=ledger_database()):
        storage.unfollow_many([(source, target, True) for source, target, _ in items], layout)
        submit([{"op": PURGE, "pairs": purged, "plan": True}])
