"""
The ``Activity`` model mixin and the reference helpers (as in stream-django).

Mix ``Activity`` into a model and every saved instance is published as an
activity to its actor's feed::

    class Tweet(models.Model, Activity):
        user = models.ForeignKey(User, on_delete=models.CASCADE)
        created_at = models.DateTimeField(auto_now_add=True)

Override the ``activity_*`` hooks to change what is published.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from django.db import models
from django.template.defaultfilters import slugify
from django.utils.timezone import is_aware, make_naive


def model_content_type(cls: type[models.Model]) -> str:
    """Return ``"app_label.ModelName"`` for a model class."""
    return f"{cls._meta.app_label}.{cls._meta.object_name}"


def create_model_reference(model_instance: models.Model) -> str:
    """Return a reference to a model instance, e.g. ``"core.Like:1"``.

    ``Enrich`` turns such references back into instances.
    """
    return f"{model_content_type(model_instance.__class__)}:{model_instance.pk}"


def create_reference(reference: Any) -> Any:
    """Return a model reference for a model instance, else ``reference`` itself."""
    if isinstance(reference, models.Model):
        return create_model_reference(reference)
    return reference


class Activity:
    """Mixin that publishes a model's instances as activities.

    Hooks (properties unless noted), all overridable:

    - ``activity_actor_attr``: the actor instance (default ``self.user``,
      else ``self.actor``);
    - ``activity_object_attr``: the object (default ``self``);
    - ``activity_verb``: the verb (default: the slugified class name);
    - ``activity_time``: the time (default ``self.created_at``, naive UTC);
    - ``activity_foreign_id``: default the object reference;
    - ``extra_activity_data``: a dict of extra JSON fields;
    - ``activity_notify``: feeds to copy the activity to (``to``);
    - ``activity_author_feed``: the feed group to publish to (default
      ``STREAM_USER_FEED``);
    - ``activity_related_models()`` (classmethod): ``select_related`` names
      used by ``Enrich``.

    Class attribute ``activity_track_updates`` (default ``True``): when an
    instance is saved again and its activity changed, update the stored
    activity in place. Set it to ``False`` to publish only on creation, as
    stream-django did.
    """

    activity_track_updates = True

    @property
    def activity_author_feed(self) -> str | None:
        """The feed group the activity is stored in (``None``: the user feed)."""
        return None

    @classmethod
    def activity_related_models(cls) -> list[str] | None:
        """Relations to ``select_related`` when enriching this model."""
        return None

    @property
    def extra_activity_data(self) -> dict[str, Any] | None:
        """Extra fields stored in the activity (JSON, datetimes allowed)."""
        return None

    @property
    def activity_actor_attr(self) -> Any:
        """The instance (usually a user) performing the activity."""
        if hasattr(self, "user"):
            return self.user
        return self.actor  # type: ignore[attr-defined]

    @property
    def activity_object_attr(self) -> Any:
        return self

    @property
    def activity_actor_id(self) -> Any:
        return self.activity_actor_attr.pk

    @property
    def activity_actor(self) -> Any:
        return create_reference(self.activity_actor_attr)

    @property
    def activity_verb(self) -> str:
        return slugify(self.__class__.__name__)

    @property
    def activity_object(self) -> Any:
        return create_reference(self.activity_object_attr)

    @property
    def activity_foreign_id(self) -> Any:
        return self.activity_object

    @property
    def activity_time(self) -> datetime:
        value = self.created_at  # type: ignore[attr-defined]
        if is_aware(value):
            value = make_naive(value, timezone.utc)
        return value

    @property
    def activity_notify(self) -> list[Any] | None:
        """Feeds (objects with an ``id`` such as ``"notification:42"``) to notify."""
        return None

    def create_activity(self) -> dict[str, Any]:
        """Return the activity dict published for this instance."""
        extra_data = dict(self.extra_activity_data or {})
        to = self.activity_notify
        if to:
            extra_data["to"] = [f.id for f in to]
        return dict(
            actor=self.activity_actor,
            verb=self.activity_verb,
            object=self.activity_object,
            foreign_id=self.activity_foreign_id,
            time=self.activity_time,
            **extra_data,
        )
