"""
Replaying the tracking writes that failed and were recorded (``FailedOperation``).

A replay brings the feeds to the state of things *now*, not to the payload
captured when the write failed (docs/operations.md, "Recorded failures"):

- the records of one model instance (``model`` and ``object_pk``) are
  settled together, in one action: the instance gone, its activity is
  removed from the feeds the records name; the instance there, its current
  activity (``create_activity()``) is published, updated or moved in time
  (``FeedManager.sync_activity``), and removed from a recorded feed or
  under a recorded foreign id it no longer has. A record naming a model
  that is not installed any more counts as gone.
- a record not tied to a model instance (``model`` empty: a direct feed
  write the site recorded) keeps its payload's meaning. The records of one
  feed and foreign id are settled together and the latest one decides (the
  ledger's ids increase in the order failures were recorded): a remove
  wins over every earlier add and update; otherwise the last payload is
  written, added if one of the records was an add, else updated in place;
  and nothing is written when the feed holds that foreign id at a later
  time than the payload's (a newer version was written since).

Each action is idempotent and its records are deleted only after it
succeeded, so a second replay does nothing and a replay interrupted half
way, run again, ends in the same state.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.db import models, router, transaction

from stream_django.activity import Activity
from stream_django.engine import serializer
from stream_django.engine.activities import prepare_activity
from stream_django.engine.plan import FeedLayout
from stream_django.feed_manager import feed_manager
from stream_django.feeds import Client
from stream_django.maintenance.base import Progress, noop
from stream_django.managers import ADD, REMOVE, UPDATE
from stream_django.models import FailedOperation

#: What a group of records is about: ``("object", model, pk)`` or
#: ``("feed", feed id, foreign id)``.
Target = tuple[str, str, str]


@dataclass
class ReplayReport:
    """What a replay did: the records settled (``replayed``), those whose
    action failed again (``(record, error)``; they stay recorded with one
    more attempt), and ``actions``, how many objects or foreign ids were
    settled, each in one action whatever its number of records."""

    replayed: list[FailedOperation] = field(default_factory=list)
    failed: list[tuple[FailedOperation, str]] = field(default_factory=list)
    actions: int = 0


def replay_failures(operations: Iterable[FailedOperation], progress: Progress = noop) -> ReplayReport:
    """Settle the recorded failures ``operations``, and every other record
    of the same objects, bringing their feeds to the current state; delete
    the records of each action that succeeds, count one more attempt on the
    others.

    ``manage.py stream_replay`` and the admin's "replay selected" action both
    call this. ``progress(done, total)`` counts actions.
    """
    targets = list(dict.fromkeys(target_of(op) for op in sorted(operations, key=lambda op: op.id)))
    report = ReplayReport()
    for index, target in enumerate(targets, 1):
        records = records_of(target)
        if records:
            try:
                settle(target, records)
            except Exception as e:  # noqa: BLE001 - every failure is recorded and reported
                error = f"{type(e).__name__}: {e}"
                for op in records:
                    op.attempts += 1
                    op.error = error
                    op.save(update_fields=["attempts", "error"])
                    report.failed.append((op, error))
            else:
                FailedOperation.objects.filter(id__in=[op.id for op in records]).delete()
                report.replayed += records
                report.actions += 1
        progress(index, len(targets))
    return report


def model_of(op: FailedOperation) -> type[models.Model] | None:
    """The ``Activity`` model a record names, else ``None`` (not tied to a model,
    or naming a model that is not installed)."""
    if not op.model:
        return None
    try:
        model = apps.get_model(op.model)
    except (LookupError, ValueError):
        return None
    return model if issubclass(model, Activity) and issubclass(model, models.Model) else None


def target_of(op: FailedOperation) -> Target:
    """What ``op`` is about: its model instance, else its feed and foreign id."""
    if op.model:
        return ("object", op.model, op.object_pk)
    foreign_id = _payload(op).get("foreign_id")
    return ("feed", op.feed, str(foreign_id) if foreign_id else f"#{op.id}")


def records_of(target: Target) -> list[FailedOperation]:
    """Every record still in the ledger about ``target``, oldest first."""
    kind, first, second = target
    if kind == "object":
        return list(FailedOperation.objects.filter(model=first, object_pk=second).order_by("id"))
    if second.startswith("#"):
        return list(FailedOperation.objects.filter(id=int(second[1:]), model=""))
    return [op for op in FailedOperation.objects.filter(model="", feed=first).order_by("id") if target_of(op) == target]


def settle(target: Target, records: list[FailedOperation]) -> None:
    """Bring the feeds of ``target`` to the current state (see the module)."""
    if target[0] == "object":
        _settle_object(records)
    else:
        _settle_payload(records)


def _payload(op: FailedOperation) -> dict[str, Any]:
    payload = serializer.loads(op.payload)
    return payload if isinstance(payload, dict) else {}


def _feed(feed_id: str) -> Any:
    slug, user_id = feed_id.split(":", 1)
    return feed_manager.get_feed(slug, user_id)


def _settle_object(records: list[FailedOperation]) -> None:
    model = model_of(records[0])
    if model is None:
        _sync_object(None, records)
        return
    # The row stays locked while its feeds are written: a save or delete of
    # the object meanwhile waits, then publishes after this (its own state).
    db = router.db_for_write(model)
    with transaction.atomic(using=db):
        instance = model._base_manager.using(db).select_for_update().filter(pk=records[0].object_pk).first()
        _sync_object(instance, records)


def _sync_object(instance: Any, records: list[FailedOperation]) -> None:
    recorded = {(op.feed, str(_payload(op).get("foreign_id") or "")) for op in records}
    keep = None
    if instance is not None:
        feed = feed_manager.get_feed(feed_manager.get_actor_feed(instance), instance.activity_actor_id)
        keep = (feed.id, str(instance.activity_foreign_id))
    for feed_id, foreign_id in sorted(recorded):
        if foreign_id and (feed_id, foreign_id) != keep:
            _feed(feed_id).remove_activity(foreign_id=foreign_id)
    if instance is not None:
        feed_manager.sync_activity(instance)


def _settle_payload(records: list[FailedOperation]) -> None:
    last = records[-1]
    feed = _feed(last.feed)
    payload = _payload(last)
    if last.operation == REMOVE:
        feed_manager.perform(REMOVE, feed, payload)
        return
    if _newer_version_stored(feed, payload):
        return
    added = any(op.operation == ADD for op in records)
    feed_manager.perform(ADD if added else UPDATE, feed, payload)


def _newer_version_stored(feed: Any, payload: dict[str, Any]) -> bool:
    """Whether ``feed`` holds the payload's foreign id at a later time (local stores)."""
    if not payload.get("foreign_id") or not isinstance(feed.client, Client):
        return False
    key = prepare_activity(payload).key
    keys = feed.backend.keys_for_foreign_id(feed.id, str(payload["foreign_id"]), FeedLayout.current())
    return any(other > key for other in keys)
