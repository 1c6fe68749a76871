"""
``Client`` and ``Feed``: stream-python's API over a local backend.

Method names, arguments and return shapes are stream-python's (and so the
hosted service's), so code written for stream-django runs unchanged.
"""

from __future__ import annotations

import time as _time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from stream_django.backends.base import BaseStorageBackend, Group, Page
from stream_django.engine import fanout, ids, serializer
from stream_django.engine.activities import (
    PreparedActivity,
    decode,
    parse_targets,
    parse_time,
    prepare_activity,
    prepare_many,
)
from stream_django.engine.feeds import (
    FeedGroup,
    feed_id,
    get_group,
    parse_feed_id,
    slug_of,
    validate_slug,
    validate_user_id,
)
from stream_django.exceptions import (
    DoesNotExistException,
    FeedConfigException,
    InputException,
)

DEFAULT_LIMIT = 25
MAX_LIMIT = 100
MAX_COPY_LIMIT = 1000
MAX_FOLLOW_LIMIT = 500
MAX_BATCH = 100
TRUE_VALUES = {True, "1", "true", "True"}
FALSE_VALUES = {False, "0", "false", "False", "", None}


class _Timer:
    def __init__(self) -> None:
        self.start = _time.perf_counter()

    @property
    def duration(self) -> str:
        return f"{(_time.perf_counter() - self.start) * 1000:.2f}ms"


@contextmanager
def _timed() -> Iterator[_Timer]:
    yield _Timer()


def parse_int(value: Any, param: str, *, minimum: int = 0, maximum: int | None = None) -> int:
    """Return ``value`` as an int in range or raise ``InputException`` naming ``param``."""
    if isinstance(value, bool):
        raise InputException(f"{param} must be an integer, got {value!r}")
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise InputException(f"{param} must be an integer, got {value!r}") from None
    if number < minimum:
        raise InputException(f"{param} must be >= {minimum}, got {number}")
    if maximum is not None and number > maximum:
        raise InputException(f"{param} must be <= {maximum}, got {number}")
    return number


def parse_bool(value: Any, param: str) -> bool:
    if value in TRUE_VALUES:
        return True
    if value in FALSE_VALUES:
        return False
    raise InputException(f"{param} must be a boolean, got {value!r}")


def _decode_group_name(value: Any, param: str) -> str:
    """Return the group name of a group id (``"<uuid>.<group>"``)."""
    text = str(value)
    uid, sep, name = text.partition(".")
    if not sep or not name:
        raise InputException(f"{param}: {value!r} is not a group id ('<uuid>.<group>')")
    ids.id_to_key(uid, param=param)
    return name


class Feed:
    """One feed, ``client.feed(slug, user_id)``; stream-python's ``Feed`` API."""

    def __init__(self, client: Client, feed_slug: Any, user_id: Any) -> None:
        self.client = client
        self.slug = validate_slug(feed_slug)
        self.user_id = validate_user_id(user_id)
        self.id = f"{self.slug}:{self.user_id}"
        self.token = ""

    def __repr__(self) -> str:
        return f"<Feed {self.id}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Feed) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)

    @property
    def backend(self) -> BaseStorageBackend:
        return self.client.backend

    @property
    def group(self) -> FeedGroup:
        return get_group(self.slug)

    # -- writes ----------------------------------------------------------

    def add_activity(self, activity_data: dict[str, Any]) -> dict[str, Any]:
        """Add one activity; return it as stored, with ``id``."""
        with _timed() as t:
            result = self._add([prepare_activity(activity_data)])[0]
        result["duration"] = t.duration
        return result

    def add_activities(self, activity_list: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
        """Add several activities, all or nothing; ``None`` for an empty list."""
        if not activity_list:
            return None
        if len(activity_list) > MAX_BATCH:
            raise InputException(f"add_activities takes at most {MAX_BATCH} activities, got {len(activity_list)}")
        with _timed() as t:
            results = self._add(prepare_many(activity_list))
        return {"activities": results, "duration": t.duration}

    def _add(self, prepared: list[PreparedActivity]) -> list[dict[str, Any]]:
        get_group(self.slug)  # an unknown feed group raises here
        for activity in prepared:
            for target in activity.to:
                get_group(slug_of(target))
        fanout.add_activities(self.backend, self.id, prepared)
        return [decode(a.json, a.id) for a in prepared]

    def remove_activity(self, activity_id: str | None = None, foreign_id: str | None = None) -> dict[str, Any]:
        """Remove by ``activity_id`` or ``foreign_id`` (here and everywhere it fanned out)."""
        if activity_id is None and foreign_id is None:
            raise InputException("remove_activity needs activity_id or foreign_id")
        get_group(self.slug)  # an unknown feed group raises here
        with _timed() as t:
            if activity_id is not None:
                keys = [ids.id_to_key(activity_id, param="activity_id")]
            else:
                keys = self.backend.keys_for_foreign_id(self.id, str(foreign_id))
            if keys:
                fanout.remove_activities(self.backend, self.id, keys)
        return {"removed": activity_id if activity_id is not None else foreign_id, "duration": t.duration}

    def follow(
        self, target_feed_slug: Any, target_user_id: Any, activity_copy_limit: int | None = None, **extra_data: Any
    ) -> dict[str, Any]:
        """Follow the flat feed ``target_feed_slug:target_user_id``."""
        with _timed() as t:
            self.client._follow([(self.id, feed_id(target_feed_slug, target_user_id))], activity_copy_limit)
        return {"duration": t.duration}

    def unfollow(self, target_feed_slug: Any, target_user_id: Any, keep_history: bool = False) -> dict[str, Any]:
        """Stop following; purge its activities here unless ``keep_history``."""
        target = feed_id(target_feed_slug, target_user_id)
        with _timed() as t:
            get_group(self.slug)  # an unknown feed group raises here
            fanout.unfollow_many(self.backend, [(self.id, target, parse_bool(keep_history, "keep_history"))])
        return {"duration": t.duration}

    def update_activity_to_targets(
        self,
        foreign_id: str,
        time: Any,
        new_targets: Sequence[str] | None = None,
        added_targets: Sequence[str] | None = None,
        removed_targets: Sequence[str] | None = None,
    ) -> dict[str, Any]:
        """Change the ``to`` targets of the activity ``(foreign_id, time)``."""
        if new_targets is not None and (added_targets or removed_targets):
            raise InputException("use new_targets, or added_targets/removed_targets, not both")
        added_set = set(parse_targets(added_targets))
        removed_set = set(parse_targets(removed_targets))
        if added_set & removed_set:
            raise InputException(f"targets {sorted(added_set & removed_set)} are both added and removed")
        with _timed() as t:
            key = ids.id_to_key(ids.activity_id(str(foreign_id), parse_time(time)))
            stored = self.backend.get_activities([key]).get(key)
            if stored is None:
                raise DoesNotExistException(f"no activity with foreign_id {foreign_id!r} and time {time!r}")
            data = serializer.loads(stored)
            current = list(data.get("to", []))
            if new_targets is not None:
                wanted = list(parse_targets(new_targets))
            else:
                wanted = [x for x in current if x not in removed_set]
                wanted += [x for x in added_set if x not in wanted]
            for target in wanted:
                get_group(slug_of(target))
            data["to"] = wanted
            prepared = prepare_activity(data)
            added = [x for x in wanted if x not in current]
            removed = [x for x in current if x not in wanted]
            fanout.change_targets(self.backend, prepared, added, removed)
        activity = decode(prepared.json, prepared.id)
        activity.pop("origin")
        return {"activity": activity, "added": added, "removed": removed, "duration": t.duration}

    # -- reads -----------------------------------------------------------

    def get(self, enrich: bool = False, reactions: dict[str, Any] | None = None, **params: Any) -> dict[str, Any]:
        """Read a page: ``limit``, ``offset``, ``id_lt``/``id_lte``/``id_gt``/``id_gte``;
        on notification feeds also ``mark_seen`` / ``mark_read``."""
        group = self.group
        if reactions is not None and not isinstance(reactions, dict):
            raise TypeError("reactions must be a dict")
        if params.get("ranking"):
            raise FeedConfigException(f"ranking {params['ranking']!r} is not available: local feeds are chronological")
        with _timed() as t:
            page = self._page(params, aggregated=group.is_aggregated)
            if group.is_aggregated:
                response = self._get_groups(group, page, params)
            else:
                entries = self.backend.read_feed(self.id, page)
                response = {"results": [decode(e.json, ids.key_to_id(e.key), e.origin) for e in entries]}
            results = response["results"]
            if page.limit and len(results) == page.limit:
                response["next"] = (
                    f"/api/v1.0/feed/{self.slug}/{self.user_id}/?id_lt={results[-1]['id']}&limit={page.limit}"
                )
            else:
                response["next"] = ""
        response["duration"] = t.duration
        return response

    def _page(self, params: dict[str, Any], *, aggregated: bool) -> Page:
        cursors = {}
        for name in ("id_lt", "id_lte", "id_gt", "id_gte"):
            value = params.get(name)
            if value in (None, ""):
                continue
            if aggregated and "." in str(value):
                value = str(value).split(".", 1)[0]
            cursors[name[3:]] = ids.id_to_key(value, param=name)
        return Page(
            limit=parse_int(params.get("limit", DEFAULT_LIMIT), "limit", maximum=MAX_LIMIT),
            offset=parse_int(params.get("offset", 0), "offset"),
            **cursors,
        )

    def _get_groups(self, group: FeedGroup, page: Page, params: dict[str, Any]) -> dict[str, Any]:
        marks = {}
        for name in ("mark_seen", "mark_read"):
            value = params.get(name, False)
            if not group.is_notification:
                if value not in FALSE_VALUES:
                    raise FeedConfigException(
                        f"{name} only applies to notification feeds; {self.slug!r} is {group.type}"
                    )
                marks[name] = False
                continue
            if isinstance(value, str) and value not in TRUE_VALUES and value not in FALSE_VALUES:
                value = value.split(",")
            if isinstance(value, (list, tuple, set)):
                marks[name] = [_decode_group_name(v, name) for v in value]
            else:
                marks[name] = parse_bool(value, name)
        stored = self.backend.read_groups(self.id, group, page, **marks)
        response: dict[str, Any] = {"results": [self._group_result(group, g) for g in stored.groups]}
        if group.is_notification:
            response["unseen"] = stored.unseen
            response["unread"] = stored.unread
        return response

    def _group_result(self, group: FeedGroup, stored: Group) -> dict[str, Any]:
        activities = [decode(e.json, ids.key_to_id(e.key), e.origin) for e in stored.activities]
        result: dict[str, Any] = {
            "id": f"{ids.key_to_id(stored.latest_key)}.{stored.name}",
            "group": stored.name,
            "verb": activities[0]["verb"] if activities else "",
            "activity_count": stored.activity_count,
            "actor_count": stored.actor_count,
            "created_at": stored.created_at,
            "updated_at": stored.updated_at,
            "activities": activities,
        }
        if group.is_notification:
            result["is_seen"] = stored.is_seen
            result["is_read"] = stored.is_read
        return result

    def followers(self, offset: int = 0, limit: int = 25, feeds: Sequence[str] | None = None) -> dict[str, Any]:
        """Feeds following this one, newest first; ``feeds`` filters by follower."""
        return self._follows(self.backend.followers, offset, limit, feeds)

    def following(self, offset: int = 0, limit: int = 25, feeds: Sequence[str] | None = None) -> dict[str, Any]:
        """Feeds this one follows, newest first; ``feeds`` filters by target ("do I follow X?")."""
        return self._follows(self.backend.following, offset, limit, feeds)

    def _follows(self, read: Any, offset: Any, limit: Any, feeds: Any) -> dict[str, Any]:
        offset = parse_int(offset, "offset")
        limit = parse_int(limit, "limit", maximum=MAX_FOLLOW_LIMIT)
        if isinstance(feeds, str):
            feeds = [f for f in feeds.split(",") if f]
        among = [parse_feed_id(f, what="feeds filter") for f in feeds] if feeds else None
        with _timed() as t:
            rows = read(self.id, offset, limit, among)
        return {
            "results": [
                {"feed_id": r.source, "target_id": r.target, "created_at": r.created_at, "updated_at": r.updated_at}
                for r in rows
            ],
            "duration": t.duration,
        }


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
        return Feed(self, feed_slug, user_id)

    def _follow(self, pairs: list[tuple[str, str]], activity_copy_limit: Any) -> None:
        from stream_django.conf import stream_settings

        copy_limit = stream_settings.ACTIVITY_COPY_LIMIT if activity_copy_limit is None else activity_copy_limit
        copy_limit = parse_int(copy_limit, "activity_copy_limit", maximum=MAX_COPY_LIMIT)
        for source, target in pairs:
            get_group(slug_of(source))
            target_group = get_group(slug_of(target))
            if source == target:
                raise InputException(f"feed {source!r} cannot follow itself")
            if not target_group.is_flat:
                raise FeedConfigException(f"only flat feeds can be followed; {target!r} is {target_group.type}")
        fanout.follow_many(self.backend, list(dict.fromkeys(pairs)), copy_limit)

    def follow_many(self, follows: Sequence[dict[str, Any]], activity_copy_limit: int | None = None) -> dict[str, Any]:
        """Create many follows ``[{"source": "slug:id", "target": "slug:id"}]``."""
        with _timed() as t:
            pairs = [
                (
                    parse_feed_id(_item(f, "source", i), what=f"follows[{i}].source"),
                    parse_feed_id(_item(f, "target", i), what=f"follows[{i}].target"),
                )
                for i, f in enumerate(follows)
            ]
            if pairs:
                self._follow(pairs, activity_copy_limit)
        return {"duration": t.duration}

    def unfollow_many(self, unfollows: Sequence[dict[str, Any]]) -> dict[str, Any]:
        """Remove many follows ``[{"source", "target", "keep_history"}]``."""
        with _timed() as t:
            items = []
            for i, f in enumerate(unfollows):
                source = parse_feed_id(_item(f, "source", i), what=f"unfollows[{i}].source")
                target = parse_feed_id(_item(f, "target", i), what=f"unfollows[{i}].target")
                get_group(slug_of(source))
                items.append((source, target, parse_bool(f.get("keep_history", False), f"unfollows[{i}].keep_history")))
            if items:
                fanout.unfollow_many(self.backend, items)
        return {"duration": t.duration}

    def add_to_many(self, activity: dict[str, Any], feeds: Sequence[str]) -> dict[str, Any]:
        """Add one activity to many feeds directly, without fan-out."""
        if isinstance(activity, dict) and activity.get("to"):
            raise InputException("add_to_many does not accept activities with 'to'")
        targets = [parse_feed_id(f, what="feeds item") for f in feeds]
        for target in targets:
            get_group(slug_of(target))
        with _timed() as t:
            prepared = prepare_activity(activity)
            if targets:
                self.backend.add_to_many(prepared, list(dict.fromkeys(targets)))
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
        if (ids is None) == (foreign_id_times is None):
            raise TypeError("One of ids or foreign_id_times must be provided")
        with _timed() as t:
            keys = self._keys(ids, foreign_id_times)
            stored = self.backend.get_activities(keys)
            results = []
            for key in keys:
                if key in stored:
                    activity = decode(stored[key], _key_to_id(key))
                    activity.pop("origin")
                    results.append(activity)
        return {"results": results, "duration": t.duration}

    def _keys(self, activity_ids: Any, foreign_id_times: Any) -> list[str]:
        if activity_ids is not None:
            if isinstance(activity_ids, str):
                activity_ids = activity_ids.split(",")
            return list(dict.fromkeys(_id_to_key(i, param="ids") for i in activity_ids))
        if not isinstance(foreign_id_times, (list, tuple)):
            raise ValueError("foreign_id_times must be a list of (foreign_id, time) pairs")
        keys = []
        for pair in foreign_id_times:
            if not isinstance(pair, (list, tuple)) or len(pair) != 2:
                raise ValueError("foreign_id_times must be a list of (foreign_id, time) pairs")
            keys.append(_id_to_key(_activity_id(str(pair[0]), parse_time(pair[1]))))
        return list(dict.fromkeys(keys))

    def update_activities(self, activities: Sequence[dict[str, Any]]) -> dict[str, Any]:
        """Replace stored activities, identified by ``foreign_id`` and ``time``."""
        if not isinstance(activities, (list, tuple, set)):
            raise TypeError("Activities parameter should be of type list")
        activities = list(activities)
        if len(activities) > MAX_BATCH:
            raise InputException(f"update_activities takes at most {MAX_BATCH} activities")
        with _timed() as t:
            prepared = []
            for i, data in enumerate(activities):
                if not isinstance(data, dict) or not data.get("foreign_id") or not data.get("time"):
                    raise InputException(f"activities[{i}]: update_activities needs foreign_id and time")
                data = {k: v for k, v in data.items() if k not in ("id", "origin")}
                prepared.append(prepare_activity(data))
            self._replace(prepared)
        return {"duration": t.duration}

    def update_activity(self, activity: dict[str, Any]) -> dict[str, Any]:
        return self.update_activities([activity])

    def _replace(self, prepared: list[PreparedActivity]) -> None:
        stored = self.backend.get_activities([p.key for p in prepared])
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
        self.backend.replace_activities(prepared)

    def activity_partial_update(
        self,
        id: str | None = None,
        foreign_id: str | None = None,
        time: Any = None,
        set: dict[str, Any] | None = None,
        unset: Sequence[str] | None = None,
    ) -> dict[str, Any]:
        """Set and unset fields (dotted paths) of one activity."""
        if id is not None:
            change: dict[str, Any] = {"id": id}
        elif foreign_id is not None and time is not None:
            change = {"foreign_id": foreign_id, "time": time}
        else:
            raise TypeError("The id or foreign_id+time parameters must be provided")
        change["set"] = set or {}
        change["unset"] = list(unset or [])
        return self.activities_partial_update([change])

    def activities_partial_update(self, updates: Sequence[dict[str, Any]] | None = None) -> dict[str, Any]:
        """Apply several partial updates ``{"id"|("foreign_id","time"), "set", "unset"}``."""
        updates = list(updates or [])
        if len(updates) > MAX_BATCH:
            raise InputException(f"activities_partial_update takes at most {MAX_BATCH} changes")
        with _timed() as t:
            keys = []
            for i, change in enumerate(updates):
                if change.get("id"):
                    keys.append(_id_to_key(change["id"], param=f"changes[{i}].id"))
                elif change.get("foreign_id") and change.get("time"):
                    keys.append(_id_to_key(_activity_id(str(change["foreign_id"]), parse_time(change["time"]))))
                else:
                    raise InputException(f"changes[{i}] needs id, or foreign_id and time")
            stored = self.backend.get_activities(keys)
            prepared = []
            for i, (key, change) in enumerate(zip(keys, updates)):
                if key not in stored:
                    raise DoesNotExistException(f"changes[{i}]: activity {_key_to_id(key)} does not exist")
                data = serializer.loads(stored[key])
                _apply_changes(data, change.get("set") or {}, change.get("unset") or [], i)
                p = prepare_activity(data)
                if p.key != key:
                    raise InputException(f"changes[{i}]: id, time and foreign_id cannot be changed")
                prepared.append(p)
            self.backend.replace_activities(prepared)
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
        feed = parse_feed_id(feed_id)
        followers_slugs = [validate_slug(s) for s in followers_slugs] if followers_slugs else None
        following_slugs = [validate_slug(s) for s in following_slugs] if following_slugs else None
        with _timed() as t:
            followers, following = self.backend.follow_counts(feed, followers_slugs, following_slugs)
        return {
            "results": {
                "followers": {"feed": feed, "count": followers},
                "following": {"feed": feed, "count": following},
            },
            "duration": t.duration,
        }


_id_to_key = ids.id_to_key
_key_to_id = ids.key_to_id
_activity_id = ids.activity_id

_IMMUTABLE = {"id", "time", "foreign_id", "to", "origin"}


def _item(item: Any, name: str, index: int) -> Any:
    if not isinstance(item, dict) or name not in item:
        raise InputException(f"item {index} needs {name!r}")
    return item[name]


def _apply_changes(data: dict[str, Any], set_: dict[str, Any], unset: Sequence[str], index: int) -> None:
    if not isinstance(set_, dict):
        raise InputException(f"changes[{index}].set must be a dict")
    for path, value in set_.items():
        _check_path(path, index)
        *parents, leaf = path.split(".")
        node = data
        for part in parents:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        node[leaf] = value
    for path in unset:
        _check_path(path, index)
        *parents, leaf = path.split(".")
        node = data
        for part in parents:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node.pop(leaf, None)


def _check_path(path: Any, index: int) -> None:
    if not isinstance(path, str) or not path or path.split(".")[0] in _IMMUTABLE:
        raise InputException(
            f"changes[{index}]: field {path!r} cannot be set or unset ({', '.join(sorted(_IMMUTABLE))} are fixed)"
        )
