"""
``FeedManager``: the feeds of a user and the model tracking (as in stream-django).

Tracking publishes an ``Activity`` model's instance when it is created,
updates the stored activity when the instance is saved again with different
activity data (moving it when its time changed: removed at the old time
everywhere it reached, added at the new one), and removes it when the
instance is deleted. Writes happen
after the saving transaction commits (``STREAM_PUBLISH_ON_COMMIT``), so a
rolled-back save publishes nothing. The activity is built and validated at
save time, inside the transaction: an invalid activity raises there.

Async code has the ``a`` twins of the methods that reach the store
(``afollow_user``, ``aadd_activity_to_feed``...), over ``async_stream_client``.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from typing import Any

from asgiref.sync import sync_to_async
from django.db import models, router, transaction
from django.db.models.signals import post_delete, post_save, pre_save

from stream_django.activity import Activity, model_content_type
from stream_django.backends import get_backend
from stream_django.client import async_stream_client, stream_client
from stream_django.conf import stream_settings
from stream_django.engine import serializer
from stream_django.engine.activities import PreparedActivity, parse_time, prepare_activity
from stream_django.engine.plan import FeedLayout
from stream_django.exceptions import FeedConfigException, InputException
from stream_django.feeds import Client, Feed

logger = logging.getLogger("stream_django")

EVERY_MODEL = "EVERY_MODEL"

ADD, UPDATE, REMOVE = "add", "update", "remove"
#: An edit that changed the activity's time, on a backend that finds an
#: activity by foreign id and time only (the hosted service).
MOVE = "move"


class FeedManager:
    """Common feed operations and the tracking of ``Activity`` models."""

    def __init__(self) -> None:
        self._disabledModelTracking: dict[Any, bool] = {}
        self._migrating = False

    # -- settings (read on use, so override_settings applies) ------------

    @property
    def user_feed(self) -> str:
        return stream_settings.USER_FEED

    @property
    def news_feeds(self) -> dict[str, str]:
        return stream_settings.NEWS_FEEDS

    @property
    def notification_feed(self) -> str:
        return stream_settings.NOTIFICATION_FEED

    # -- tracking switches -----------------------------------------------

    def disable_model_tracking(self, model: Any = EVERY_MODEL) -> None:
        """Stop publishing for ``model`` (default: every model)."""
        self._disabledModelTracking[model] = True

    def enable_model_tracking(self, model: Any = EVERY_MODEL) -> None:
        """Publish again for ``model`` (default: every model)."""
        self._disabledModelTracking[model] = False

    def should_track(self, model: Any) -> bool:
        disabled_all = stream_settings.DISABLE_MODEL_TRACKING or self._disabledModelTracking.get(EVERY_MODEL)
        return not (disabled_all or self._migrating or self._disabledModelTracking.get(model))

    # -- feeds -----------------------------------------------------------

    def get_feed(self, feed: str, user_id: Any) -> Any:
        """Return feed ``feed:user_id``; a model instance stands for its pk."""
        if isinstance(user_id, models.Model):
            user_id = user_id.pk
        return stream_client.feed(feed, user_id)

    def get_user_feed(self, user_id: Any, feed_type: str | None = None) -> Any:
        return self.get_feed(feed_type or self.user_feed, user_id)

    def get_notification_feed(self, user_id: Any) -> Any:
        return self.get_feed(self.notification_feed, user_id)

    def get_news_feeds(self, user_id: Any) -> dict[str, Any]:
        """Return ``{name: feed}`` for each of ``STREAM_NEWS_FEEDS``."""
        return {name: self.get_feed(slug, user_id) for name, slug in self.news_feeds.items()}

    def get_actor_feed(self, instance: Any = None) -> str:
        """Return the feed group an instance's activity is stored in."""
        if instance is not None and instance.activity_author_feed is not None:
            return instance.activity_author_feed
        return self.user_feed

    def follow_user(self, user_id: Any, target_user_id: Any) -> None:
        """Make every news feed of ``user_id`` follow ``target_user_id``'s user feed."""
        target = self.get_user_feed(target_user_id)
        for feed in self.get_news_feeds(user_id).values():
            feed.follow(target.slug, target.user_id)

    def unfollow_user(self, user_id: Any, target_user_id: Any) -> None:
        target = self.get_user_feed(target_user_id)
        for feed in self.get_news_feeds(user_id).values():
            feed.unfollow(target.slug, target.user_id)

    # -- async twins (the feeds of async_stream_client) --------------------

    def get_async_feed(self, feed: str, user_id: Any) -> Any:
        """Return the async twin of ``get_feed(feed, user_id)`` (no I/O)."""
        if isinstance(user_id, models.Model):
            user_id = user_id.pk
        return async_stream_client.feed(feed, user_id)

    def get_async_news_feeds(self, user_id: Any) -> dict[str, Any]:
        """Return ``{name: async feed}`` for each of ``STREAM_NEWS_FEEDS``."""
        return {name: self.get_async_feed(slug, user_id) for name, slug in self.news_feeds.items()}

    async def afollow_user(self, user_id: Any, target_user_id: Any) -> None:
        """``follow_user``, awaited."""
        target = self.get_async_feed(self.user_feed, target_user_id)
        for feed in self.get_async_news_feeds(user_id).values():
            await feed.follow(target.slug, target.user_id)

    async def aunfollow_user(self, user_id: Any, target_user_id: Any) -> None:
        """``unfollow_user``, awaited."""
        target = self.get_async_feed(self.user_feed, target_user_id)
        for feed in self.get_async_news_feeds(user_id).values():
            await feed.unfollow(target.slug, target.user_id)

    def _activity_of(self, instance: Any, operation: str = ADD) -> tuple[Any, dict[str, Any]]:
        """The async actor feed of ``instance`` and its activity (for a
        removal, its foreign id only); may query the database (related
        objects), so async code calls it in a thread."""
        feed = self.get_async_feed(self.get_actor_feed(instance), instance.activity_actor_id)
        if operation == REMOVE:
            return feed, {"foreign_id": instance.activity_foreign_id}
        return feed, instance.create_activity()

    async def aadd_activity_to_feed(self, instance: Any) -> Any:
        """``add_activity_to_feed``, awaited."""
        feed, activity = await sync_to_async(self._activity_of)(instance)
        return await feed.add_activity(activity)

    async def aremove_activity_from_feed(self, instance: Any) -> Any:
        """``remove_activity_from_feed``, awaited."""
        feed, activity = await sync_to_async(self._activity_of)(instance, REMOVE)
        return await feed.remove_activity(foreign_id=activity["foreign_id"])

    async def aupdate_activity_in_feed(self, instance: Any) -> Any:
        """``update_activity_in_feed``, awaited (in Django's sync thread: an
        update may read the published time and move the activity, in one
        transaction on the database)."""
        return await sync_to_async(self.update_activity_in_feed)(instance)

    async def async_activity(self, instance: Any) -> Any:
        """``sync_activity``, awaited (in Django's sync thread, like
        ``aupdate_activity_in_feed``)."""
        return await sync_to_async(self.sync_activity)(instance)

    # -- publishing ------------------------------------------------------

    def _actor_feed_of(self, instance: Any) -> Any:
        return self.get_feed(self.get_actor_feed(instance), instance.activity_actor_id)

    def add_activity_to_feed(self, instance: Any) -> Any:
        """Publish ``instance``'s activity now; return the backend's response."""
        return self._actor_feed_of(instance).add_activity(instance.create_activity())

    def remove_activity_from_feed(self, instance: Any) -> Any:
        """Remove ``instance``'s activity (by foreign id) from every feed it reached."""
        return self._actor_feed_of(instance).remove_activity(foreign_id=instance.activity_foreign_id)

    def update_activity_in_feed(self, instance: Any) -> Any:
        """Update the stored activity of ``instance`` in place, if it changed;
        move it in time if its ``activity_time`` changed."""
        return self._update(self._actor_feed_of(instance), instance.create_activity())

    def sync_activity(self, instance: Any) -> Any:
        """Bring the feeds to ``instance``'s current activity: publish it if no
        feed holds it, update it if it changed, move it if its time changed.

        Idempotent; ``stream_replay`` settles a recorded failure with it.
        """
        return self._update(self._actor_feed_of(instance), instance.create_activity(), publish_missing=True)

    def _update(
        self,
        feed: Any,
        activity: dict[str, Any],
        new: PreparedActivity | None = None,
        *,
        publish_missing: bool = False,
    ) -> Any:
        """Bring the activity ``(foreign_id, time)`` stored in ``feed`` to ``activity``.

        Another time for the same foreign id in ``feed`` means the time
        changed: the old activity is removed everywhere it reached and the new
        one added (``_move``). An activity ``feed`` does not hold at all is
        published only with ``publish_missing``.
        """
        new = prepare_activity(activity) if new is None else new
        if isinstance(feed.client, Client):  # a local engine: one read when nothing changed
            held = feed.backend.get_activities([new.key]).get(new.key)
            if held is not None and not publish_missing and serializer.loads(held) == serializer.loads(new.json):
                return None
            stale: list[str] = []
            if held is None or publish_missing:  # another time of the same foreign id?
                found_keys = feed.backend.keys_for_foreign_id(feed.id, new.foreign_id, FeedLayout.current())
                stale = [key for key in found_keys if key != new.key]
            if held is not None and not stale:
                return feed.client.update_prepared(new)
            if held is None and not stale and not publish_missing:
                return None
            return self._move(feed, new, bool(stale))
        found = feed.client.get_activities(foreign_id_times=[(new.foreign_id, new.time)])["results"]
        if not found:
            # The hosted service finds an activity by foreign id and time only:
            # a time change (seen before the save, ``activity_presave``) or a
            # replay removes the foreign id and adds the current version.
            return self._move(feed, new, True, activity) if publish_missing else None
        stored = {k: v for k, v in found[0].items() if k not in ("id", "origin", "duration")}
        if stored == serializer.loads(new.json):
            return None
        if list(stored.get("to", [])) != list(new.to):
            feed.update_activity_to_targets(new.foreign_id, new.time, new_targets=list(new.to))
        return feed.client.update_activities([activity])

    def _move(self, feed: Any, new: PreparedActivity, remove: bool, activity: dict[str, Any] | None = None) -> Any:
        """Remove every activity of ``new.foreign_id`` from ``feed`` (and from
        everywhere it reached), then add ``new``.

        On the database backend both happen in one transaction, so a reader
        sees the activity at its old time or at its new one, never neither
        nor both.
        """
        using = getattr(feed.backend, "using", None) if isinstance(feed.client, Client) else None
        with transaction.atomic(using=using) if using is not None else contextlib.nullcontext():
            if remove:
                feed.remove_activity(foreign_id=new.foreign_id)
            if isinstance(feed, Feed):
                return feed.add_prepared(new)
            return feed.add_activity(activity)

    def _schedule(self, operation: str, sender: type[models.Model], instance: Any) -> Any:
        feed = self._actor_feed_of(instance)
        if operation == REMOVE:
            payload: dict[str, Any] = {"foreign_id": instance.activity_foreign_id}
        else:
            payload = instance.create_activity()
            if not payload.get("foreign_id"):
                raise InputException(
                    f"{model_content_type(sender)}.activity_foreign_id is empty; tracked "
                    "activities need a foreign id to be updated and removed"
                )
        prepared = None if operation == REMOVE else prepare_activity(payload)  # invalid data raises here
        published_time = instance.__dict__.pop("_stream_published_time", None)
        moved = prepared is not None and published_time is not None and parse_time(published_time) != prepared.time
        if operation == UPDATE and moved:
            operation = MOVE
        if prepared is not None and isinstance(feed, Feed):  # a local engine: unknown feed groups raise here too
            feed.check_groups(prepared)
        # A delete is never refused: removing from a group no longer
        # configured fails after the commit and is recorded for replay.
        run = functools.partial(self._run, operation, feed, payload, model_content_type(sender), instance.pk, prepared)
        if stream_settings.PUBLISH_ON_COMMIT:
            # Robust: a publish that fails (and is recorded) never keeps the
            # other on-commit callbacks of the transaction from running.
            transaction.on_commit(
                functools.partial(run, after_commit=True),
                using=router.db_for_write(sender, instance=instance),
                robust=stream_settings.ON_FAILURE != "raise",
            )
            return None
        return run()

    def _run(
        self,
        operation: str,
        feed: Any,
        payload: dict[str, Any],
        model: str,
        pk: Any,
        prepared: PreparedActivity | None = None,
        *,
        after_commit: bool = False,
    ) -> Any:
        """Perform one tracking operation, recording its failure.

        Inside the transaction (``STREAM_PUBLISH_ON_COMMIT = False``) bad
        input raises to the code that saved. After the commit nothing can
        raise to it any more, so every failure is recorded (unless
        ``STREAM_ON_FAILURE = "raise"``).
        """
        try:
            return self.perform(operation, feed, payload, prepared)
        except Exception as e:
            if stream_settings.ON_FAILURE == "raise":
                raise
            if isinstance(e, (InputException, FeedConfigException)) and not after_commit:
                raise
            self._record_failure(operation, feed, payload, model, pk, e)
            return None

    def perform(
        self, operation: str, feed: Any, payload: dict[str, Any], prepared: PreparedActivity | None = None
    ) -> Any:
        """Carry out one tracking operation on ``feed`` (also used by replay).

        ``prepared`` is ``payload`` already validated, if it was.
        """
        if operation == ADD:
            if prepared is not None and isinstance(feed, Feed):
                return feed.add_prepared(prepared)
            return feed.add_activity(payload)
        if operation == UPDATE:
            return self._update(feed, payload, prepared)
        if operation == MOVE:
            return self._update(feed, payload, prepared, publish_missing=True)
        if operation == REMOVE:
            return feed.remove_activity(foreign_id=payload["foreign_id"])
        raise ValueError(f"unknown tracking operation {operation!r}")

    def _record_failure(
        self, operation: str, feed: Any, payload: dict[str, Any], model: str, pk: Any, error: Exception
    ) -> None:
        from stream_django.models import FailedOperation

        logger.exception(
            "stream_django: could not %s the activity of %s:%s in feed %s; recorded for 'manage.py stream_replay'",
            operation,
            model,
            pk,
            feed.id,
        )
        FailedOperation.objects.create(
            operation=operation,
            model=model,
            object_pk=str(pk),
            feed=feed.id,
            payload=serializer.dumps(payload),
            error=f"{type(error).__name__}: {error}",
        )

    # -- signal receivers ------------------------------------------------

    def activity_created(self, sender: Any, instance: Any, created: bool, raw: bool = False, **kwargs: Any) -> Any:
        """``post_save`` receiver: publish new instances, update edited ones."""
        if raw or not self.should_track(sender):
            return None
        if created:
            return self._schedule(ADD, sender, instance)
        if stream_settings.TRACK_UPDATES and getattr(instance, "activity_track_updates", True):
            return self._schedule(UPDATE, sender, instance)
        return None

    def activity_presave(self, sender: Any, instance: Any, raw: bool = False, **kwargs: Any) -> None:
        """``pre_save`` receiver, on a remote backend only: remember the time
        of the activity published for the saved row, so that an edit of the
        field behind ``activity_time`` moves the activity (the hosted service
        finds an activity by foreign id and time only; a local store finds it
        by foreign id). One query per edit of a tracked instance."""
        if raw or instance._state.adding or instance.pk is None or not self.should_track(sender):
            return
        if not (stream_settings.TRACK_UPDATES and getattr(instance, "activity_track_updates", True)):
            return
        if not get_backend().is_remote:
            return
        using = kwargs.get("using") or router.db_for_write(sender, instance=instance)
        before = sender._base_manager.using(using).filter(pk=instance.pk).first()
        if before is not None:
            instance._stream_published_time = before.activity_time

    def activity_delete(self, sender: Any, instance: Any, **kwargs: Any) -> Any:
        """``post_delete`` receiver: remove the instance's activity everywhere."""
        if not self.should_track(sender):
            return None
        return self._schedule(REMOVE, sender, instance)

    def bind_model(self, sender: Any, **kwargs: Any) -> None:
        """Connect the tracking receivers to ``sender`` if it is an Activity model."""
        if not (isinstance(sender, type) and issubclass(sender, Activity) and issubclass(sender, models.Model)):
            return
        if sender._meta.abstract or sender._meta.proxy:
            return
        uid = f"stream_django:{model_content_type(sender)}"
        pre_save.connect(self.activity_presave, sender=sender, weak=False, dispatch_uid=uid)
        post_save.connect(self.activity_created, sender=sender, weak=False, dispatch_uid=uid)
        post_delete.connect(self.activity_delete, sender=sender, weak=False, dispatch_uid=uid)
