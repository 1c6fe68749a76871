"""A site's serializer and permission policy, for the REST API tests."""

from rest_framework import serializers

from stream_django.api.permissions import FeedPermission
from tests.testapp.models import Tweet


class TweetSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tweet
        fields = ["id", "text", "user"]


class ReadEverything(FeedPermission):
    """Any signed-in user reads every feed; following stays the default."""

    def can_read(self, user, feed):
        return True
