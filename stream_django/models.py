"""
The package's own tables, which every backend uses: the failure ledger
(``FailedOperation``, replayed by ``manage.py stream_replay``) and the
fan-out backlog (``FanoutChunk``), and the feed events of the database
transport (``FeedEventRecord``, docs/realtime.md).

The database backend's feed tables (``backends/database/models.py``) are
imported here too, because Django finds an app's models in its ``models``
module; they stay unused on another backend.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from stream_django.backends.database.models import (
    FEED_ID_LENGTH,
    ActivityGroup,
    FeedEntry,
    FeedLock,
    Follow,
    GroupEntry,
    StoredActivity,
)

__all__ = [
    "ActivityGroup",
    "FailedOperation",
    "FanoutChunk",
    "FeedEntry",
    "FeedEventRecord",
    "FeedLock",
    "Follow",
    "GroupEntry",
    "StoredActivity",
]


class FailedOperation(models.Model):
    """A tracking write that failed, kept for ``manage.py stream_replay``."""

    id = models.BigAutoField(primary_key=True)
    created_at = models.DateTimeField(auto_now_add=True)
    operation = models.CharField(max_length=16)
    model = models.CharField(max_length=255)
    object_pk = models.CharField(max_length=255)
    feed = models.CharField(max_length=FEED_ID_LENGTH)
    payload = models.TextField()
    error = models.TextField()
    attempts = models.IntegerField(default=1)

    class Meta:
        verbose_name = _("failed operation")
        verbose_name_plural = _("failed operations")
        app_label = "stream_django"
        db_table = "stream_django_failed_operation"
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.operation} {self.model}:{self.object_pk} -> {self.feed}"


class FanoutChunk(models.Model):
    """Fan-out work handed to a task worker and not finished yet.

    ``steps`` is the chunk's JSON message (``stream_django.fanout.messages``).
    The row is deleted when the chunk has run, so the table is the backlog.
    ``started_at`` is set while a worker runs the chunk and cleared when it
    fails (``error`` says why); ``manage.py stream_fanout_status --requeue``
    enqueues failed and stale chunks again.
    """

    id = models.BigAutoField(primary_key=True)
    created_at = models.DateTimeField(default=timezone.now)
    bulk = models.BooleanField(default=False)
    steps = models.TextField()
    started_at = models.DateTimeField(null=True, blank=True)
    attempts = models.IntegerField(default=0)
    error = models.TextField(blank=True, default="")

    class Meta:
        verbose_name = _("fan-out chunk")
        verbose_name_plural = _("fan-out chunks")
        app_label = "stream_django"
        db_table = "stream_django_fanout_chunk"
        ordering = ["id"]

    def __str__(self) -> str:
        return f"fan-out chunk {self.id}"


class FeedEventRecord(models.Model):
    """One write's feed events, kept for the retention window
    (``STREAM_EVENTS``) so that clients can resume; the database transport
    of ``stream_django.events``. ``data`` is the JSON the events are read
    from."""

    id = models.BigAutoField(primary_key=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    data = models.TextField()

    class Meta:
        app_label = "stream_django"
        db_table = "stream_django_feed_event"
        ordering = ["id"]

    def __str__(self) -> str:
        return f"feed events {self.id}"
