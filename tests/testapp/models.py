"""Concrete Activity models for the tests."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from stream_django.activity import Activity, create_model_reference
from stream_django.feed_manager import feed_manager


class Tweet(models.Model, Activity):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    text = models.CharField(max_length=280)
    created_at = models.DateTimeField(default=timezone.now)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL)

    class Meta:
        app_label = "testapp"

    @classmethod
    def activity_related_models(cls):
        return ["user"]

    @property
    def extra_activity_data(self):
        data = {"text_length": len(self.text)}
        if self.parent_id:
            data["parent"] = create_model_reference(self.parent)
        return data

    @property
    def activity_notify(self):
        if self.parent_id and self.parent.user_id != self.user_id:
            return [feed_manager.get_notification_feed(self.parent.user_id)]
        return None


class Like(models.Model, Activity):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    tweet = models.ForeignKey(Tweet, on_delete=models.CASCADE)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        app_label = "testapp"

    @property
    def activity_object_attr(self):
        return self.tweet

    @property
    def activity_foreign_id(self):
        return create_model_reference(self)

    @property
    def activity_notify(self):
        return [feed_manager.get_notification_feed(self.tweet.user_id)]


class Pin(models.Model, Activity):
    """Uses an ``author`` field and its own feed group."""

    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    board = models.CharField(max_length=100)
    created_at = models.DateTimeField(default=timezone.now)

    activity_track_updates = False

    class Meta:
        app_label = "testapp"

    @property
    def activity_actor_attr(self):
        return self.author


class Snapshot(models.Model, Activity):
    """Publishes a custom field that cannot be stored as JSON when bad=True."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    bad = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        app_label = "testapp"

    @property
    def extra_activity_data(self):
        return {"blob": object()} if self.bad else {"blob": "ok"}


class Plain(models.Model):
    """Not an activity."""

    name = models.CharField(max_length=10)

    class Meta:
        app_label = "testapp"
