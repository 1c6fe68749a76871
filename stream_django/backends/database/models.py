"""Tables of the database backend (app label ``stream_django``)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

FEED_ID_LENGTH = 320  # slug (64) + ":" + user id (255)
#: MySQL's 3072-byte key limit on the (feed, group, actor) index.
ACTOR_LENGTH = 191


class StoredActivity(models.Model):
    """One activity's data, shared by every feed it appears in."""

    key = models.CharField(primary_key=True, max_length=31)
    foreign_id = models.CharField(max_length=255, blank=True, default="", db_index=True)
    data = models.TextField()

    class Meta:
        verbose_name = _("stored activity")
        verbose_name_plural = _("stored activities")
        app_label = "stream_django"
        db_table = "stream_django_activity"

    def __str__(self) -> str:
        return self.key


class FeedEntry(models.Model):
    """An activity in a flat feed; ``origin`` is the followed feed it came from."""

    id = models.BigAutoField(primary_key=True)
    feed = models.CharField(max_length=FEED_ID_LENGTH)
    #: No constraint in the database: the write path keeps every entry's
    #: activity (docs/database.md, "Statistics and the COMMIT").
    activity = models.ForeignKey(
        StoredActivity, on_delete=models.CASCADE, db_column="activity_key", related_name="+", db_constraint=False
    )
    origin = models.CharField(max_length=FEED_ID_LENGTH, null=True, blank=True)  # noqa: DJ001 - NULL: stored directly

    class Meta:
        verbose_name = _("feed entry")
        verbose_name_plural = _("feed entries")
        app_label = "stream_django"
        db_table = "stream_django_entry"
        constraints = [models.UniqueConstraint(fields=["feed", "activity"], name="stream_entry_feed_activity")]
        indexes = [models.Index(fields=["origin"], name="stream_entry_origin")]

    def __str__(self) -> str:
        return f"{self.feed} <- {self.activity_id}"


class GroupEntry(models.Model):
    """An activity in an aggregated or notification feed, in its group."""

    id = models.BigAutoField(primary_key=True)
    feed = models.CharField(max_length=FEED_ID_LENGTH)
    group_name = models.CharField(max_length=255)
    #: No constraint in the database: the write path keeps every entry's
    #: activity (docs/database.md, "Statistics and the COMMIT").
    activity = models.ForeignKey(
        StoredActivity, on_delete=models.CASCADE, db_column="activity_key", related_name="+", db_constraint=False
    )
    #: Truncated to 191 characters so the (feed, group, actor) index fits
    #: MySQL's 3072-byte key limit; only used to count distinct actors.
    actor = models.CharField(max_length=ACTOR_LENGTH)
    origin = models.CharField(max_length=FEED_ID_LENGTH, null=True, blank=True)  # noqa: DJ001 - NULL: stored directly

    class Meta:
        verbose_name = _("group entry")
        verbose_name_plural = _("group entries")
        app_label = "stream_django"
        db_table = "stream_django_group_entry"
        constraints = [models.UniqueConstraint(fields=["feed", "activity"], name="stream_gentry_feed_activity")]
        indexes = [
            models.Index(fields=["feed", "group_name", "activity"], name="stream_gentry_group"),
            models.Index(fields=["feed", "group_name", "actor"], name="stream_gentry_actor"),
            models.Index(fields=["origin"], name="stream_gentry_origin"),
        ]

    def __str__(self) -> str:
        return f"{self.feed} [{self.group_name}] <- {self.activity_id}"


class ActivityGroup(models.Model):
    """A group of an aggregated feed, with its counts and seen/read state."""

    id = models.BigAutoField(primary_key=True)
    feed = models.CharField(max_length=FEED_ID_LENGTH)
    name = models.CharField(max_length=255)
    latest_key = models.CharField(max_length=31)
    created_at = models.DateTimeField()
    activity_count = models.IntegerField(default=0)
    actor_count = models.IntegerField(default=0)
    is_seen = models.BooleanField(default=False)
    is_read = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("activity group")
        verbose_name_plural = _("activity groups")
        app_label = "stream_django"
        db_table = "stream_django_group"
        constraints = [models.UniqueConstraint(fields=["feed", "name"], name="stream_group_feed_name")]
        indexes = [
            models.Index(fields=["feed", "latest_key"], name="stream_group_latest"),
            # unseen / unread counts read only the groups they count
            models.Index(fields=["feed", "is_seen"], name="stream_group_seen"),
            models.Index(fields=["feed", "is_read"], name="stream_group_read"),
        ]

    def __str__(self) -> str:
        return f"{self.feed} [{self.name}]"


class GroupActor(models.Model):
    """An actor of a group, with how many of the group's activities are theirs.

    ``actor_count`` moves only when a row is created (the actor's first
    activity in the group) or its count reaches zero, so it counts every
    activity the group received, not only those it keeps. Keyed by the
    group's id: a group deleted and made again starts with no actors.
    """

    id = models.BigAutoField(primary_key=True)
    group = models.ForeignKey(
        ActivityGroup, on_delete=models.CASCADE, db_constraint=False, db_index=False, related_name="+"
    )
    #: Cut as ``GroupEntry.actor`` is.
    actor = models.CharField(max_length=ACTOR_LENGTH)
    activity_count = models.IntegerField(default=0)

    class Meta:
        app_label = "stream_django"
        db_table = "stream_django_group_actor"
        constraints = [models.UniqueConstraint(fields=["group", "actor"], name="stream_gactor_group_actor")]

    def __str__(self) -> str:
        return f"{self.group_id} {self.actor} ({self.activity_count})"


class Follow(models.Model):
    """Feed ``source`` follows feed ``target``."""

    id = models.BigAutoField(primary_key=True)
    source = models.CharField(max_length=FEED_ID_LENGTH)
    source_slug = models.CharField(max_length=64)
    target = models.CharField(max_length=FEED_ID_LENGTH)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        verbose_name = _("follow")
        verbose_name_plural = _("follows")
        app_label = "stream_django"
        db_table = "stream_django_follow"
        constraints = [models.UniqueConstraint(fields=["source", "target"], name="stream_follow_pair")]
        indexes = [
            models.Index(fields=["target", "source_slug"], name="stream_follow_target"),
            # Keyset pagination of a feed's followers for chunked fan-out.
            models.Index(fields=["target", "source"], name="stream_follow_target_source"),
        ]

    def __str__(self) -> str:
        return f"{self.source} -> {self.target}"


class FeedLock(models.Model):
    """One row per followed feed, locked to order its follows against its writes.

    Used on MySQL/MariaDB, where no shared advisory lock exists: a write to
    the feed takes a shared lock on the row (``INSERT IGNORE`` of an existing
    key), a follow or unfollow of it an exclusive one (``INSERT ... ON
    DUPLICATE KEY UPDATE``). PostgreSQL uses advisory locks on the feed id
    instead and leaves the table empty; SQLite has one writer at a time.
    The events transport locks the row ``{events}`` to append its records
    in commit order (``stream_django.events.transports``).
    """

    feed = models.CharField(max_length=FEED_ID_LENGTH, primary_key=True)

    class Meta:
        verbose_name = _("feed lock")
        verbose_name_plural = _("feed locks")
        app_label = "stream_django"
        db_table = "stream_django_feed_lock"

    def __str__(self) -> str:
        return self.feed
