"""
``Feed``: one feed of stream-python's API over a local backend.

Method names, arguments and return shapes are stream-python's (and so the
hosted service's), so code written for stream-django runs unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from stream_django.backends.base import BaseStorageBackend, Group, Page
from stream_django.engine import ids, serializer
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
from stream_django.engine.plan import FeedLayout
from stream_django.exceptions import DoesNotExistException, FeedConfigException, InputException
from stream_django.feeds.follows import follow
from stream_django.feeds.params import (
    DEFAULT_LIMIT,
    FALSE_VALUES,
    MAX_BATCH,
    MAX_FOLLOW_LIMIT,
    MAX_LIMIT,
    MAX_MARK_IDS,
    MAX_OFFSET,
    TRUE_VALUES,
    check_batch,
    decode_group_name,
    is_false,
    parse_bool,
    parse_int,
    timed,
)
from stream_django.feeds.steps import Fanout, Steps, Store, run

if TYPE_CHECKING:
    from stream_django.feeds.protocol import StreamClient


class Feed:
    """One feed, ``client.feed(slug, user_id)``; stream-python's ``Feed`` API."""

    def __init__(self, client: StreamClient, backend: BaseStorageBackend, feed_slug: Any, user_id: Any) -> None:
        self.client = client
        self.backend = backend
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
    def group(self) -> FeedGroup:
        return get_group(self.slug)

    # -- writes ----------------------------------------------------------

    def add_activity(self, activity_data: dict[str, Any]) -> dict[str, Any]:
        """Add one activity; return it as stored, with ``id``."""
        return self.add_prepared(prepare_activity(activity_data))

    def add_prepared(self, activity: PreparedActivity) -> dict[str, Any]:
        """Add an activity already validated by ``prepare_activity`` (model
        tracking validates at save time and publishes after commit)."""
        return run(self.backend, self._add_prepared(activity))

    def _add_prepared(self, activity: PreparedActivity) -> Steps[dict[str, Any]]:
        with timed() as t:
            result = (yield from self._add([activity]))[0]
        result["duration"] = t.duration
        return result

    def add_activities(self, activity_list: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
        """Add several activities, all or nothing; ``None`` for an empty list."""
        return run(self.backend, self._add_activities(activity_list))

    def _add_activities(self, activity_list: Sequence[dict[str, Any]]) -> Steps[dict[str, Any] | None]:
        if not activity_list:
            return None
        if len(activity_list) > MAX_BATCH:
            raise InputException(f"add_activities takes at most {MAX_BATCH} activities, got {len(activity_list)}")
        with timed() as t:
            results = yield from self._add(prepare_many(activity_list))
        return {"activities": results, "duration": t.duration}

    def check_groups(self, activity: PreparedActivity | None = None) -> None:
        """Raise ``FeedConfigException`` unless this feed's group and the group
        of each of ``activity``'s ``to`` targets are configured.

        Model tracking calls it when the activity is built, inside the
        caller's transaction, so that a typo in ``activity_notify`` fails the
        save rather than the publish after commit.
        """
        get_group(self.slug)
        for target in activity.to if activity is not None else ():
            get_group(slug_of(target))

    def _add(self, prepared: list[PreparedActivity]) -> Steps[list[dict[str, Any]]]:
        for activity in prepared:
            self.check_groups(activity)
        if not prepared:
            get_group(self.slug)
        yield Fanout("add_activities", (self.id, prepared))
        return [decode(a.json, a.id) for a in prepared]

    def remove_activity(self, activity_id: str | None = None, foreign_id: str | None = None) -> dict[str, Any]:
        """Remove by ``activity_id`` or ``foreign_id`` (here and everywhere it fanned out)."""
        return run(self.backend, self._remove_activity(activity_id, foreign_id))

    def _remove_activity(self, activity_id: str | None, foreign_id: str | None) -> Steps[dict[str, Any]]:
        if activity_id is None and foreign_id is None:
            raise InputException("remove_activity needs activity_id or foreign_id")
        get_group(self.slug)  # an unknown feed group raises here
        with timed() as t:
            if activity_id is not None:
                keys = [ids.id_to_key(activity_id, param="activity_id")]
            else:
                keys = yield Store("keys_for_foreign_id", (self.id, str(foreign_id), FeedLayout.current()))
            if keys:
                yield Fanout("remove_activities", (self.id, keys))
        return {"removed": activity_id if activity_id is not None else foreign_id, "duration": t.duration}

    def follow(
        self, target_feed_slug: Any, target_user_id: Any, activity_copy_limit: int | None = None, **extra_data: Any
    ) -> dict[str, Any]:
        """Follow the flat feed ``target_feed_slug:target_user_id``."""
        return run(self.backend, self._follow(target_feed_slug, target_user_id, activity_copy_limit))

    def _follow(self, target_feed_slug: Any, target_user_id: Any, activity_copy_limit: Any) -> Steps[dict[str, Any]]:
        with timed() as t:
            yield from follow([(self.id, feed_id(target_feed_slug, target_user_id))], activity_copy_limit)
        return {"duration": t.duration}

    def unfollow(self, target_feed_slug: Any, target_user_id: Any, keep_history: bool = False) -> dict[str, Any]:
        """Stop following; purge its activities here unless ``keep_history``."""
        return run(self.backend, self._unfollow(target_feed_slug, target_user_id, keep_history))

    def _unfollow(self, target_feed_slug: Any, target_user_id: Any, keep_history: Any) -> Steps[dict[str, Any]]:
        target = feed_id(target_feed_slug, target_user_id)
        with timed() as t:
            get_group(self.slug)  # an unknown feed group raises here
            yield Fanout("unfollow_many", ([(self.id, target, parse_bool(keep_history, "keep_history"))],))
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
        return run(
            self.backend,
            self._update_activity_to_targets(foreign_id, time, new_targets, added_targets, removed_targets),
        )

    def _update_activity_to_targets(
        self,
        foreign_id: str,
        time: Any,
        new_targets: Sequence[str] | None,
        added_targets: Sequence[str] | None,
        removed_targets: Sequence[str] | None,
    ) -> Steps[dict[str, Any]]:
        if new_targets is not None and (added_targets or removed_targets):
            raise InputException("use new_targets, or added_targets/removed_targets, not both")
        added_set = set(parse_targets(added_targets))
        removed_set = set(parse_targets(removed_targets))
        if added_set & removed_set:
            raise InputException(f"targets {sorted(added_set & removed_set)} are both added and removed")
        with timed() as t:
            key = ids.id_to_key(ids.activity_id(str(foreign_id), parse_time(time)))
            stored = (yield Store("get_activities", ([key],))).get(key)
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
            yield Fanout("change_targets", (prepared, added, removed))
        activity = decode(prepared.json, prepared.id)
        activity.pop("origin")
        return {"activity": activity, "added": added, "removed": removed, "duration": t.duration}

    # -- reads -----------------------------------------------------------

    def get(self, enrich: bool = False, reactions: dict[str, Any] | None = None, **params: Any) -> dict[str, Any]:
        """Read a page: ``limit``, ``offset``, ``id_lt``/``id_lte``/``id_gt``/``id_gte``;
        on notification feeds also ``mark_seen`` / ``mark_read``."""
        return run(self.backend, self._get(reactions, params))

    def _get(self, reactions: dict[str, Any] | None, params: dict[str, Any]) -> Steps[dict[str, Any]]:
        group = self.group
        if reactions is not None and not isinstance(reactions, dict):
            raise TypeError("reactions must be a dict")
        if params.get("ranking"):
            raise FeedConfigException(f"ranking {params['ranking']!r} is not available: local feeds are chronological")
        if not group.is_notification:
            for name in ("mark_seen", "mark_read"):
                if not is_false(params.get(name, False)):
                    raise FeedConfigException(
                        f"{name} only applies to notification feeds; {self.slug!r} is {group.type}"
                    )
        with timed() as t:
            page = self._page(params, aggregated=group.is_aggregated)
            if group.is_aggregated:
                response = yield from self._get_groups(group, page, params)
            else:
                entries = yield Store("read_feed", (self.id, page))
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
            offset=parse_int(params.get("offset", 0), "offset", maximum=MAX_OFFSET),
            **cursors,
        )

    def _get_groups(self, group: FeedGroup, page: Page, params: dict[str, Any]) -> Steps[dict[str, Any]]:
        marks: dict[str, bool | list[str]] = {}
        for name in ("mark_seen", "mark_read"):
            value = params.get(name, False)
            if not group.is_notification:  # get() refused a mark already
                marks[name] = False
                continue
            if isinstance(value, str) and value not in TRUE_VALUES and value not in FALSE_VALUES:
                value = value.split(",")
            if isinstance(value, (list, tuple, set)):
                value = check_batch(list(dict.fromkeys(value)), name, MAX_MARK_IDS)
                marks[name] = [decode_group_name(v, name) for v in value]
            else:
                marks[name] = parse_bool(value, name)
        stored = yield Store("read_groups", (self.id, group, page, marks["mark_seen"], marks["mark_read"]))
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
        return run(self.backend, self._follows("followers", offset, limit, feeds))

    def following(self, offset: int = 0, limit: int = 25, feeds: Sequence[str] | None = None) -> dict[str, Any]:
        """Feeds this one follows, newest first; ``feeds`` filters by target ("do I follow X?")."""
        return run(self.backend, self._follows("following", offset, limit, feeds))

    def _follows(self, read: str, offset: Any, limit: Any, feeds: Any) -> Steps[dict[str, Any]]:
        offset = parse_int(offset, "offset", maximum=MAX_OFFSET)
        limit = parse_int(limit, "limit", maximum=MAX_FOLLOW_LIMIT)
        if isinstance(feeds, str):
            feeds = [f for f in feeds.split(",") if f]
        among = [parse_feed_id(f, what="feeds filter") for f in feeds] if feeds else None
        with timed() as t:
            rows = yield Store(read, (self.id, offset, limit, among))
        return {
            "results": [
                {"feed_id": r.source, "target_id": r.target, "created_at": r.created_at, "updated_at": r.updated_at}
                for r in rows
            ],
            "duration": t.duration,
        }
