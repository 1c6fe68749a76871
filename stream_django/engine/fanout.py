"""
Fan-out off the request: chunked, idempotent, on Django's tasks framework.

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

A chunk's message is JSON: a list of steps, each one of ::

    {"op": "add", "source": "user:1", "keys": [...], "range": [after, upto]}
    {"op": "remove", "source": "user:1", "keys": [...]}
    {"op": "remove", "source": "user:1", "keys": [...], "range": [after, upto]}
    {"op": "copy", "pairs": [["timeline:2", "user:1"], ...], "limit": 100}
    {"op": "purge", "pairs": [["timeline:2", "user:1"], ...]}

``keys`` are activity storage keys; ``range`` bounds the follower feed ids
of an add chunk, ``(after, upto]`` with ``null`` for unbounded. A first step
carries ``"plan": true`` instead of a range (adds) or holds every pair
(copy, purge): running it cuts it into chunks. A remove step deletes up to a
chunk's worth of entries and enqueues itself again while there are more; on
a backend with ``removes_by_range`` (Redis), the first run of a remove step
cuts it into ranges of the feeds that received the keys, as for adds.

Chunks may run in any order, twice, or after the operation that undoes
them: each makes its slice agree with the current state of its source feed
or follow (see ``BaseStorageBackend``), so the result is the same. The
ledger row is deleted when its chunk has run; a chunk whose row is gone, or
was claimed by a worker less than ``STREAM_FANOUT_RETRY_AFTER`` seconds ago,
is skipped.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from django.db import connections, router, transaction
from django.db.models import F, Q
from django.utils import timezone

from stream_django.backends.base import BaseStorageBackend
from stream_django.conf import stream_settings
from stream_django.engine.activities import PreparedActivity
from stream_django.engine.feeds import get_group, slug_of

logger = logging.getLogger("stream_django")

ADD, REMOVE, COPY, PURGE = "add", "remove", "copy", "purge"
OPERATIONS = (ADD, REMOVE, COPY, PURGE)

#: How many activities an unfollowed feed is assumed to hold from the feed it
#: followed, to size purge chunks (its exact number is unknown beforehand).
PURGE_ENTRIES_PER_PAIR = 100


class InvalidFanoutMessage(ValueError):
    """A fan-out task message that is not a list of valid steps."""


def _chunk_model() -> Any:
    from stream_django.models import FanoutChunk

    return FanoutChunk


def ledger_database() -> str:
    """Return the database alias of the fan-out ledger (``FanoutChunk``)."""
    return router.db_for_write(_chunk_model())


def task_backend_for(storage: BaseStorageBackend) -> Any:
    """Return the task backend fan-out is enqueued on, or ``None`` for inline.

    Inline when the storage backend cannot chunk, when
    ``STREAM_FANOUT_TASK_BACKEND`` is ``None``, when no tasks framework is
    installed, or when the task backend is the immediate backend (the
    framework's default when ``TASKS`` is not set).
    """
    from stream_django.tasks import is_immediate, task_backend

    if not getattr(storage, "supports_fanout_chunks", False):
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


def _flat(feeds: Sequence[str]) -> list[str]:
    return [f for f in dict.fromkeys(feeds) if get_group(slug_of(f)).is_flat]


# -- request side ------------------------------------------------------------


def add_activities(storage: BaseStorageBackend, feed: str, activities: Sequence[PreparedActivity]) -> None:
    """Add ``activities`` to ``feed``; fan out inline or through task workers."""
    sources: dict[str, list[str]] = {}
    for activity in activities:
        for source in _flat([feed, *activity.to]):
            keys = sources.setdefault(source, [])
            if activity.key not in keys:
                keys.append(activity.key)
    if task_backend_for(storage) is None or _stays_inline(storage, list(sources)):
        storage.add_activities(feed, activities)
        return
    with transaction.atomic(using=ledger_database()):
        storage.add_direct(feed, activities)
        submit([{"op": ADD, "source": s, "keys": keys, "plan": True} for s, keys in sources.items()])


def remove_activities(storage: BaseStorageBackend, feed: str, keys: Sequence[str]) -> None:
    """Remove ``keys`` from ``feed`` and everywhere they fanned out to."""
    if task_backend_for(storage) is None:
        storage.remove_activities(feed, keys)
        return
    from stream_django.engine import serializer

    targets = [feed]
    for text in storage.get_activities(keys).values():
        targets += serializer.loads(text).get("to", [])
    if _stays_inline(storage, _flat(targets)):
        storage.remove_activities(feed, keys)
        return
    with transaction.atomic(using=ledger_database()):
        pending = storage.remove_direct(feed, keys)
        if pending:
            submit([{"op": REMOVE, "source": s, "keys": list(k)} for s, k in pending.items()])


def change_targets(
    storage: BaseStorageBackend, activity: PreparedActivity, added: Sequence[str], removed: Sequence[str]
) -> None:
    """Change the ``to`` targets of ``activity`` (see ``change_targets``)."""
    added_sources, removed_sources = _flat(added), _flat(removed)
    if task_backend_for(storage) is None or _stays_inline(storage, added_sources + removed_sources):
        storage.change_targets(activity, added, removed)
        return
    steps = [{"op": ADD, "source": s, "keys": [activity.key], "plan": True} for s in added_sources]
    steps += [{"op": REMOVE, "source": s, "keys": [activity.key]} for s in removed_sources]
    with transaction.atomic(using=ledger_database()):
        storage.change_targets_direct(activity, added, removed)
        submit(steps)


def follow_many(storage: BaseStorageBackend, pairs: Sequence[tuple[str, str]], copy_limit: int) -> None:
    """Create follows; copy the targets' activities inline or through workers."""
    inline_limit = stream_settings.FANOUT_INLINE_LIMIT
    if not copy_limit or len(pairs) <= inline_limit or task_backend_for(storage) is None:
        storage.follow_many(pairs, copy_limit)
        return
    with transaction.atomic(using=ledger_database()):
        storage.follow_many(pairs, 0)
        submit([{"op": COPY, "pairs": [list(p) for p in pairs], "limit": copy_limit, "plan": True}])


def unfollow_many(storage: BaseStorageBackend, items: Sequence[tuple[str, str, bool]]) -> None:
    """Remove follows; purge their activities inline or through workers."""
    purged = [[source, target] for source, target, keep_history in items if not keep_history]
    inline_limit = stream_settings.FANOUT_INLINE_LIMIT
    if len(purged) <= inline_limit or task_backend_for(storage) is None:
        storage.unfollow_many(items)
        return
    with transaction.atomic(using=ledger_database()):
        storage.unfollow_many([(source, target, True) for source, target, _ in items])
        submit([{"op": PURGE, "pairs": purged, "plan": True}])


# -- the ledger and the queue -------------------------------------------------


def submit(steps: list[dict[str, Any]], *, bulk: bool = False) -> list[int]:
    """Record fan-out work in the ledger and enqueue it when the transaction commits.

    The first chunk of a fan-out (``bulk=False``) holds all ``steps``; bulk
    chunks hold one step each. Return the ledger ids.
    """
    for step in steps:
        validate_step(step)
    model = _chunk_model()
    db = ledger_database()
    if bulk:
        rows = [model(bulk=True, steps=json.dumps([step])) for step in steps]
    else:
        rows = [model(bulk=False, steps=json.dumps(steps))]
    if connections[db].features.can_return_rows_from_bulk_insert:
        model.objects.using(db).bulk_create(rows)
    else:
        for row in rows:
            row.save(using=db)
    chunks = [(row.id, bulk, row.steps) for row in rows]
    transaction.on_commit(lambda: enqueue(chunks), using=db)
    return [row.id for row in rows]


def enqueue(chunks: Sequence[tuple[int, bool, str]]) -> int:
    """Enqueue ledger rows, given as ``(id, bulk, steps JSON)``; return how many were.

    A chunk that cannot be enqueued is logged and stays in the ledger, where
    ``stream_fanout_status --requeue --include-unstarted`` finds it.
    """
    from stream_django.tasks import get_fanout_task

    done = 0
    for chunk_id, bulk, steps in chunks:
        try:
            get_fanout_task(bulk=bulk).enqueue(chunk_id, json.loads(steps))
        except Exception:
            logger.exception(
                "stream_django: fan-out chunk %s is recorded but could not be enqueued; "
                "'manage.py stream_fanout_status --requeue --include-unstarted' enqueues it again",
                chunk_id,
            )
        else:
            done += 1
    return done


def validate_step(step: Any) -> dict[str, Any]:
    """Return ``step`` if it is a valid fan-out step, else raise ``InvalidFanoutMessage``."""
    if not isinstance(step, dict) or step.get("op") not in OPERATIONS:
        raise InvalidFanoutMessage(f"fan-out step {step!r} has no valid 'op' (one of {OPERATIONS})")
    op = step["op"]
    if op in (ADD, REMOVE):
        if not isinstance(step.get("source"), str) or not _strings(step.get("keys")) or not step["keys"]:
            raise InvalidFanoutMessage(f"fan-out step {step!r} needs a 'source' feed id and a list of 'keys'")
        if (op == ADD and not step.get("plan")) or "range" in step:
            bounds = step.get("range")
            if not (
                isinstance(bounds, list) and len(bounds) == 2 and all(b is None or isinstance(b, str) for b in bounds)
            ):
                raise InvalidFanoutMessage(f"fan-out step {step!r} needs 'plan' or a 'range' [after, upto]")
    else:
        pairs = step.get("pairs")
        if not isinstance(pairs, list) or not all(isinstance(p, list) and len(p) == 2 and _strings(p) for p in pairs):
            raise InvalidFanoutMessage(f"fan-out step {step!r} needs 'pairs' of [source, target] feed ids")
        if op == COPY and not (isinstance(step.get("limit"), int) and step["limit"] >= 0):
            raise InvalidFanoutMessage(f"fan-out step {step!r} needs a copy 'limit' >= 0")
    return step


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


# -- worker side --------------------------------------------------------------


def run_chunk(chunk_id: int, steps: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Run the ledger's chunk ``chunk_id``: what the fan-out task does.

    The ledger row is authoritative (``steps``, the task's copy of it, is
    only checked): a first chunk that was interrupted after planning has its
    planned steps there. Return a JSON summary.
    """
    from stream_django.backends import get_backend

    model = _chunk_model()
    db = ledger_database()
    now = timezone.now()
    stale = now - timedelta(seconds=stream_settings.FANOUT_RETRY_AFTER)
    claimed = (
        model.objects.using(db)
        .filter(id=chunk_id)
        .filter(Q(started_at__isnull=True) | Q(started_at__lt=stale))
        .update(started_at=now, attempts=F("attempts") + 1, error="")
    )
    if not claimed:
        running = model.objects.using(db).filter(id=chunk_id).exists()
        return {"chunk": chunk_id, "skipped": "running elsewhere" if running else "done"}
    try:
        row = model.objects.using(db).get(id=chunk_id)
        work = json.loads(row.steps)
        if not isinstance(work, list):
            raise InvalidFanoutMessage(f"fan-out chunk {chunk_id}: steps must be a list, got {work!r}")
        for step in work:
            validate_step(step)
        storage = get_backend()
        size = stream_settings.FANOUT_CHUNK_SIZE
        now_steps: list[dict[str, Any]] = []
        later: list[dict[str, Any]] = []
        for step in work:
            first, rest = plan(storage, step, size)
            now_steps.append(first)
            later += rest
        if later:
            with transaction.atomic(using=db):
                submit(later, bulk=True)
                model.objects.using(db).filter(id=chunk_id).update(steps=json.dumps(now_steps))
        more = [m for m in (run_step(storage, step, size) for step in now_steps) if m is not None]
        with transaction.atomic(using=db):
            if more:
                submit(more, bulk=True)
            model.objects.using(db).filter(id=chunk_id).delete()
    except Exception as e:
        model.objects.using(db).filter(id=chunk_id).update(started_at=None, error=f"{type(e).__name__}: {e}")
        raise
    return {"chunk": chunk_id, "steps": len(now_steps), "queued": len(later) + len(more)}


def plan(storage: BaseStorageBackend, step: dict[str, Any], size: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Cut a first step into the chunk to run now and the chunks to enqueue.

    Each chunk writes about ``size`` entries: an add chunk covers
    ``size // len(keys)`` followers, a copy chunk ``size // limit`` follows.
    """
    by_range = step["op"] == REMOVE and getattr(storage, "removes_by_range", False) and "range" not in step
    if not step.get("plan") and not by_range:
        return step, []
    base = {k: v for k, v in step.items() if k != "plan"}
    if step["op"] in (ADD, REMOVE):
        per_chunk = max(1, size // len(step["keys"]))
        edges: list[str | None] = [None, *storage.follower_boundaries(step["source"], per_chunk), None]
        pieces = [{**base, "range": [edges[i], edges[i + 1]]} for i in range(len(edges) - 1)]
    else:
        if step["op"] == COPY:
            per_chunk = max(1, size // max(1, step["limit"]))
        else:
            per_chunk = max(1, size // PURGE_ENTRIES_PER_PAIR)
        pairs = step["pairs"]
        pieces = [{**base, "pairs": pairs[i : i + per_chunk]} for i in range(0, len(pairs), per_chunk)] or [base]
    return pieces[0], pieces[1:]


def run_step(storage: BaseStorageBackend, step: dict[str, Any], size: int) -> dict[str, Any] | None:
    """Run one planned step; return the step to run next, if any (removals)."""
    op = step["op"]
    if op == ADD:
        after, upto = step["range"]
        storage.fan_out_chunk(step["source"], step["keys"], after, upto)
    elif op == REMOVE and "range" in step:
        after, upto = step["range"]
        storage.remove_range_chunk(step["source"], step["keys"], after, upto)
    elif op == REMOVE:
        if storage.remove_chunk(step["source"], step["keys"], size) >= size:
            return step
    elif op == COPY:
        storage.copy_chunk([(s, t) for s, t in step["pairs"]], step["limit"])
    else:
        storage.purge_chunk([(s, t) for s, t in step["pairs"]])
    return None


def requeue(*, older_than: float, include_unstarted: bool = False) -> list[int]:
    """Enqueue again the chunks that failed, or were claimed more than
    ``older_than`` seconds ago and have not finished (their worker died).

    With ``include_unstarted``, also those created more than ``older_than``
    seconds ago and never started (their task was lost). Return their ids.
    """
    model = _chunk_model()
    db = ledger_database()
    cutoff = timezone.now() - timedelta(seconds=older_than)
    due = Q(started_at__isnull=True) & ~Q(error="") | Q(started_at__lt=cutoff)
    if include_unstarted:
        due |= Q(started_at__isnull=True, created_at__lt=cutoff)
    with transaction.atomic(using=db):
        rows = list(model.objects.using(db).filter(due).select_for_update().values_list("id", "bulk", "steps"))
        model.objects.using(db).filter(id__in=[row[0] for row in rows]).update(started_at=None, error="")
        transaction.on_commit(lambda: enqueue(rows), using=db)
    return [row[0] for row in rows]


def backlog() -> dict[str, Any]:
    """Return the state of the fan-out ledger, as JSON-ready numbers.

    ``waiting``: never started; ``running``: claimed by a worker less than
    ``STREAM_FANOUT_RETRY_AFTER`` seconds ago; ``stale``: claimed earlier and
    not finished (the worker probably died); ``failed``: the last run raised.
    """
    from django.db.models import Count, Min

    model = _chunk_model()
    db = ledger_database()
    now = timezone.now()
    stale_before = now - timedelta(seconds=stream_settings.FANOUT_RETRY_AFTER)
    rows = model.objects.using(db)
    states = {
        "waiting": rows.filter(started_at__isnull=True, error=""),
        "running": rows.filter(started_at__gte=stale_before),
        "stale": rows.filter(started_at__lt=stale_before),
        "failed": rows.filter(started_at__isnull=True).exclude(error=""),
    }
    result: dict[str, Any] = {"chunks": 0, "bulk": 0}
    for state, qs in states.items():
        summary = qs.aggregate(n=Count("id"), bulk=Count("id", filter=Q(bulk=True)), oldest=Min("created_at"))
        result[state] = summary["n"]
        result["chunks"] += summary["n"]
        result["bulk"] += summary["bulk"]
        result[f"oldest_{state}_seconds"] = (
            round((now - summary["oldest"]).total_seconds(), 1) if summary["oldest"] else None
        )
    result["errors"] = [
        {"chunk": i, "attempts": a, "error": e}
        for i, a, e in states["failed"].order_by("-id").values_list("id", "attempts", "error")[:5]
    ]
    return result
