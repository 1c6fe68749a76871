"""Replaying the tracking writes that failed and were recorded (``FailedOperation``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from stream_django.engine import serializer
from stream_django.feed_manager import feed_manager
from stream_django.maintenance.base import Progress, noop
from stream_django.models import FailedOperation


@dataclass
class ReplayReport:
    """What a replay did: the operations replayed, and those that failed again
    (``(operation, error)``; they stay recorded with one more attempt)."""

    replayed: list[FailedOperation] = field(default_factory=list)
    failed: list[tuple[FailedOperation, str]] = field(default_factory=list)


def replay_failures(operations: Iterable[FailedOperation], progress: Progress = noop) -> ReplayReport:
    """Perform each recorded operation again (``FeedManager.perform``); delete
    the record of those that succeed, count one more attempt on the others.

    ``manage.py stream_replay`` and the admin's "replay selected" action both
    call this.
    """
    pending = list(operations)
    report = ReplayReport()
    for index, op in enumerate(pending, 1):
        slug, user_id = op.feed.split(":", 1)
        try:
            feed_manager.perform(op.operation, feed_manager.get_feed(slug, user_id), serializer.loads(op.payload))
        except Exception as e:  # noqa: BLE001 - every failure is recorded and reported
            op.attempts += 1
            op.error = f"{type(e).__name__}: {e}"
            op.save(update_fields=["attempts", "error"])
            report.failed.append((op, op.error))
        else:
            op.delete()
            report.replayed.append(op)
        progress(index, len(pending))
    return report
