"""
The example site's activities: posts, likes and follows.

Each model mixes in ``Activity``, so saving an instance publishes it to its
author's user feed (and from there to the timelines following it) once the
transaction commits, and deleting it removes it everywhere. Likes and follows
also notify the user they concern.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, router, transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone

from stream_django.activity import Activity, create_model_reference
from stream_django.feed_manager import feed_manager

POST_MAX_LENGTH = 280


class Post(models.Model, Activity):
    """A short text post; its activity is ``{verb: "post", object: the post}``."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="posts")
    text = models.CharField(max_length=POST_MAX_LENGTH)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "created_at"])]

    def __str__(self) -> str:
        return f"{self.user}: {self.text[:40]}"

    @classmethod
    def activity_related_models(cls) -> list[str]:
        return ["user"]


class Like(models.Model, Activity):
    """A user liking a post; notifies the post's author."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="likes")
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="likes")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "post"], name="social_like_once")]

    def __str__(self) -> str:
        return f"{self.user} likes post {self.post_id}"

    @property
    def activity_object_attr(self) -> Post:
        return self.post

    @property
    def activity_foreign_id(self) -> str:
        # The object is the post, which many likes share: identify the
        # activity by the like itself.
        return create_model_reference(self)

    @property
    def activity_notify(self) -> list[Any] | None:
        if self.post.user_id == self.user_id:
            return None
        return [feed_manager.get_notification_feed(self.post.user_id)]


class Follow(models.Model, Activity):
    """``user`` follows ``target``.

    Creating one makes ``user``'s news feeds follow ``target``'s user feed
    (``feed_manager.follow_user``); deleting it unfollows. Both happen when
    the transaction commits, like the activity itself. Notifies ``target``.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="following")
    target = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="followers")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "target"], name="social_follow_once")]

    def __str__(self) -> str:
        return f"{self.user} follows {self.target}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.user_id is not None and self.user_id == self.target_id:
            raise ValidationError("A user cannot follow themselves.")
        super().save(*args, **kwargs)

    @property
    def activity_object_attr(self) -> Any:
        return self.target

    @property
    def activity_foreign_id(self) -> str:
        return create_model_reference(self)

    @property
    def activity_notify(self) -> list[Any]:
        return [feed_manager.get_notification_feed(self.target_id)]


def _on_commit(sender: type[models.Model], instance: models.Model, func: Any) -> None:
    transaction.on_commit(func, using=router.db_for_write(sender, instance=instance))


@receiver(post_save, sender=Follow, dispatch_uid="social.follow_saved")
def follow_saved(sender: type[Follow], instance: Follow, created: bool, raw: bool = False, **kwargs: Any) -> None:
    """Make the follower's news feeds follow the target's user feed."""
    if created and not raw and feed_manager.should_track(sender):
        user_id, target_id = instance.user_id, instance.target_id
        _on_commit(sender, instance, lambda: feed_manager.follow_user(user_id, target_id))


@receiver(post_delete, sender=Follow, dispatch_uid="social.follow_deleted")
def follow_deleted(sender: type[Follow], instance: Follow, **kwargs: Any) -> None:
    """Stop following, removing the target's activities from the news feeds."""
    if feed_manager.should_track(sender):
        user_id, target_id = instance.user_id, instance.target_id
        _on_commit(sender, instance, lambda: feed_manager.unfollow_user(user_id, target_id))


@receiver(post_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="social.user_created")
def user_created(sender: type[models.Model], instance: Any, created: bool, raw: bool = False, **kwargs: Any) -> None:
    """Make a new user's news feeds follow their own user feed.

    Their own posts, likes and follows then show in their timelines too.
    """
    if created and not raw and feed_manager.should_track(sender):
        user_id = instance.pk
        _on_commit(sender, instance, lambda: feed_manager.follow_user(user_id, user_id))
