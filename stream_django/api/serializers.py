"""
Serializers of the REST API.

``ReferenceSerializer`` is the default shape of an enriched reference
(``STREAM_API_DEFAULT_SERIALIZER``); a site names its own serializer per
model in ``STREAM_API_SERIALIZERS``. The request serializers validate query
parameters and bodies with the engine's bounds, so every bad value is a 400
naming its field. The response serializers describe the responses in the
OpenAPI document.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from drf_spectacular.utils import PolymorphicProxySerializer
from rest_framework import serializers

from stream_django.activity import model_content_type
from stream_django.engine import ids
from stream_django.engine.feeds import parse_feed_id
from stream_django.exceptions import InputException
from stream_django.feeds.params import MAX_COPY_LIMIT, MAX_FOLLOW_LIMIT, MAX_LIMIT, decode_group_name


class ReferenceSerializer(serializers.BaseSerializer):
    """``{"id", "type", "str", "url"}`` of a referenced model instance.

    ``type`` is the reference's model label (``"app.Model"``), ``url`` the
    instance's ``get_absolute_url()`` or ``None`` when the model has none.
    Subclass it, or name any DRF serializer in ``STREAM_API_SERIALIZERS``,
    to show more.
    """

    def to_representation(self, instance: models.Model) -> dict[str, Any]:
        get_url = getattr(instance, "get_absolute_url", None)
        return {
            "id": str(instance.pk),
            "type": model_content_type(type(instance)),
            "str": str(instance),
            "url": get_url() if callable(get_url) else None,
        }


def _cursor(value: str, field: str) -> str:
    # An activity id, or a group id ("<activity id>.<group>") on aggregated feeds.
    try:
        ids.id_to_key(value.split(".", 1)[0], param=field)
    except InputException as e:
        raise serializers.ValidationError(str(e)) from None
    return value


class CursorField(serializers.CharField):
    """An activity id or a group id, as ``id_lt`` / ``id_gt`` take them."""

    def to_internal_value(self, data: Any) -> str:
        return _cursor(super().to_internal_value(data), self.field_name or "cursor")


class FeedReadQuerySerializer(serializers.Serializer):
    """Query parameters of ``GET <feed>/``."""

    limit = serializers.IntegerField(min_value=0, max_value=MAX_LIMIT, default=25)
    id_lt = CursorField(required=False, help_text="Older than this activity or group id (the `next` cursor).")
    id_gt = CursorField(required=False, help_text="Newer than this activity or group id.")
    mark_seen = serializers.CharField(
        required=False, help_text="Notification feeds: `true`, or group ids separated by commas."
    )
    mark_read = serializers.CharField(
        required=False, help_text="Notification feeds: `true`, or group ids separated by commas."
    )

    def _mark(self, value: str, field: str) -> bool | list[str]:
        if value.lower() in ("true", "1"):
            return True
        if value.lower() in ("false", "0", ""):
            return False
        groups = value.split(",")
        try:
            for group_id in groups:
                decode_group_name(group_id, field)
        except InputException as e:
            raise serializers.ValidationError(str(e)) from None
        return groups

    def validate_mark_seen(self, value: str) -> bool | list[str]:
        return self._mark(value, "mark_seen")

    def validate_mark_read(self, value: str) -> bool | list[str]:
        return self._mark(value, "mark_read")


class FollowListQuerySerializer(serializers.Serializer):
    """Query parameters of ``GET <feed>/followers/`` and ``following/``."""

    limit = serializers.IntegerField(min_value=0, max_value=MAX_FOLLOW_LIMIT, default=25)
    cursor = serializers.CharField(required=False, help_text="The `next` cursor of the previous page.")


class FollowSerializer(serializers.Serializer):
    """Body of ``POST <feed>/follows/``."""

    target = serializers.CharField(help_text='The feed to follow, "slug:user_id" (e.g. "user:42").')
    activity_copy_limit = serializers.IntegerField(
        min_value=0,
        max_value=MAX_COPY_LIMIT,
        required=False,
        help_text="How many of the target's newest activities to copy (default STREAM_ACTIVITY_COPY_LIMIT).",
    )

    def validate_target(self, value: str) -> str:
        try:
            parsed = parse_feed_id(value, what="target")
        except InputException as e:
            raise serializers.ValidationError(str(e)) from None
        if parsed != value:
            raise serializers.ValidationError(f"target {value!r} is not of the form 'slug:user_id'")
        return parsed


class UnfollowQuerySerializer(serializers.Serializer):
    """Query parameters of ``DELETE <feed>/follows/<slug>/<user_id>/``."""

    keep_history = serializers.BooleanField(default=False)


class MarkSerializer(serializers.Serializer):
    """Body of ``POST <feed>/seen/`` and ``read/``: ``groups`` or ``all``."""

    groups = serializers.ListField(
        child=serializers.CharField(), required=False, max_length=MAX_LIMIT, help_text="Group ids to mark."
    )
    all = serializers.BooleanField(required=False, help_text="Mark every group.")

    def validate_groups(self, value: list[str]) -> list[str]:
        try:
            for group_id in value:
                decode_group_name(group_id, "groups")
        except InputException as e:
            raise serializers.ValidationError(str(e)) from None
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        has_groups = "groups" in attrs
        if has_groups == bool(attrs.get("all")):
            raise serializers.ValidationError('give either "groups" (a list of group ids) or "all": true')
        return attrs


# -- responses, for the OpenAPI document ---------------------------------


class ActivitySerializer(serializers.Serializer):
    """An activity; ``actor``, ``object`` and ``target`` enriched when they are model references."""

    id = serializers.CharField()
    actor = serializers.JSONField(
        help_text='A model reference as its serializer gives it (by default {"id", "type", "str", "url"}, plus'
        ' "missing": true for a deleted object under STREAM_API_MISSING_REFERENCES = "mark"), or the stored string.'
    )
    verb = serializers.CharField()
    object = serializers.JSONField(help_text="An enriched reference, or the stored string.")
    target = serializers.JSONField(required=False, allow_null=True)
    time = serializers.DateTimeField()
    foreign_id = serializers.CharField(required=False, allow_null=True)
    origin = serializers.CharField(allow_null=True)
    to = serializers.ListField(child=serializers.CharField(), required=False)


class GroupSerializer(serializers.Serializer):
    """A group of an aggregated or notification feed."""

    id = serializers.CharField(help_text="The group id: a cursor, and what seen/read take.")
    group = serializers.CharField()
    verb = serializers.CharField()
    activity_count = serializers.IntegerField()
    actor_count = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    activities = ActivitySerializer(many=True)
    is_seen = serializers.BooleanField(required=False, help_text="Notification feeds only.")
    is_read = serializers.BooleanField(required=False, help_text="Notification feeds only.")


class FeedPageSerializer(serializers.Serializer):
    """A page of a feed: activities (flat feeds) or groups (aggregated and notification feeds)."""

    results = PolymorphicProxySerializer(
        component_name="FeedItem",
        serializers=[ActivitySerializer, GroupSerializer],
        resource_type_field_name=None,
        many=True,
        help_text="Activities (flat feeds) or groups (aggregated and notification feeds), newest first.",
    )
    next = serializers.URLField(allow_null=True, help_text="The next (older) page, or null.")
    unseen = serializers.IntegerField(required=False, help_text="Notification feeds only: unseen groups.")
    unread = serializers.IntegerField(required=False, help_text="Notification feeds only: unread groups.")


class FollowRowSerializer(serializers.Serializer):
    feed_id = serializers.CharField(help_text="The following feed.")
    target_id = serializers.CharField(help_text="The followed feed.")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class FollowPageSerializer(serializers.Serializer):
    results = FollowRowSerializer(many=True)
    next = serializers.URLField(allow_null=True)


class FollowResultSerializer(serializers.Serializer):
    feed = serializers.CharField()
    target = serializers.CharField()
    created = serializers.BooleanField(help_text="False when the follow already existed.")


class CountsSerializer(serializers.Serializer):
    unseen = serializers.IntegerField()
    unread = serializers.IntegerField()
