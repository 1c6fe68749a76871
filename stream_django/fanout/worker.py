"""
The worker side of fan-out: run one ledger chunk, planning the rest.

Chunks may run in any order, twice, or after the operation that undoes
them: each makes its slice agree with the current state of its source feed
or follow (see ``BaseStorageBackend``), so the result is the same. The
ledger row is deleted when its chunk has run; a chunk whose row is gone, or
was claimed by a worker less than ``STREAM_FANOUT_RETRY_AFTER`` seconds ago,
is skipped.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import transaction

from stream_django.backends import get_backend
from stream_django.backends.base import BaseStorageBackend
from stream_django.conf import stream_settings
from stream_django.engine.plan import FeedLayout
from stream_django.events import hooks as events
from stream_django.fanout import ledger
from stream_django.fanout.messages import ADD, COPY, PURGE_ENTRIES_PER_PAIR, REMOVE, InvalidFanoutMessage, validate_step

#: Records follow-up chunks (``bulk=True``) and enqueues them on commit.
Submit = Callable[..., list[int]]


def run_chunk(chunk_id: int, steps: list[dict[str, Any]] | None = None, *, submit: Submit) -> dict[str, Any]:
    """Run the ledger's chunk ``chunk_id``: what the fan-out task does.

    The ledger row is authoritative (``steps``, the task's copy of it, is
    only checked): a first chunk that was interrupted after planning has its
    planned steps there. Return a JSON summary.
    """
    if not ledger.claim(chunk_id):
        running = ledger.exists(chunk_id)
        return {"chunk": chunk_id, "skipped": "running elsewhere" if running else "done"}
    db = ledger.ledger_database()
    try:
        work = ledger.steps_of(chunk_id)
        if not isinstance(work, list):
            raise InvalidFanoutMessage(f"fan-out chunk {chunk_id}: steps must be a list, got {work!r}")
        for step in work:
            validate_step(step)
        storage = get_backend()
        if not isinstance(storage, BaseStorageBackend):
            raise InvalidFanoutMessage(f"fan-out chunk {chunk_id}: {storage.name} is not a local store")
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
                ledger.replace_steps(chunk_id, now_steps)
        layout = FeedLayout.current()
        more = [m for m in (run_step(storage, step, size, layout) for step in now_steps) if m is not None]
        with transaction.atomic(using=db):
            if more:
                submit(more, bulk=True)
            ledger.finish(chunk_id)
    except Exception as e:
        ledger.fail(chunk_id, e)
        raise
    return {"chunk": chunk_id, "steps": len(now_steps), "queued": len(later) + len(more)}


def plan(storage: BaseStorageBackend, step: dict[str, Any], size: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Cut a first step into the chunk to run now and the chunks to enqueue.

    Each chunk writes about ``size`` entries: an add chunk covers
    ``size // len(keys)`` followers, a copy chunk ``size // limit`` follows.
    """
    by_range = step["op"] == REMOVE and storage.removes_by_range and "range" not in step
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


def run_step(
    storage: BaseStorageBackend, step: dict[str, Any], size: int, layout: FeedLayout | None = None
) -> dict[str, Any] | None:
    """Run one planned step with the feed groups of ``layout`` (default: the
    configured ones); return the step to run next, if any (removals)."""
    layout = FeedLayout.current() if layout is None else layout
    op = step["op"]
    if op == ADD:
        after, upto = step["range"]
        storage.fan_out_chunk(step["source"], step["keys"], after, upto, layout)
        events.chunk_ran(storage, step, True, {})
    elif op == REMOVE and "range" in step:
        after, upto = step["range"]
        bodies = storage.get_activities(step["keys"])
        storage.remove_range_chunk(step["source"], step["keys"], after, upto, layout)
        events.chunk_ran(storage, step, True, bodies)
    elif op == REMOVE:
        bodies = storage.get_activities(step["keys"])
        if storage.remove_chunk(step["source"], step["keys"], size, layout) >= size:
            return step
        events.chunk_ran(storage, step, True, bodies)
    elif op == COPY:
        storage.copy_chunk([(s, t) for s, t in step["pairs"]], step["limit"], layout)
    else:
        storage.purge_chunk([(s, t) for s, t in step["pairs"]], layout, stream_settings.ACTIVITY_COPY_LIMIT)
    return None
