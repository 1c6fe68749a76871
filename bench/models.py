"""The one activity model of the benchmark site."""

from django.conf import settings
from django.db import models

from stream_django.activity import Activity


class Post(models.Model, Activity):
    """Something an account did; ``kind`` is the activity's verb."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    kind = models.CharField(max_length=16)
    text = models.CharField(max_length=140)
    created_at = models.DateTimeField()

    class Meta:
        app_label = "bench"

    @classmethod
    def activity_related_models(cls):
        return ["user"]

    @property
    def activity_verb(self) -> str:
        return self.kind
