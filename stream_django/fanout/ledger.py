"""
The fan-out ledger: one ``FanoutChunk`` row per chunk of work not yet done.

A row is written in the transaction of the write it belongs to, claimed by
the worker that runs it and deleted when its chunk has run; the rows left
are the backlog (``backlog()``) an operator can requeue.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.db import connections, router
from django.db.models import Count, F, Min, Q
from django.utils import timezone

from stream_django.conf import stream_settings
from stream_django.fanout.messages import validate_step

if TYPE_CHECKING:
    from stream_django.models import FanoutChunk

#: ``(ledger id, bulk, steps JSON)``: what the queue needs to enqueue a chunk.
Chunk = tuple[int, bool, str]


def _model() -> type[FanoutChunk]:
    # Imported on use: the feeds API must be importable before the app
    # registry is ready (a models module may import it).
    from stream_django.models import FanoutChunk

    return FanoutChunk


def ledger_database() -> str:
    """Return the database alias of the fan-out ledger (``FanoutChunk``)."""
    return router.db_for_write(_model())


def record(steps: list[dict[str, Any]], *, bulk: bool = False) -> list[Chunk]:
    """Write the ledger rows of ``steps`` (one row, or one per step if ``bulk``)."""
    for step in steps:
        validate_step(step)
    db = ledger_database()
    if bulk:
        rows = [_model()(bulk=True, steps=json.dumps([step])) for step in steps]
    else:
        rows = [_model()(bulk=False, steps=json.dumps(steps))]
    if connections[db].features.can_return_rows_from_bulk_insert:
        _model().objects.using(db).bulk_create(rows)
    else:
        for row in rows:
            row.save(using=db)
    return [(row.id, bulk, row.steps) for row in rows]


def claim(chunk_id: int) -> bool:
    """Mark ``chunk_id`` as started, unless a worker started it less than
    ``STREAM_FANOUT_RETRY_AFTER`` seconds ago or it is done (row gone)."""
    now = timezone.now()
    stale = now - timedelta(seconds=stream_settings.FANOUT_RETRY_AFTER)
    return bool(
        _model()
        .objects.using(ledger_database())
        .filter(id=chunk_id)
        .filter(Q(started_at__isnull=True) | Q(started_at__lt=stale))
        .update(started_at=now, attempts=F("attempts") + 1, error="")
    )


def exists(chunk_id: int) -> bool:
    return _model().objects.using(ledger_database()).filter(id=chunk_id).exists()


def steps_of(chunk_id: int) -> Any:
    """Return the decoded steps of a ledger row (the authoritative copy)."""
    return json.loads(_model().objects.using(ledger_database()).get(id=chunk_id).steps)


def replace_steps(chunk_id: int, steps: list[dict[str, Any]]) -> None:
    _model().objects.using(ledger_database()).filter(id=chunk_id).update(steps=json.dumps(steps))


def finish(chunk_id: int) -> None:
    _model().objects.using(ledger_database()).filter(id=chunk_id).delete()


def fail(chunk_id: int, error: BaseException) -> None:
    """Release ``chunk_id`` for a retry, keeping the error."""
    _model().objects.using(ledger_database()).filter(id=chunk_id).update(
        started_at=None, error=f"{type(error).__name__}: {error}"
    )


def take_due(*, older_than: float, include_unstarted: bool = False) -> list[Chunk]:
    """Release and return the chunks to enqueue again: those that failed, or
    were claimed more than ``older_than`` seconds ago and have not finished
    (their worker died); with ``include_unstarted``, also those created more
    than ``older_than`` seconds ago and never started (their task was lost).

    Call inside a transaction: the rows are locked until it ends.
    """
    db = ledger_database()
    cutoff = timezone.now() - timedelta(seconds=older_than)
    due = Q(started_at__isnull=True) & ~Q(error="") | Q(started_at__lt=cutoff)
    if include_unstarted:
        due |= Q(started_at__isnull=True, created_at__lt=cutoff)
    rows = list(_model().objects.using(db).filter(due).select_for_update().values_list("id", "bulk", "steps"))
    _model().objects.using(db).filter(id__in=[row[0] for row in rows]).update(started_at=None, error="")
    return rows


def take(chunk_ids: Sequence[int]) -> list[Chunk]:
    """Release and return the chunks among ``chunk_ids`` that no worker is
    running now (claimed less than ``STREAM_FANOUT_RETRY_AFTER`` seconds ago).

    Call inside a transaction: the rows are locked until it ends.
    """
    db = ledger_database()
    running = Q(started_at__gte=timezone.now() - timedelta(seconds=stream_settings.FANOUT_RETRY_AFTER))
    rows = list(
        _model()
        .objects.using(db)
        .filter(id__in=list(chunk_ids))
        .exclude(running)
        .select_for_update()
        .values_list("id", "bulk", "steps")
    )
    _model().objects.using(db).filter(id__in=[row[0] for row in rows]).update(started_at=None, error="")
    return rows


def state_of(chunk: FanoutChunk) -> str:
    """``waiting``, ``running``, ``stale`` or ``failed`` (as in ``backlog()``)."""
    if chunk.started_at is None:
        return "failed" if chunk.error else "waiting"
    stale = timezone.now() - timedelta(seconds=stream_settings.FANOUT_RETRY_AFTER)
    return "running" if chunk.started_at >= stale else "stale"


def backlog() -> dict[str, Any]:
    """Return the state of the fan-out ledger, as JSON-ready numbers.

    ``waiting``: never started; ``running``: claimed by a worker less than
    ``STREAM_FANOUT_RETRY_AFTER`` seconds ago; ``stale``: claimed earlier and
    not finished (the worker probably died); ``failed``: the last run raised.
    """
    model = _model()
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
