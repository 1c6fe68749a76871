"""
``Client``: stream-python's client API over a local backend.

Method names, arguments and return shapes are stream-python's (and so the
hosted service's), so code written for stream-django runs unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from stream_django.backends.base import BaseStorageBackend
from stream_django.engine import serializer
from stream_django.engine.activities import PreparedActivity, decode, parse_time, prepare_activity
from stream_django.engine.feeds import get_group, parse_feed_id, slug_of, validate_slug
from stream_django.engine.ids import activity_id, id_to_key, key_to_id
from stream_django.exceptions import DoesNotExistException, InputException
from stream_django.feeds.changes import apply_changes, required_field
from stream_django.feeds.feed import Feed
from stream_django.feeds.follows import follow
from stream_django.feeds.params import (
    MAX_ADD_TO_MANY,
    MAX_BATCH,
    MAX_FOLLOW_BATCH,
    check_batch,
    parse_bool,
    timed,
)
from stream_django.feeds.steps import Fanout, Steps, Store, run


def partial_change(
    id: str | None, foreign_id: str | None, time: Any, set: dict[str, Any] | None, unset: Sequence[str] | None
) -> dict[str, Any]:
    """The change ``activity_partial_update`` makes, as ``activities_partial_update`` takes it."""
    if id is not None:
        change: dict[str, Any] = {"id": id}
    elif foreign_id is not None and time is not None:
        change = {"foreign_id": foreign_id, "time": time}
    else:
        raise TypeError("The id or foreign_id+time parameters must be provided")
    change["set"] = set or {}
    change["unset"] = list(unset or [])
    return change


class Client:
    """stream-python's client API over a local backend (``stream_client``)."""

    api_key = None
    api_secret = None

    def __init__(self, backend: BaseStorageBackend) -> None:
        self.backend = backend

    @property
    def app_id(self) -> Any:
        from stream_django.conf import stream_settings

        return stream_settings.APP_ID

    def __repr__(self) -> str:
        return f"<stream_django Client backend={self.backend.address}>"

    def feed(self, feed_slug: Any, user_id: Any) -> Feed:
        """Return the feed ``feed_slug:user_id``."""
        return Feed(self, self.backend, feed_slug, user_id)

    def follow_many(self, follows: Sequence[dict[str, Any]], activity_copy_limit: int | None = None) -> dict[str, Any]:
        """Create many follows ``[{"source": "slug:id", "target": "slug:id"}]``."""
        return run(self.backend, self._follow_many(follows, activity_copy_limit))

    def _follow_many(self, follows: Sequence[dict[str, Any]], activity_copy_limit: Any) -> Steps[dict[str, Any]]:
        with timed() as t:
            pairs = [
                (
                    parse_feed_id(required_field(f, "source", i), what=f"follows[{i}].source"),
                    parse_feed_id(required_field(f, "target", i), what=f"follows[{i}].target"),
                )
                for i, f in enumerate(check_batch(follows, "follows", MAX_FOLLOW_BATCH))
            ]
            if pairs:
                yield from follow(pairs, activity_copy_limit)
        return {"duration": t.duration}

    def unfollow_many(self, unfollows: Sequence[dict[str, Any]]) -> dict[str, Any]:
        """Remove many follows ``[{"source", "target", "keep_history"}]``."""
        return run(self.backend, self._unfollow_many(unfollows))

    def _unfollow_many(self, unfollows: Sequence[dict[str, Any]]) -> Steps[dict[str, Any]]:
        with timed() as t:
            items = []
            for i, f in enumerate(check_batch(unfollows, "unfollows", MAX_FOLLOW_BATCH)):
                source = parse_feed_id(required_field(f, "source", i), what=f"unfollows[{i}].source")
                target = parse_feed_id(required_field(f, "target", i), what=f"unfollows[{i}].target")
                get_group(slug_of(source))
                items.append((source, target, parse_bool(f.get("keep_history", False), f"unfollows[{i}].keep_history")))
            if items:
                yield Fanout("unfollow_many", (items,))
        return {"duration": t.duration}

    def add_to_many(self, activity: dict[str, Any], feeds: Sequence[str]) -> dict[str, Any]:
        """Add one activity to many feeds directly, without fan-out."""
        return run(self.backend, self._add_to_many(activity, feeds))

    def _add_to_many(self, activity: dict[str, Any], feeds: Sequence[str]) -> Steps[dict[str, Any]]:
        if isinstance(activity, dict) and activity.get("to"):
            raise InputException("add_to_many does not accept activities with 'to'")
        targets = [parse_feed_id(f, what="feeds item") for f in check_batch(feeds, "feeds", MAX_ADD_TO_MANY)]
        for target in targets:
            get_group(slug_of(target))
        with timed() as t:
            prepared = prepare_activity(activity)
            if targets:
                yield Fanout("add_to_many", (prepared, list(dict.fromkeys(targets))))
        return {"duration": t.duration}

    def get_activities(
        self,
        ids: Sequence[str] | None = None,
        foreign_id_times: Sequence[Any] | None = None,
        enrich: bool = False,
        reactions: dict[str, Any] | None = None,
        **params: Any,
    ) -> dict[str, Any]:
        """Return activities by ``ids`` or by ``(foreign_id, time)`` pairs; unknown ones are omitted."""
        return run(self.backend, self._get_activities(ids, foreign_id_times))

    def _get_activities(
        self, ids: Sequence[str] | None, foreign_id_times: Sequence[Any] | None
    ) -> Steps[dict[str, Any]]:
        if (ids is None) == (foreign_id_times is None):
            raise TypeError("One of ids or foreign_id_times must be provided")
        with timed() as t:
            keys = self._keys(ids, foreign_id_times)
            stored = yield Store("get_activities", (keys,))
            results = []
            for key in keys:
                if key in stored:
                    activity = decode(stored[key], key_to_id(key))
                    activity.pop("origin")
                    results.append(activity)
        return {"results": results, "duration": t.duration}

    def _keys(self, activity_ids: Any, foreign_id_times: Any) -> list[str]:
        if activity_ids is not None:
            if isinstance(activity_ids, str):
                activity_ids = activity_ids.split(",")
            activity_ids = check_batch(activity_ids, "ids", MAX_BATCH)
            return list(dict.fromkeys(id_to_key(i, param="ids") for i in activity_ids))
        if not isinstance(foreign_id_times, (list, tuple)):
            raise ValueError("foreign_id_times must be a list of (foreign_id, time) pairs")
        check_batch(foreign_id_times, "foreign_id_times", MAX_BATCH)
        keys = []
        for pair in foreign_id_times:
            if not isinstance(pair, (list, tuple)) or len(pair) != 2:
                raise ValueError("foreign_id_times must be a list of (foreign_id, time) pairs")
            keys.append(id_to_key(activity_id(str(pair[0]), parse_time(pair[1]))))
        return list(dict.fromkeys(keys))

    def update_activities(self, activities: Sequence[dict[str, Any]]) -> dict[str, Any]:
        """Replace stored activities, identified by ``foreign_id`` and ``time``."""
        return run(self.backend, self._update_activities(activities))

    def _update_activities(self, activities: Sequence[dict[str, Any]]) -> Steps[dict[str, Any]]:
        if not isinstance(activities, (list, tuple, set)):
            raise TypeError("Activities parameter should be of type list")
        activities = list(activities)
        if len(activities) > MAX_BATCH:
            raise InputException(f"update_activities takes at most {MAX_BATCH} activities")
        with timed() as t:
            prepared = []
            for i, data in enumerate(activities):
                if not isinstance(data, dict) or not data.get("foreign_id") or not data.get("time"):
                    raise InputException(f"activities[{i}]: update_activities needs foreign_id and time")
                data = {k: v for k, v in data.items() if k not in ("id", "origin")}
                prepared.append(prepare_activity(data))
            yield from self._replace(prepared)
        return {"duration": t.duration}

    def update_activity(self, activity: dict[str, Any]) -> dict[str, Any]:
        return self.update_activities([activity])

    def _replace(self, prepared: list[PreparedActivity]) -> Steps[None]:
        stored = yield Store("get_activities", ([p.key for p in prepared],))
        for p in prepared:
            if p.key not in stored:
                raise DoesNotExistException(
                    f"no activity with foreign_id {p.foreign_id!r} and time {p.time.isoformat()}"
                )
            old_to = serializer.loads(stored[p.key]).get("to", [])
            if list(p.to) != list(old_to):
                raise InputException(
                    f"activity {p.foreign_id!r}: 'to' cannot be changed by an update; "
                    "use feed.update_activity_to_targets()"
                )
        yield Store("replace_activities", (prepared,))

    def update_prepared(self, prepared: PreparedActivity) -> dict[str, Any] | None:
        """Bring a stored activity to ``prepared`` (model tracking's update).

        One read; no write when nothing changed (``None``), else one: the
        data replaced, or, when ``to`` changed, the data replaced and the
        activity moved between the old and new targets. ``None`` too when
        the activity is not stored.
        """
        return run(self.backend, self._update_prepared(prepared))

    def _update_prepared(self, prepared: PreparedActivity) -> Steps[dict[str, Any] | None]:
        with timed() as t:
            stored = (yield Store("get_activities", ([prepared.key],))).get(prepared.key)
            if stored is None:
                return None
            old = serializer.loads(stored)
            if old == serializer.loads(prepared.json):
                return None
            old_to = list(old.get("to", []))
            if old_to != list(prepared.to):
                for target in prepared.to:
                    get_group(slug_of(target))
                added = [x for x in prepared.to if x not in old_to]
                removed = [x for x in old_to if x not in prepared.to]
                yield Fanout("change_targets", (prepared, added, removed))
            else:
                yield Store("replace_activities", ([prepared],))
        return {"duration": t.duration}

    def activity_partial_update(
        self,
        id: str | None = None,
        foreign_id: str | None = None,
        time: Any = None,
        set: dict[str, Any] | None = None,
        unset: Sequence[str] | None = None,
    ) -> dict[str, Any]:
        """Set and unset fields (dotted paths) of one activity."""
        return self.activities_partial_update([partial_change(id, foreign_id, time, set, unset)])

    def activities_partial_update(self, updates: Sequence[dict[str, Any]] | None = None) -> dict[str, Any]:
        """Apply several partial updates ``{"id"|("foreign_id","time"), "set", "unset"}``."""
        return run(self.backend, self._activities_partial_update(updates))

    def _activities_partial_update(self, updates: Sequence[dict[str, Any]] | None) -> Steps[dict[str, Any]]:
        updates = list(updates or [])
        if len(updates) > MAX_BATCH:
            raise InputException(f"activities_partial_update takes at most {MAX_BATCH} changes")
        with timed() as t:
            keys = []
            for i, change in enumerate(updates):
                if change.get("id"):
                    keys.append(id_to_key(change["id"], param=f"changes[{i}].id"))
                elif change.get("foreign_id") and change.get("time"):
                    keys.append(id_to_key(activity_id(str(change["foreign_id"]), parse_time(change["time"]))))
                else:
                    raise InputException(f"changes[{i}] needs id, or foreign_id and time")
            stored = yield Store("get_activities", (keys,))
            prepared = []
            for i, (key, change) in enumerate(zip(keys, updates)):
                if key not in stored:
                    raise DoesNotExistException(f"changes[{i}]: activity {key_to_id(key)} does not exist")
                data = serializer.loads(stored[key])
                apply_changes(data, change.get("set") or {}, change.get("unset") or [], i)
                p = prepare_activity(data)
                if p.key != key:
                    raise InputException(f"changes[{i}]: id, time and foreign_id cannot be changed")
                prepared.append(p)
            yield Store("replace_activities", (prepared,))
        results = []
        for p in prepared:
            activity = decode(p.json, p.id)
            activity.pop("origin")
            results.append(activity)
        return {"activities": results, "duration": t.duration}

    def follow_stats(
        self, feed_id: str, followers_slugs: Sequence[str] | None = None, following_slugs: Sequence[str] | None = None
    ) -> dict[str, Any]:
        """Count the followers and followings of ``feed_id``."""
        return run(self.backend, self._follow_stats(feed_id, followers_slugs, following_slugs))

    def _follow_stats(
        self, feed_id: str, followers_slugs: Sequence[str] | None, following_slugs: Sequence[str] | None
    ) -> Steps[dict[str, Any]]:
        feed = parse_feed_id(feed_id)
        followers_slugs = [validate_slug(s) for s in followers_slugs] if followers_slugs else None
        following_slugs = [validate_slug(s) for s in following_slugs] if following_slugs else None
        with timed() as t:
            followers, following = yield Store("follow_counts", (feed, followers_slugs, following_slugs))
        return {
            "results": {
                "followers": {"feed": feed, "count": followers},
                "following": {"feed": feed, "count": following},
            },
            "duration": t.duration,
        }
